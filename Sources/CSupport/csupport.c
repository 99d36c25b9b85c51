#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
#include "csupport.h"

int csupport_gettid(void) { return (int)syscall(SYS_gettid); }
