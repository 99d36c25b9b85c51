#!/usr/bin/env python3
"""Hostile peers on loopback against the shell (make fuzz; a test runs it too).

usage: hostile.py SOCKSHELL [SCENARIO...]
       hostile.py --check FILE   (a transcript: valid UTF-8, no raw control byte)

Each scenario runs `SOCKSHELL run --keep-going --timeout SECONDS` on a script (2 s where a call
is meant to give up, 30 s where it must not, however loaded the machine), with a python3 peer in a
thread: a peer that sends 100 MiB and never reads, one that resets the connection in the middle
of a transfer, one that sends terminal escape sequences and invalid UTF-8 (TCP and UDP), and one
that opens 1,000 connections to a listener with backlog 5. Every script first makes a socket of
the learner's own (`keep`) and ends with `ls --wide` (the full table). A scenario passes when the shell exits by itself
(status 0 or 1, never a signal), the `ls` at the end still lists what the learner had, its output
holds no raw control byte, and what the scenario expects is in the output. Prints one line per
scenario with its time and the shell's peak memory; exits 1 if any scenario failed.
"""
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
ESCAPES = (b"\x1b]0;owned\x07\x1b[2J\x1b[H\x1b[31mred\x1b[0m\x9b31m\xc2\x9b2J\xff\xfe\xc3("
           b"\xe2\x80\xae reversed \x00\r\r\x08\x08\x7f\x1b[6n\x1bP+q\x1b\\ end\n")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def connect(port, deadline=10.0):
    """Connects once the shell listens (bounded)."""
    end = time.monotonic() + deadline
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.02)


def flood(port, udp_port, done):
    """Sends 100 MiB, never reads; stays connected until the shell has finished."""
    with connect(port) as peer:
        peer.settimeout(30)
        chunk = b"A" * MIB
        for _ in range(100):
            peer.sendall(chunk)
        done.wait(60)


def reset(port, udp_port, done):
    """Reads a little of what the shell sends, then resets the connection (SO_LINGER 0)."""
    peer = connect(port)
    peer.recv(1000)
    time.sleep(0.3)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()
    done.wait(60)


def escapes(port, udp_port, done):
    """Sends escape sequences and invalid UTF-8 on TCP, and as datagrams to the shell's UDP port."""
    with connect(port) as peer:
        peer.sendall(ESCAPES * 20)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
            for _ in range(50):  # until the shell's UDP socket is bound (bounded)
                datagram.sendto(ESCAPES, ("127.0.0.1", udp_port))
                time.sleep(0.05)
        done.wait(60)


def backlog(port, udp_port, done):
    """Opens 1,000 connections at once to a listener with backlog 5, holds them, closes them."""
    connect(port).close()  # the listener is up
    peers = []
    for _ in range(1000):
        peer = socket.socket()
        peer.setblocking(False)
        peer.connect_ex(("127.0.0.1", port))
        peers.append(peer)
    done.wait(60)
    for peer in peers:
        peer.close()


# Every scenario starts so: the learner's own socket, and a listener for the peer.
PRELUDE = """
    keep = socket udp
    bind keep 127.0.0.1:0
    srv = socket tcp
    setsockopt srv reuseaddr 1
    bind srv 127.0.0.1:{port}
    listen srv 5
    """

SCENARIOS = {
    "flood": (flood, """
        conn = accept srv
        recv conn 16777216 waitall = 16777216
        recv conn 16777216 waitall = 16777216
        recv conn 16777216 waitall = 16777216
        recv conn 16777216 waitall = 16777216
        recv conn 16777216 waitall = 16777216
        recv conn 16777216 waitall = 16777216
        recv conn 4194304 waitall = 4194304
        nonblock conn on
        send conn --size 16777216
        send conn --size 16777216
        ls --wide
        inspect conn
        timeline
        close conn
        ls --wide
        """, [r"recv\(5, .*\) = 4194304", r"send\(5, .*16777216, 0\) = \d+", r"Only \d+ of 16777216 bytes were taken",
              r"bytes_received 104857600"], 30),
    "reset": (reset, """
        conn = accept srv
        send conn --size 16777216
        send conn --size 16777216
        send conn more
        recv conn
        recv conn
        ls --wide
        inspect conn
        timeline
        close conn
        ls --wide
        """, [r"= -1 (ECONNRESET|EPIPE)", r"reset"], 30),
    "escapes": (escapes, """
        u = socket udp
        bind u 127.0.0.1:{port1}
        conn = accept srv
        recv conn 100
        recv conn 65536 waitall
        recvfrom u
        recvfrom u 8
        recv u peek
        ls --wide
        inspect conn
        timeline
        trace
        """, [r"\\x1b\]0;owned", r"\\xff", r"recvfrom\(5, "], 2),
    "backlog": (backlog, """
        a = accept srv
        close a
        recv keep  # nothing comes: gives up after 2 s (--timeout), while the peer opens its 1,000 connections
        ls --wide
        c1 = accept srv
        c2 = accept srv
        c3 = accept srv
        c4 = accept srv
        c5 = accept srv
        c6 = accept srv
        c7 = accept srv
        inspect srv
        ls --wide
        """, [r"listen\(4, 5\) = 0", r"c6 = accept srv\naccept\(4, [\s\S]*?\) = 10",
                   r"4\s+srv\s+ipv4\s+tcp\s+LISTEN\s+\S+\s+-\s+6\s+5"], 2),
}

# What never reaches the terminal: C0 controls but newline, DEL, C1 controls, bidi overrides.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")


def unsafe(output):
    """What in a transcript could reach a terminal raw: invalid UTF-8, control bytes."""
    text = output.decode("utf-8", errors="replace")
    if b"\xef\xbf\xbd" in output or output != text.encode():
        return ["output is not valid UTF-8"]
    raw = RAW.search(text)
    if raw:
        return [f"raw byte {ord(raw.group()):#x} in the output, after {text[raw.start() - 40:raw.start()]!r}"]
    return []


def high_water_mark(process):
    """Waits for the process; returns its peak resident memory in MB (VmHWM, read every 5 ms:
    rusage would count the forked python3 before exec)."""
    peak = 0
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
    return peak / 1024


def run(shell, name):
    peer, script, expected, timeout = SCENARIOS[name]
    port = free_port()
    udp_port = free_port(socket.SOCK_DGRAM)  # for the escapes scenario
    done = threading.Event()
    failure = []

    def guarded():
        try:
            peer(port, udp_port, done)
        except Exception as error:  # the peer's own trouble is a finding too
            failure.append(f"peer: {error!r}")

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name + ".ss")
        lines = [line.strip() for line in (PRELUDE + script).strip().splitlines()]
        with open(path, "w") as file:
            file.write("\n".join(lines).format(port=port, port1=udp_port) + "\n")
        out_path, err_path = os.path.join(folder, "out"), os.path.join(folder, "err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            start = time.monotonic()
            process = subprocess.Popen([shell, "run", "--keep-going", "--timeout", str(timeout), path],
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=folder)
            thread = threading.Thread(target=guarded, daemon=True)
            thread.start()
            killer = threading.Timer(120, process.kill)  # a hang is a failure, not a stuck run
            killer.start()
            peak = high_water_mark(process)
            killer.cancel()
            seconds = time.monotonic() - start
        done.set()
        thread.join(10)
        output = open(out_path, "rb").read()
    text = output.decode("utf-8", errors="replace")
    if process.returncode not in (0, 1):
        failure.append(f"exit status {process.returncode} (a negative status is a signal)")
    failure += unsafe(output)
    final = text[text.rfind("sockshell> ls"):]
    if not re.search(r"\n3\s+keep\s+ipv4\s+udp", final):
        failure.append("the learner's socket `keep` is missing from the final ls")
    for pattern in expected:
        if not re.search(pattern, text):
            failure.append(f"expected /{pattern}/ in the output")
    verdict = "ok" if not failure else "FAILED: " + "; ".join(failure)
    print(f"{name:8} {seconds:6.2f} s  peak {peak:5.1f} MB  exit {process.returncode}  {verdict}", flush=True)
    if failure and os.environ.get("HOSTILE_VERBOSE"):
        print(text[-20000:])
    return not failure


def main():
    import resource  # the backlog peer holds 1,000 sockets
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    if sys.argv[1] == "--check":
        problems = unsafe(open(sys.argv[2], "rb").read())
        print("\n".join(problems) or f"{sys.argv[2]}: valid UTF-8, no raw control byte")
        sys.exit(1 if problems else 0)
    shell = os.path.abspath(sys.argv[1])
    names = sys.argv[2:] or list(SCENARIOS)
    results = [run(shell, name) for name in names]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
