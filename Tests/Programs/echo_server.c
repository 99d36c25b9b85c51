/* A correct echo server: poll serves every client at once; SIGPIPE ignored; a connection is
   closed when recv returns 0 or fails. */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX 64

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 9000;
  signal(SIGPIPE, SIG_IGN);
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(srv, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(srv, 16) < 0) {
    perror("bind/listen");
    return 1;
  }
  struct pollfd fds[MAX];
  int n = 1;
  fds[0].fd = srv;
  fds[0].events = POLLIN;
  for (;;) {
    if (poll(fds, n, -1) < 0) continue;
    for (int i = n - 1; i >= 0; i--) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == srv) {
        int c = accept(srv, NULL, NULL);
        if (c >= 0 && n < MAX) {
          fds[n].fd = c;
          fds[n].events = POLLIN;
          fds[n].revents = 0;
          n++;
        } else if (c >= 0) {
          close(c);
        }
        continue;
      }
      char buf[4096];
      ssize_t got = recv(fds[i].fd, buf, sizeof buf, 0);
      ssize_t sent = 0;
      while (got > 0 && sent < got) {
        ssize_t k = send(fds[i].fd, buf + sent, got - sent, 0);
        if (k < 0) break;
        sent += k;
      }
      if (got <= 0 || sent < got) {
        close(fds[i].fd);
        fds[i] = fds[--n];
      }
    }
  }
}
