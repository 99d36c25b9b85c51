# A correct echo server that ignores SIGTERM: the engine must still stop it (SIGKILL).
import signal
import socket
import sys
import threading

signal.signal(signal.SIGTERM, signal.SIG_IGN)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)


def serve(conn):
    with conn:
        while True:
            try:
                data = conn.recv(4096)
                if not data:
                    return
                conn.sendall(data)
            except ConnectionError:
                return


while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
