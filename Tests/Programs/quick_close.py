# Right: answers each client and closes at once, sooner than the 10 ms between two readings.
import socket
import sys
import threading

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(64)


def serve(conn):
    with conn:
        data = b""
        while not data.endswith(b"\n"):
            more = conn.recv(100)
            if not more:
                return
            data += more
        conn.sendall(data)


while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
