// Small C helpers that Swift cannot reach through Glibc's module.
#ifndef CSUPPORT_H
#define CSUPPORT_H
#include <stddef.h>

/// The kernel's id of the calling thread (gettid(2)), for SIGEV_THREAD_ID timers.
int csupport_gettid(void);

/// Opens a pseudo-terminal (posix_openpt, grantpt, unlockpt); returns the master descriptor and
/// writes the terminal's path into `name`, or returns -1 with errno set. For the tests.
int csupport_open_pty(char *name, size_t size);

/// Adds "close every descriptor from `low` up" to spawn file actions (glibc's
/// posix_spawn_file_actions_addclosefrom_np), so that a child inherits none of ours.
/* Adds a change of folder to posix_spawn file actions (glibc's _np call). */
int csupport_spawn_chdir(void *actions, const char *path);

int csupport_spawn_closefrom(void *actions, int low);

/// POSIX_SPAWN_SETSID (a GNU extension, hidden from Swift).
short csupport_spawn_setsid(void);

/// ppoll(2), which Glibc's module hides: poll that installs `mask` (a sigset_t) for the wait
/// alone, so that a signal blocked until then interrupts it and cannot slip in before it.
/// `fds` is an array of struct pollfd.
int csupport_ppoll(void *fds, unsigned long count, int timeout_ms, const void *mask);

/// Whether `size` bytes can be allocated now (malloc'd, touched, freed: an optimiser cannot
/// remove the probe, as it may a malloc and free with nothing between them in Swift).
int csupport_can_allocate(size_t size);

/// The terminal cells a character takes (glibc's wcwidth in the C.UTF-8 locale, whatever the
/// process's locale): 2 for wide CJK and most emoji, 0 for combining marks, -1 for controls.
int csupport_wcwidth(unsigned int character);

/// The queues ss shows for a Unix socket, from sock_diag (UNIX_DIAG_RQLEN) by the socket's inode:
/// for a listener the connections waiting and the backlog; otherwise unread bytes (stream) or the
/// next datagram's size, and the send buffer memory in use. Returns 0, or -1 with errno set.
int csupport_unix_queues(unsigned int inode, unsigned int *receive, unsigned int *send);

/* One TCP or UDP socket as sock_diag reports it (struct inet_diag_msg's figures). */
struct csupport_inet_row {
  unsigned char state;
  unsigned char timer;
  unsigned int expires_ms;
  unsigned int rqueue;
  unsigned int wqueue;
  unsigned int inode;
};

/* Asks sock_diag for the one socket with this address pair (an exact lookup: a hash lookup in
   the kernel, where reading /proc/net/tcp walks every bucket of the table). `remote` is the
   peer, or an address with port 0 for a listener or an unconnected UDP socket. 0 and *row
   filled when found; -1 with errno (ENOENT: no such socket) otherwise. */
int csupport_inet_lookup(int protocol, const void *local, const void *remote, struct csupport_inet_row *row);

/* Every TCP or UDP socket of one family in this network namespace, as `ss` reads them: a
   sock_diag dump (inet_diag), with TCP_INFO for TCP sockets the kernel gives it for. */
struct csupport_inet_socket {
  unsigned char family;
  unsigned char state;
  unsigned char timer;
  unsigned char retransmits;
  unsigned char shutdown; /* bit 0: no more receives, bit 1: no more sends (INET_DIAG_SHUTDOWN) */
  unsigned char has_info;
  unsigned short local_port;
  unsigned short remote_port;
  unsigned char local[16];
  unsigned char remote[16];
  unsigned int expires_ms;
  unsigned int rqueue;
  unsigned int wqueue;
  unsigned int uid;
  unsigned int inode;
  unsigned int info_length;
  unsigned char info[288];
};

/* Fills up to `capacity` rows; returns how many sockets there are (more than `capacity`: call
   again with room for them), or -1 with errno. */
int csupport_inet_dump(int family, int protocol, int with_info, struct csupport_inet_socket *rows, int capacity);

/* Every Unix socket of this network namespace (unix_diag): its type, state, inode, its peer's
   inode, its queues (for a listener: connections waiting, and the backlog) and its path. */
struct csupport_unix_socket {
  unsigned char type;
  unsigned char state;
  unsigned short name_length;
  unsigned int inode;
  unsigned int peer;
  unsigned int rqueue;
  unsigned int wqueue;
  char name[108];
};

int csupport_unix_dump(struct csupport_unix_socket *rows, int capacity);

/// The inode of a connected Unix socket's peer, from sock_diag (UNIX_DIAG_PEER): the only way to
/// tell which of two unnamed sockets is connected to which. Returns 0, or -1 with errno set.
int csupport_unix_peer(unsigned int inode, unsigned int *peer);

/* Opens a capture of every frame on the interface `name` (AF_PACKET, SOCK_RAW, ETH_P_ALL),
   non-blocking, without the outgoing copy that loopback shows of each packet
   (PACKET_IGNORE_OUTGOING). The descriptor, or -1 with errno (EPERM without CAP_NET_RAW). */
int csupport_packet_open(const char *name);

/* Moves this process into a private user and network namespace of its own: mapped to root
   inside (so that it may capture on loopback and bind ports below 1024 there), with loopback up.
   Must be called while the process has one thread. The whole set-up is first tried in a forked
   child, since once unshare succeeds here there is no way back. Returns 0, or the step that
   failed (1 unshare, 2 setgroups, 3 uid_map, 4 gid_map, 5 loopback up, 6 capture socket) with
   *error set to its errno. */
int csupport_enter_sandbox(int *error);
/* Moves the calling thread alone into a new network namespace with only loopback, brought up
   (as root; tests that must never reach another address). 0, or -1 with errno. */
int csupport_thread_private_network(void);
/* pipe2(ends, O_CLOEXEC), which Swift does not see. */
int csupport_pipe_cloexec(int ends[2]);

/* The frames a capture socket dropped since the last call (PACKET_STATISTICS: its buffer
   was full). */
unsigned int csupport_packet_drops(int fd);

/* Reads one frame from a capture socket without waiting, and when the kernel took it (in
   microseconds since the epoch; SIOCGSTAMP). The frame's length, or -1 with errno. */
long csupport_packet_recv(int fd, void *buffer, unsigned long size, long long *microseconds);

/* A copy of descriptor `fd` of process `pid` in this process (pidfd_getfd, Linux 5.6): the
   same open socket, to read with getsockopt without stopping the process. Needs the right to
   ptrace it (the same user, or root). The new descriptor (close-on-exec), or -1 with errno. */
int csupport_pidfd_getfd(int pid, int fd);

/* Limits for a learner's program (0: not set). */
struct csupport_limits {
  long cpu_seconds;
  long open_files;
  long memory_bytes;
  long file_bytes;
};

/* Starts `path` with `argv` and `envp` in `dir`, in a process group of its own, under `limits`
   (and no core file), with standard input from /dev/null and standard output and error on
   `out_fd` and `err_fd`, every other descriptor closed, default signal handling, and SIGKILL
   when this process ends. Its pid, or -1 with *error set (exec's errno when exec failed). */
int csupport_spawn_limited(const char *path, char *const argv[], char *const envp[], const char *dir,
                           int out_fd, int err_fd, const struct csupport_limits *limits, int *error);

#endif
