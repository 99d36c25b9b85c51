import SocketLayer

/// The frame of an exported C program: headers, helpers, the checks, and `main` around the
/// session's statements. Every helper is marked unused-safe, the program builds clean with
/// `-Wall -Wextra -Werror -fsanitize=address,undefined`, and it can never hang: each socket gets
/// a 10 s limit on its waits (SO_RCVTIMEO, SO_SNDTIMEO) and the whole program 60 s (alarm).
enum CFrame {
  static func program(file: String, body: [String], variables: [String], bufferSize: Int) -> String {
    let declarations =
      variables.isEmpty ? "" : "  int " + variables.map { "\($0) = -1" }.joined(separator: ", ") + ";\n"
    let build = ByteText.sanitized(Export.buildCommand(file)).replacing("*/", with: "*\\/")
    return """
      /* Made by sockshell export: the session's system calls, in the same order, each checked
       * against what the session saw. Build and run: \(build) */
      #define _GNU_SOURCE
      #include <arpa/inet.h>
      #include <errno.h>
      #include <fcntl.h>
      #include <net/if.h>
      #include <netdb.h>
      #include <netinet/in.h>
      #include <netinet/tcp.h>
      #include <poll.h>
      #include <signal.h>
      #include <stddef.h>
      #include <stdio.h>
      #include <stdlib.h>
      #include <string.h>
      #include <sys/socket.h>
      #include <sys/stat.h>
      #include <sys/time.h>
      #include <sys/un.h>
      #include <unistd.h>

      #define UNUSED __attribute__((unused))
      /* No call waits longer than this (the session's own wait is not known to the program). */
      #define WAIT_LIMIT_SECONDS 10
      #define PROGRAM_LIMIT_SECONDS 60

      static int failures = 0;

      /* Compares a result with the session's: the same value, and for -1 the same errno. */
      static UNUSED void check(const char *call, long got, long want, int want_errno) {
        int error = errno;
        if (got == want && (want != -1 || want_errno == 0 || error == want_errno)) {
          if (got == -1) printf("%s = -1 %s (as in the session)\\n", call, strerror(error));
          else printf("%s = %ld\\n", call, got);
          return;
        }
        if (got == -1) fprintf(stderr, "%s = -1 (%s), but the session saw %ld\\n", call, strerror(error), want);
        else fprintf(stderr, "%s = %ld, but the session saw %ld\\n", call, got, want);
        failures++;
      }

      /* socket and accept: any descriptor will do; its waits are limited, so the program cannot hang. */
      static UNUSED void check_fd(const char *call, int fd) {
        if (fd < 0) { fprintf(stderr, "%s failed: %s\\n", call, strerror(errno)); failures++; return; }
        printf("%s = %d\\n", call, fd);
        struct timeval limit = { WAIT_LIMIT_SECONDS, 0 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
      }

      static void on_alarm(int signal_number) {
        (void)signal_number;
        static const char message[] = "stopped: the program waited longer than the session did\\n";
        if (write(2, message, sizeof message - 1) < 0) _exit(2);
        _exit(2);
      }

      /* The bytes, as a C string that reads back as them: printable ASCII as it is, every other
       * byte as \\xNN, or three octal digits before a hex digit (the shell shows UTF-8 text as text;
       * the bytes are the same). The first 256, then how many more. */
      static UNUSED void show_data(const char *label, const char *data, long count) {
        printf("  %s \\"", label);
        for (long i = 0; i < count && i < 256; i++) {
          unsigned char c = (unsigned char)data[i];
          int hex_next = i + 1 < count && i + 1 < 256 && data[i + 1] && strchr("0123456789abcdefABCDEF", data[i + 1]);
          if (c == '\\n') printf("\\\\n");
          else if (c == '\\r') printf("\\\\r");
          else if (c == '\\t') printf("\\\\t");
          else if (c == '"' || c == '\\\\') printf("\\\\%c", c);
          else if (c >= 0x20 && c < 0x7f) putchar(c);
          else if (hex_next) printf("\\\\%03o", c);
          else printf("\\\\x%02x", c);
        }
        if (count > 256) printf("\\"... (%ld more bytes)\\n", count - 256);
        else printf("\\"\\n");
      }

      /* An address a call gave back (accept's peer, recvfrom's sender). */
      static UNUSED void show_address(const char *label, const struct sockaddr_storage *ss, socklen_t length) {
        char host[INET6_ADDRSTRLEN] = "";
        if (ss->ss_family == AF_INET) {
          const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
          inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
          printf("  %s %s:%d\\n", label, host, ntohs(sin->sin_port));
        } else if (ss->ss_family == AF_INET6) {
          const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
          inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
          printf("  %s [%s]:%d\\n", label, host, ntohs(sin6->sin6_port));
        } else if (ss->ss_family == AF_UNIX && length > offsetof(struct sockaddr_un, sun_path)) {
          const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
          long count = (long)(length - offsetof(struct sockaddr_un, sun_path));
          if (sun->sun_path[0] != 0 && sun->sun_path[count - 1] == 0) count--;
          show_data(label, sun->sun_path, count);
        } else {
          printf("  %s: no address (an unnamed socket)\\n", label);
        }
      }

      static UNUSED socklen_t ipv4_address(struct sockaddr_storage *ss, const char *host, int port) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        memset(ss, 0, sizeof *ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        inet_pton(AF_INET, host, &sin->sin_addr);
        return sizeof *sin;
      }

      static UNUSED socklen_t ipv6_address(struct sockaddr_storage *ss, const char *host, int port) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        memset(ss, 0, sizeof *ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        inet_pton(AF_INET6, host, &sin6->sin6_addr);
        return sizeof *sin6;
      }

      /* A path (with its terminating zero, as the shell passes it) or an abstract name (a zero
       * byte, then the name's bytes, no terminator). */
      static UNUSED socklen_t unix_address(struct sockaddr_storage *ss, const char *path, size_t length, int abstract) {
        struct sockaddr_un *sun = (struct sockaddr_un *)ss;
        memset(ss, 0, sizeof *ss);
        sun->sun_family = AF_UNIX;
        if (length > sizeof sun->sun_path - 1) length = sizeof sun->sun_path - 1;
        memcpy(sun->sun_path + (abstract ? 1 : 0), path, length);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + 1);
      }

      /* The session's bind made the socket file: one left by the session (it stays after close) or
       * by an earlier run would make this bind fail, so the program says so instead. */
      static UNUSED void expect_no_file(const char *path) {
        struct stat info;
        if (lstat(path, &info) == 0) {
          fprintf(stderr, "%s exists (a socket file stays after close): remove it, then run again\\n", path);
          exit(2);
        }
      }

      static UNUSED socklen_t resolve_address(struct sockaddr_storage *ss, const char *host, int port, int family) {
        struct addrinfo hints, *list;
        char service[16];
        memset(&hints, 0, sizeof hints);
        hints.ai_family = family;
        hints.ai_socktype = SOCK_STREAM;
        snprintf(service, sizeof service, "%d", port);
        if (getaddrinfo(host, service, &hints, &list) != 0) { fprintf(stderr, "cannot resolve %s\\n", host); exit(1); }
        memcpy(ss, list->ai_addr, list->ai_addrlen);
        socklen_t length = list->ai_addrlen;
        freeaddrinfo(list);
        return length;
      }

      /* The address a descriptor is bound to; every-address (0.0.0.0, ::) becomes loopback. */
      static UNUSED socklen_t bound_address(int fd, struct sockaddr_storage *ss) {
        socklen_t length = sizeof *ss;
        getsockname(fd, (struct sockaddr *)ss, &length);
        if (ss->ss_family == AF_INET) {
          struct sockaddr_in *sin = (struct sockaddr_in *)ss;
          if (sin->sin_addr.s_addr == htonl(INADDR_ANY)) sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else if (ss->ss_family == AF_INET6) {
          struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
          if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) sin6->sin6_addr = in6addr_loopback;
        }
        return length;
      }

      /* --size N: the same visible pattern as the shell's (freed after the call). */
      static UNUSED char *pattern(size_t size) {
        static const char line[] = "abcdefghijklmnopqrstuvwxyz0123456789\\n";
        char *data = malloc(size + 1);
        if (data == NULL) { fprintf(stderr, "out of memory\\n"); exit(1); }
        for (size_t i = 0; i < size; i++) data[i] = line[i % (sizeof line - 1)];
        return data;
      }

      /* --file PATH: the file's bytes, as many as it has (freed after the call). */
      static UNUSED char *read_file(const char *path, size_t *size) {
        FILE *file = fopen(path, "rb");
        struct stat info;
        *size = 0;
        if (file == NULL || fstat(fileno(file), &info) != 0) {
          fprintf(stderr, "cannot read %s: %s\\n", path, strerror(errno));
          if (file) fclose(file);
          return malloc(1);
        }
        char *data = malloc((size_t)info.st_size + 1);
        if (data == NULL) { fprintf(stderr, "out of memory\\n"); exit(1); }
        *size = fread(data, 1, (size_t)info.st_size, file);
        fclose(file);
        return data;
      }

      int main(void) {
        static char buffer[\(max(bufferSize, 256))];
        struct sockaddr_storage addr;
        socklen_t len = 0;
        long r;
        char *data = NULL;
        size_t data_len = 0;
      \(declarations)
        signal(SIGPIPE, SIG_IGN); /* so that a closed peer gives EPIPE, as in the shell */
        signal(SIGALRM, on_alarm);
        alarm(PROGRAM_LIMIT_SECONDS);
        (void)addr; (void)len; (void)r; (void)data; (void)data_len; (void)buffer;

      \(body.joined(separator: "\n"))

        if (failures) fprintf(stderr, "%d call(s) differed from the session\\n", failures);
        return failures ? 1 : 0;
      }

      """
  }
}
