#define _GNU_SOURCE
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <wchar.h>
#include "csupport.h"

int csupport_gettid(void) { return (int)syscall(SYS_gettid); }

int csupport_open_pty(char *name, size_t size) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return -1;
  if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, size) != 0) {
    close(master);
    return -1;
  }
  return master;
}

short csupport_spawn_setsid(void) { return POSIX_SPAWN_SETSID; }

int csupport_spawn_closefrom(void *actions, int low) {
  return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, low);
}

int csupport_wcwidth(unsigned int character) {
  // Widths are the terminal's, not the locale's: under LANG=C wcwidth would call every
  // non-ASCII character unprintable. A C.UTF-8 locale object is used for the lookup alone.
  static locale_t utf8 = (locale_t)0;
  if (utf8 == (locale_t)0) utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  if (utf8 == (locale_t)0) return wcwidth((wchar_t)character);
  locale_t previous = uselocale(utf8);
  int width = wcwidth((wchar_t)character);
  uselocale(previous);
  return width;
}

int csupport_ppoll(void *fds, unsigned long count, int timeout_ms, const void *mask) {
  struct timespec timeout = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
  return ppoll((struct pollfd *)fds, (nfds_t)count, timeout_ms < 0 ? NULL : &timeout, (const sigset_t *)mask);
}

int csupport_can_allocate(size_t size) {
  volatile char *probe = malloc(size ? size : 1);
  if (probe == NULL) return 0;
  probe[0] = 0;
  free((void *)probe);
  return 1;
}
