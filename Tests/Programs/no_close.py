# Wrong: never closes a connection when the client has closed (CLOSE_WAIT piles up).
import socket
import sys
import threading

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
kept = []


def serve(conn):
    kept.append(conn)
    while True:
        try:
            data = conn.recv(4096)
        except ConnectionError:
            return
        if not data:
            return  # the client closed: but conn.close() is forgotten
        conn.sendall(data)


while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
