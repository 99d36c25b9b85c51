/* Wrong: serves one client at a time (the others wait in the accept queue). */
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(srv, (struct sockaddr *)&addr, sizeof addr);
  listen(srv, 5);
  for (;;) {
    int c = accept(srv, NULL, NULL);
    char buf[4096];
    ssize_t got;
    while ((got = recv(c, buf, sizeof buf, 0)) > 0) send(c, buf, got, 0);
    close(c);
  }
}
