/* A correct echo server that pre-forks: twelve workers accept on the listener they inherit, one
   client at a time each, and the parent closes its own copy of the listener and waits. */
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  (void)argc;
  signal(SIGPIPE, SIG_IGN);
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(srv, (struct sockaddr *)&addr, sizeof addr);
  listen(srv, 16);
  for (int worker = 0; worker < 12; worker++) {
    if (fork() == 0) {
      for (;;) {
        int c = accept(srv, NULL, NULL);
        if (c < 0) continue;
        char buf[4096];
        ssize_t got;
        while ((got = recv(c, buf, sizeof buf, 0)) > 0) {
          ssize_t sent = 0;
          while (sent < got) {
            ssize_t k = send(c, buf + sent, got - sent, 0);
            if (k < 0) break;
            sent += k;
          }
          if (sent < got) break;
        }
        close(c);
      }
    }
  }
  close(srv);
  for (;;) wait(NULL);
}
