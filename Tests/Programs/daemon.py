# Wrong for a lesson: daemonizes (fork, setsid, fork) and serves from a process outside the
# program's process group, after the program itself has exited.
import os
import socket
import sys

port = int(sys.argv[1])
if os.fork() > 0:
    os._exit(0)
os.setsid()
if os.fork() > 0:
    os._exit(0)
with open("/tmp/sockshell-test-daemon-%d" % port, "w") as f:
    f.write(str(os.getpid()))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(16)
while True:
    conn, _ = srv.accept()
    conn.close()
