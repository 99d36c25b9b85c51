/* Wrong: serves every client at once (poll) but neither ignores SIGPIPE nor stops sending to a
   connection whose send failed: a client that resets its connection kills it. */
#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  (void)argc;
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(srv, (struct sockaddr *)&addr, sizeof addr);
  listen(srv, 16);
  struct pollfd fds[64];
  int n = 1;
  fds[0].fd = srv;
  fds[0].events = POLLIN;
  for (;;) {
    poll(fds, n, -1);
    for (int i = n - 1; i >= 0; i--) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == srv) {
        int c = accept(srv, NULL, NULL);
        if (c >= 0 && n < 64) {
          fds[n].fd = c;
          fds[n].events = POLLIN;
          fds[n].revents = 0;
          n++;
        }
        continue;
      }
      char buf[4096];
      ssize_t got = recv(fds[i].fd, buf, sizeof buf, 0);
      if (got <= 0) {
        close(fds[i].fd);
        fds[i] = fds[--n];
        continue;
      }
      send(fds[i].fd, buf, got, 0); /* the result is not looked at */
    }
  }
}
