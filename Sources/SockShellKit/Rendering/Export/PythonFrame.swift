import SocketLayer

/// The frame of an exported Python program: the helpers and checks around the session's
/// statements. It can never hang: each socket gets a 10 s limit on its waits (SO_RCVTIMEO,
/// SO_SNDTIMEO) and the whole program 60 s (signal.alarm).
enum PythonFrame {
  static func program(file: String, body: [String]) -> String {
    """
    #!/usr/bin/env python3
    # Made by sockshell export: the session's system calls, in the same order, each checked
    # against what the session saw. Run: python3 \(ByteText.sanitized(file))
    import errno, os, select, signal, socket, struct, sys

    WAIT_LIMIT_SECONDS = 10  # no call waits longer (the session's own wait is not known here)
    PROGRAM_LIMIT_SECONDS = 60
    failures = 0

    def check(call, action, want, want_errno, measure=None):
        \"\"\"Runs one call; compares its result (measured by `measure`, None counting as 0) and
        errno with the session's. Returns what the call returned (None when it failed).\"\"\"
        global failures
        value = None
        try:
            value = action()
            got = measure(value) if measure else (value if isinstance(value, int) else 0)
            error = 0
        except OSError as e:
            got, error = -1, e.errno
        except AttributeError:
            # A socket an earlier call failed to make: this call cannot be made at all.
            print(f"{call}: not made (the socket it needs was not made)", file=sys.stderr)
            failures += 1
            return None
        if got == want and (want != -1 or want_errno == 0 or error == want_errno):
            print(f"{call} = {got}" + (f" {errno.errorcode.get(error, error)} (as in the session)" if got == -1 else ""))
        else:
            print(f"{call} = {got} {errno.errorcode.get(error, '')}, but the session saw {want}", file=sys.stderr)
            failures += 1
        return value

    def make(action, call):
        \"\"\"socket and accept: any descriptor will do; its waits are limited, so the program cannot hang.\"\"\"
        global failures
        try:
            sock = action()
        except OSError as e:
            print(f"{call} failed: {e}", file=sys.stderr)
            failures += 1
            return None
        print(f"{call} = {sock.fileno()}")
        limit = struct.pack('@ll', WAIT_LIMIT_SECONDS, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        return sock

    def accepted(sock, call):
        \"\"\"accept: the new socket, and the peer's address shown as the session showed it.\"\"\"
        peer = []
        def action():
            conn, address = sock.accept()
            peer.append(address)
            return conn
        conn = make(action, call)
        if conn is not None:
            print(f"  peer {peer[0]!r}")
        return conn

    def show(label, data):
        \"\"\"Bytes a call gave back.\"\"\"
        if data is not None:
            print(f"  {label} {data[:64]!r}" + ("..." if len(data) > 64 else ""))

    def expect_no_file(path):
        \"\"\"The session's bind made the socket file: one left by the session (it stays after close)
        or by an earlier run would make this bind fail, so the program says so instead.\"\"\"
        if os.path.lexists(path):
            print(f"{path!r} exists (a socket file stays after close): remove it, then run again", file=sys.stderr)
            sys.exit(2)

    def bound(sock):
        \"\"\"The address a socket is bound to; every-address becomes loopback.\"\"\"
        address = sock.getsockname()
        if sock.family == socket.AF_INET and address[0] == '0.0.0.0':
            return ('127.0.0.1', address[1])
        if sock.family == socket.AF_INET6 and address[0] == '::':
            return ('::1',) + tuple(address[1:])
        return address

    def resolve(host, port, family):
        return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4]

    def pattern(size):
        line = b'abcdefghijklmnopqrstuvwxyz0123456789\\n'
        return (line * (size // len(line) + 1))[:size]

    def read_file(path):
        with open(path, 'rb') as file:
            return file.read()

    def poll_ready(socks, timeout, events=select.POLLIN | select.POLLOUT | select.POLLPRI | select.POLLRDHUP):
        poller = select.poll()
        for sock in socks:
            poller.register(sock, events)
        return len(poller.poll(timeout))

    def on_alarm(number, frame):
        print("stopped: the program waited longer than the session did", file=sys.stderr)
        os._exit(2)

    def main():
    \(body.isEmpty ? "    pass" : body.joined(separator: "\n"))

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(PROGRAM_LIMIT_SECONDS)
    main()
    if failures:
        print(f"{failures} call(s) differed from the session", file=sys.stderr)
    sys.exit(1 if failures else 0)

    """
  }
}
