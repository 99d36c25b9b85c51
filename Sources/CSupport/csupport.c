#define _GNU_SOURCE
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <linux/sockios.h>
#include <sys/wait.h>
#include <stdio.h>
#include <sys/socket.h>
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

int csupport_spawn_chdir(void *actions, const char *path) {
  return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}

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

/* Sends one request to sock_diag (`request` starts with its netlink header, filled in here)
   and reads its answer into `answer`: the first socket's message (at least `minimum` bytes) and
   its length in *size, or NULL with errno (ENOENT: no such socket). */
static void *diag_exchange(void *request, size_t size, long *answer, size_t answer_size, size_t minimum,
                           size_t *message_size) {
  struct nlmsghdr *sent = request;
  sent->nlmsg_len = (unsigned int)size;
  sent->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  sent->nlmsg_flags = NLM_F_REQUEST;
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return NULL;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  ssize_t length = -1;
  if (sendto(fd, request, size, 0, (struct sockaddr *)&kernel, sizeof kernel) >= 0)
    length = recv(fd, answer, answer_size, 0);
  int error = errno;
  close(fd);
  if (length < 0) {
    errno = error;
    return NULL;
  }
  for (struct nlmsghdr *header = (struct nlmsghdr *)answer; NLMSG_OK(header, (size_t)length);
       header = NLMSG_NEXT(header, length)) {
    if (header->nlmsg_type == NLMSG_ERROR) {
      struct nlmsgerr *failure = NLMSG_DATA(header);
      errno = failure->error ? -failure->error : ENOENT;
      return NULL;
    }
    if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY || header->nlmsg_len < NLMSG_LENGTH(minimum)) continue;
    *message_size = header->nlmsg_len - NLMSG_LENGTH(0);
    return NLMSG_DATA(header);
  }
  errno = ENOENT;
  return NULL;
}

/* Asks sock_diag about one Unix socket (by inode) for one attribute; copies its payload. */
static int unix_diag_attribute(unsigned int inode, unsigned int show, unsigned short type, void *out, size_t size) {
  struct {
    struct nlmsghdr header;
    struct unix_diag_req request;
  } message;
  memset(&message, 0, sizeof message);
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = ~0U;
  message.request.udiag_ino = inode;
  message.request.udiag_show = show;
  message.request.udiag_cookie[0] = ~0U;
  message.request.udiag_cookie[1] = ~0U;
  long answer[2048];
  size_t length = 0;
  struct unix_diag_msg *diag =
    diag_exchange(&message, sizeof message, answer, sizeof answer, sizeof(struct unix_diag_msg), &length);
  if (diag == NULL) return -1;
  if (diag->udiag_ino == inode) {
    int attributes = (int)(length - sizeof *diag);
    for (struct rtattr *attribute = (struct rtattr *)(diag + 1); RTA_OK(attribute, attributes);
         attribute = RTA_NEXT(attribute, attributes)) {
      if (attribute->rta_type == type && RTA_PAYLOAD(attribute) >= size) {
        memcpy(out, RTA_DATA(attribute), size);
        return 0;
      }
    }
  }
  errno = ENOENT;
  return -1;
}

int csupport_unix_queues(unsigned int inode, unsigned int *receive, unsigned int *send) {
  struct unix_diag_rqlen queues;
  if (unix_diag_attribute(inode, UDIAG_SHOW_RQLEN, UNIX_DIAG_RQLEN, &queues, sizeof queues) != 0) return -1;
  *receive = queues.udiag_rqueue;
  *send = queues.udiag_wqueue;
  return 0;
}

int csupport_unix_peer(unsigned int inode, unsigned int *peer) {
  return unix_diag_attribute(inode, UDIAG_SHOW_PEER, UNIX_DIAG_PEER, peer, sizeof *peer);
}

/* Copies an address's IP and port into inet_diag's form (network order; IPv4 in the first word). */
static void inet_diag_endpoint(const struct sockaddr *address, __be32 ip[4], __be16 *port) {
  if (address->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
    memcpy(ip, &v4->sin_addr, 4);
    *port = v4->sin_port;
  } else {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
    memcpy(ip, &v6->sin6_addr, 16);
    *port = v6->sin6_port;
  }
}

int csupport_inet_lookup(int protocol, const void *local, const void *remote, struct csupport_inet_row *row) {
  const struct sockaddr *mine = local, *theirs = remote;
  if ((mine->sa_family != AF_INET && mine->sa_family != AF_INET6) || theirs->sa_family != mine->sa_family) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  struct {
    struct nlmsghdr header;
    struct inet_diag_req_v2 request;
  } message;
  memset(&message, 0, sizeof message);
  message.request.sdiag_family = mine->sa_family;
  message.request.sdiag_protocol = (unsigned char)protocol;
  message.request.idiag_states = ~0U;
  message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  /* TCP looks up (src, dst) as (local, remote); UDP as the arriving datagram's (source, dest),
     that is (remote, local). */
  if (protocol == IPPROTO_UDP) {
    inet_diag_endpoint(theirs, message.request.id.idiag_src, &message.request.id.idiag_sport);
    inet_diag_endpoint(mine, message.request.id.idiag_dst, &message.request.id.idiag_dport);
  } else {
    inet_diag_endpoint(mine, message.request.id.idiag_src, &message.request.id.idiag_sport);
    inet_diag_endpoint(theirs, message.request.id.idiag_dst, &message.request.id.idiag_dport);
  }
  long answer[1024];
  size_t length = 0;
  struct inet_diag_msg *diag =
    diag_exchange(&message, sizeof message, answer, sizeof answer, sizeof(struct inet_diag_msg), &length);
  if (diag == NULL) return -1;
  row->state = diag->idiag_state;
  row->timer = diag->idiag_timer;
  row->expires_ms = diag->idiag_expires;
  row->rqueue = diag->idiag_rqueue;
  row->wqueue = diag->idiag_wqueue;
  row->inode = diag->idiag_inode;
  return 0;
}

/* Sends a dump request to sock_diag and hands each answer's message to `each` (with its
   attributes' length) until the kernel says it is done. Returns 0, or -1 with errno. */
static int diag_dump(void *request, size_t size, size_t minimum, void (*each)(void *, void *, int), void *context) {
  struct nlmsghdr *sent = request;
  sent->nlmsg_len = (unsigned int)size;
  sent->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  sent->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, request, size, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  // One buffer per dump: dumps may run on several threads at once (the tests' do).
  long *answer = malloc(65536);
  if (answer == NULL) {
    close(fd);
    errno = ENOMEM;
    return -1;
  }
  for (;;) {
    ssize_t length = recv(fd, answer, 65536, 0);
    if (length < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      free(answer);
      close(fd);
      errno = error;
      return -1;
    }
    if (length == 0) break;
    for (struct nlmsghdr *header = (struct nlmsghdr *)answer; NLMSG_OK(header, (size_t)length);
         header = NLMSG_NEXT(header, length)) {
      if (header->nlmsg_type == NLMSG_DONE) {
        free(answer);
        close(fd);
        return 0;
      }
      if (header->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *failure = NLMSG_DATA(header);
        int error = failure->error ? -failure->error : EIO;
        free(answer);
        close(fd);
        errno = error;
        return -1;
      }
      if (header->nlmsg_type != SOCK_DIAG_BY_FAMILY || header->nlmsg_len < NLMSG_LENGTH(minimum)) continue;
      each(context, NLMSG_DATA(header), (int)(header->nlmsg_len - NLMSG_LENGTH(minimum)));
    }
  }
  free(answer);
  close(fd);
  return 0;
}

/* The rows a dump fills: as many as there is room for, all counted. */
struct dump_context {
  void *rows;
  size_t row_size;
  int capacity;
  int count;
};

/* The next row to fill (zeroed), or NULL past the room given (counted all the same). */
static void *dump_next_row(struct dump_context *dump) {
  int index = dump->count++;
  if (index >= dump->capacity) return NULL;
  void *row = (char *)dump->rows + (size_t)index * dump->row_size;
  memset(row, 0, dump->row_size);
  return row;
}

static void inet_dump_each(void *context, void *message, int attributes) {
  struct inet_diag_msg *diag = message;
  struct csupport_inet_socket *row = dump_next_row(context);
  if (row == NULL) return;
  row->family = diag->idiag_family;
  row->state = diag->idiag_state;
  row->timer = diag->idiag_timer;
  row->retransmits = diag->idiag_retrans;
  row->local_port = ntohs(diag->id.idiag_sport);
  row->remote_port = ntohs(diag->id.idiag_dport);
  memcpy(row->local, diag->id.idiag_src, 16);
  memcpy(row->remote, diag->id.idiag_dst, 16);
  row->expires_ms = diag->idiag_expires;
  row->rqueue = diag->idiag_rqueue;
  row->wqueue = diag->idiag_wqueue;
  row->uid = diag->idiag_uid;
  row->inode = diag->idiag_inode;
  for (struct rtattr *attribute = (struct rtattr *)(diag + 1); RTA_OK(attribute, attributes);
       attribute = RTA_NEXT(attribute, attributes)) {
    size_t length = RTA_PAYLOAD(attribute);
    if (attribute->rta_type == INET_DIAG_INFO) {
      row->has_info = 1;
      row->info_length = (unsigned int)(length < sizeof row->info ? length : sizeof row->info);
      memcpy(row->info, RTA_DATA(attribute), row->info_length);
    } else if (attribute->rta_type == INET_DIAG_SHUTDOWN && length >= 1) {
      row->shutdown = *(unsigned char *)RTA_DATA(attribute);
    }
  }
}

int csupport_inet_dump(int family, int protocol, int with_info, struct csupport_inet_socket *rows, int capacity) {
  struct {
    struct nlmsghdr header;
    struct inet_diag_req_v2 request;
  } message;
  memset(&message, 0, sizeof message);
  message.request.sdiag_family = (unsigned char)family;
  message.request.sdiag_protocol = (unsigned char)protocol;
  message.request.idiag_states = ~0U;
  message.request.idiag_ext = with_info ? (unsigned char)(1 << (INET_DIAG_INFO - 1)) : 0;
  struct dump_context dump = { rows, sizeof *rows, capacity, 0 };
  if (diag_dump(&message, sizeof message, sizeof(struct inet_diag_msg), inet_dump_each, &dump) != 0) return -1;
  return dump.count;
}

static void unix_dump_each(void *context, void *message, int attributes) {
  struct unix_diag_msg *diag = message;
  struct csupport_unix_socket *row = dump_next_row(context);
  if (row == NULL) return;
  row->type = diag->udiag_type;
  row->state = diag->udiag_state;
  row->inode = diag->udiag_ino;
  for (struct rtattr *attribute = (struct rtattr *)(diag + 1); RTA_OK(attribute, attributes);
       attribute = RTA_NEXT(attribute, attributes)) {
    size_t length = RTA_PAYLOAD(attribute);
    if (attribute->rta_type == UNIX_DIAG_NAME) {
      row->name_length = (unsigned short)(length < sizeof row->name ? length : sizeof row->name);
      memcpy(row->name, RTA_DATA(attribute), row->name_length);
    } else if (attribute->rta_type == UNIX_DIAG_PEER && length >= 4) {
      row->peer = *(unsigned int *)RTA_DATA(attribute);
    } else if (attribute->rta_type == UNIX_DIAG_RQLEN && length >= sizeof(struct unix_diag_rqlen)) {
      struct unix_diag_rqlen *queues = RTA_DATA(attribute);
      row->rqueue = queues->udiag_rqueue;
      row->wqueue = queues->udiag_wqueue;
    }
  }
}

int csupport_unix_dump(struct csupport_unix_socket *rows, int capacity) {
  struct {
    struct nlmsghdr header;
    struct unix_diag_req request;
  } message;
  memset(&message, 0, sizeof message);
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = ~0U;
  message.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN;
  struct dump_context dump = { rows, sizeof *rows, capacity, 0 };
  if (diag_dump(&message, sizeof message, sizeof(struct unix_diag_msg), unix_dump_each, &dump) != 0) return -1;
  return dump.count;
}

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

int csupport_packet_open(const char *name) {
  unsigned int index = if_nametoindex(name);
  if (index == 0) return -1;
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return -1;
  struct sockaddr_ll link;
  memset(&link, 0, sizeof link);
  link.sll_family = AF_PACKET;
  link.sll_protocol = htons(ETH_P_ALL);
  link.sll_ifindex = (int)index;
  int one = 1;
  /* Room for a burst (a large send on loopback, while the shell is blocked in it): 32 MiB of
     kernel memory, only while unread, more than the default where allowed. */
  int room = 32 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) < 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  /* Every frame stamped as it arrives (SIOCGSTAMP reads it back), the first ones too. */
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&link, sizeof link) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t length = strlen(text);
  ssize_t written = write(fd, text, length);
  int error = errno;
  close(fd);
  errno = error;
  return written == (ssize_t)length ? 0 : -1;
}

/* Brings an interface of this network namespace up: 0, or -1 with errno. */
static int interface_up(const char *name) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq request;
  memset(&request, 0, sizeof request);
  strncpy(request.ifr_name, name, IFNAMSIZ - 1);
  int up = ioctl(fd, SIOCGIFFLAGS, &request) == 0 && (request.ifr_flags |= IFF_UP | IFF_RUNNING, 1) &&
           ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  int error = errno;
  close(fd);
  errno = error;
  return up ? 0 : -1;
}

static int loopback_up(void) { return interface_up("lo"); }

/* An rtnetlink attribute appended to the message; -1 when it does not fit. */
static int link_attribute(struct nlmsghdr *message, size_t room, int type, const void *data, size_t length) {
  size_t size = RTA_LENGTH(length);
  if (NLMSG_ALIGN(message->nlmsg_len) + RTA_ALIGN(size) > room) return -1;
  struct rtattr *attribute = (struct rtattr *)((char *)message + NLMSG_ALIGN(message->nlmsg_len));
  attribute->rta_type = (unsigned short)type;
  attribute->rta_len = (unsigned short)size;
  if (length) memcpy(RTA_DATA(attribute), data, length);
  message->nlmsg_len = NLMSG_ALIGN(message->nlmsg_len) + RTA_ALIGN(size);
  return 0;
}

/* A pair of linked virtual interfaces (veth) in this namespace, both up: what one sends, the
   other receives, and nothing else. 0, or -1 with errno. */
static int add_veth_pair(const char *name, const char *peer) {
  struct {
    struct nlmsghdr header;
    struct ifinfomsg info;
    char attributes[512];
  } request;
  memset(&request, 0, sizeof request);
  size_t room = sizeof request;
  request.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  request.header.nlmsg_type = RTM_NEWLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  request.info.ifi_family = AF_UNSPEC;
  struct nlmsghdr *message = &request.header;
  if (link_attribute(message, room, IFLA_IFNAME, name, strlen(name) + 1) != 0) return -1;
  struct rtattr *linkinfo = (struct rtattr *)((char *)message + NLMSG_ALIGN(message->nlmsg_len));
  if (link_attribute(message, room, IFLA_LINKINFO, NULL, 0) != 0) return -1;
  if (link_attribute(message, room, IFLA_INFO_KIND, "veth", 4) != 0) return -1;
  struct rtattr *data = (struct rtattr *)((char *)message + NLMSG_ALIGN(message->nlmsg_len));
  if (link_attribute(message, room, IFLA_INFO_DATA, NULL, 0) != 0) return -1;
  struct rtattr *peerinfo = (struct rtattr *)((char *)message + NLMSG_ALIGN(message->nlmsg_len));
  if (link_attribute(message, room, VETH_INFO_PEER, NULL, 0) != 0) return -1;
  message->nlmsg_len += sizeof(struct ifinfomsg); /* the peer's, zeroed */
  if (link_attribute(message, room, IFLA_IFNAME, peer, strlen(peer) + 1) != 0) return -1;
  char *end = (char *)message + message->nlmsg_len;
  peerinfo->rta_len = (unsigned short)(end - (char *)peerinfo);
  data->rta_len = (unsigned short)(end - (char *)data);
  linkinfo->rta_len = (unsigned short)(end - (char *)linkinfo);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, message, message->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    int error = errno;
    close(fd);
    errno = error;
    return -1;
  }
  char answer[1024];
  ssize_t got = recv(fd, answer, sizeof answer, 0);
  int error = errno;
  close(fd);
  if (got < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
    errno = got < 0 ? error : EIO;
    return -1;
  }
  struct nlmsghdr *reply = (struct nlmsghdr *)answer;
  if (reply->nlmsg_type == NLMSG_ERROR) {
    struct nlmsgerr *result = (struct nlmsgerr *)NLMSG_DATA(reply);
    if (result->error != 0) {
      errno = -result->error;
      return -1;
    }
  }
  if (interface_up(name) != 0 || interface_up(peer) != 0) return -1;
  return 0;
}

int csupport_thread_private_network(void) {
  if (unshare(CLONE_NEWNET) != 0) return -1;
  return loopback_up();
}

/* The set-up itself: the step that failed, or 0. */
static int sandbox_steps(void) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) return 1;
  if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT) return 2;
  char map[64];
  snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
  if (write_file("/proc/self/uid_map", map) != 0) return 3;
  snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
  if (write_file("/proc/self/gid_map", map) != 0) return 4;
  if (loopback_up() != 0) return 5;
  /* mc0 and mc1, linked to each other only: interfaces with multicast (IPv6's too, which
     loopback lacks), their link-local addresses at once (no duplicate address detection). A
     system that refuses them leaves the sandbox without them. */
  (void)write_file("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
  (void)add_veth_pair("mc0", "mc1");
  int capture = csupport_packet_open("lo");
  if (capture < 0) return 6;
  close(capture);
  return 0;
}

int csupport_enter_sandbox(int *error) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    *error = errno;
    return 1;
  }
  int child = (int)fork();
  if (child < 0) {
    *error = errno;
    close(report[0]);
    close(report[1]);
    return 1;
  }
  if (child == 0) {
    int answer[2] = { sandbox_steps(), errno };
    ssize_t ignored = write(report[1], answer, sizeof answer);
    (void)ignored;
    _exit(0);
  }
  close(report[1]);
  int answer[2] = { 1, EIO };
  ssize_t got;
  do { got = read(report[0], answer, sizeof answer); } while (got < 0 && errno == EINTR);
  close(report[0]);
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (got != (ssize_t)sizeof answer) {
    *error = EIO;
    return 1;
  }
  if (answer[0] != 0) {
    *error = answer[1];
    return answer[0];
  }
  /* The child could: do it here. */
  int step = sandbox_steps();
  *error = errno;
  return step;
}

unsigned int csupport_packet_drops(int fd) {
  struct tpacket_stats stats;
  socklen_t size = sizeof stats;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &size) != 0) return 0;
  return stats.tp_drops;
}

long csupport_packet_recv(int fd, void *buffer, unsigned long size, long long *microseconds) {
  ssize_t length = recv(fd, buffer, size, MSG_DONTWAIT);
  if (length < 0) return -1;
  struct timeval when;
  if (ioctl(fd, SIOCGSTAMP, &when) == 0) {
    *microseconds = (long long)when.tv_sec * 1000000LL + when.tv_usec;
  } else {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *microseconds = (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000;
  }
  return (long)length;
}

int csupport_pidfd_getfd(int pid, int fd) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return -1;
  int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
  int saved = errno;
  close(pidfd);
  errno = saved;
  return copy;
}

#include <sys/prctl.h>
#include <sys/resource.h>

int csupport_spawn_limited(const char *path, char *const argv[], char *const envp[], const char *dir,
                             int out_fd, int err_fd, const struct csupport_limits *limits, int *error) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) {
    *error = errno;
    return -1;
  }
  int parent = (int)getpid();
  int child = (int)fork();
  if (child < 0) {
    *error = errno;
    close(report[0]);
    close(report[1]);
    return -1;
  }
  if (child == 0) {
    // Only system calls from here to exec: the parent may have had other threads.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < 32; sig++) {
      if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    struct rlimit limit;
    if (limits->cpu_seconds > 0) {
      limit.rlim_cur = limit.rlim_max = (rlim_t)limits->cpu_seconds;
      setrlimit(RLIMIT_CPU, &limit);
    }
    if (limits->open_files > 0) {
      limit.rlim_cur = limit.rlim_max = (rlim_t)limits->open_files;
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limits->memory_bytes > 0) {
      limit.rlim_cur = limit.rlim_max = (rlim_t)limits->memory_bytes;
      setrlimit(RLIMIT_AS, &limit);
    }
    if (limits->file_bytes > 0) {
      limit.rlim_cur = limit.rlim_max = (rlim_t)limits->file_bytes;
      setrlimit(RLIMIT_FSIZE, &limit);
    }
    limit.rlim_cur = limit.rlim_max = 0;
    setrlimit(RLIMIT_CORE, &limit);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    if (dir != NULL && chdir(dir) < 0) {
      int code = errno;
      (void)!write(report[1], &code, sizeof code);
      _exit(127);
    }
    // Everything else of the shell's stays out of the program (the report pipe closes on exec).
    syscall(SYS_close_range, 3, ~0U, 0);
    execve(path, argv, envp);
    int code = errno;
    (void)!write(report[1], &code, sizeof code);
    _exit(127);
  }
  close(report[1]);
  int code = 0;
  ssize_t got;
  do {
    got = read(report[0], &code, sizeof code);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == sizeof code) {
    int status;
    waitpid(child, &status, 0);
    *error = code;
    return -1;
  }
  return child;
}

int csupport_pipe_cloexec(int ends[2]) { return pipe2(ends, O_CLOEXEC); }
