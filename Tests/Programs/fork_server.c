/* A correct echo server that forks a child per client (the parent closes its copy). */
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  (void)argc;
  signal(SIGCHLD, SIG_IGN);
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(srv, (struct sockaddr *)&addr, sizeof addr);
  listen(srv, 16);
  for (;;) {
    int c = accept(srv, NULL, NULL);
    if (c < 0) continue;
    if (fork() == 0) {
      close(srv);
      signal(SIGPIPE, SIG_IGN);
      char buf[4096];
      ssize_t got;
      while ((got = recv(c, buf, sizeof buf, 0)) > 0) {
        ssize_t sent = 0;
        while (sent < got) {
          ssize_t k = send(c, buf + sent, got - sent, 0);
          if (k < 0) _exit(0);
          sent += k;
        }
      }
      _exit(0);
    }
    close(c);
  }
}
