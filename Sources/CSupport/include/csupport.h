// Small C helpers that Swift cannot reach through Glibc's module.
#ifndef CSUPPORT_H
#define CSUPPORT_H

/// The kernel's id of the calling thread (gettid(2)), for SIGEV_THREAD_ID timers.
int csupport_gettid(void);

#endif
