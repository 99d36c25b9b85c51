#!/usr/bin/env python3
"""Writes N random and mutated sockshell lines to standard output (make fuzz).

usage: random-lines.py N [SEED] [CORPUS-FILE...]

A third of the lines are valid commands with random arguments, a third are random words of the
command language, and a third are mutations (bytes flipped, cut, doubled, inserted, including
control bytes and invalid UTF-8) of the lines in the corpus files (the README and the lessons).
The same N and SEED give the same lines. `quit` and `exit` are left out: they would end the run.
"""
import random
import re
import sys

WORDS = [
    "socket", "tcp", "udp", "ipv4", "ipv6", "unix", "bind", "listen", "accept", "connect", "send",
    "recv", "sendto", "recvfrom", "close", "shutdown", "getsockopt", "setsockopt", "nonblock",
    "poll", "ls", "--json", "--all", "inspect", "addr", "timeline", "tcp", "trace", "help",
    "explain", "save", "export", "lessons", "lesson", "hint", "check", "history", "=", "-1", "0", "1", "3",
    "4", "65535", "99999999999999999999", "a", "b", "c", "srv", "127.0.0.1:0", "[::1]:0", "*:0",
    ":0", "@x", "/tmp/x.sock", "unix:n", "localhost:0", "\"hi\\n\"", "'x'", "hex:00ff", "hex:zz",
    "--size", "--file", "/dev/null", "/etc/hostname", "10", "peek", "dontwait", "waitall",
    "reuseaddr", "rcvbuf", "sndbuf", "linger", "nodelay", "keepalive", "rd", "wr", "rdwr",
    "\"\\x1b[2J\"", "\"\\u{202e}\"", "#", "\x1b", "\xc2\x9b", "\xff", "é", "✓", "\"", "\\", "[",
    "]:", ":", "EINTR", "ECONNREFUSED", "on", "off", "in", "out",
]
NAMES = ["a", "b", "c", "d", "srv", "conn", "u", "v", "3", "4", "5", "6", "7"]
ADDRESSES = ["127.0.0.1:0", "[::1]:0", "*:0", ":0", "@sockshell-fuzz", "srv", "a", "b",
             "127.0.0.1:1", "127.0.0.1:9", "localhost:0", "./fuzz.sock", "[::1]:1"]


def valid(rng):
    name, other = rng.choice(NAMES), rng.choice(NAMES)
    data = rng.choice(["x", "\"hello\\n\"", "hex:00ff10", "--size 100", "--size 70000", "'two words'"])
    flags = rng.choice(["", " peek", " dontwait", " dontwait peek", " waitall"])
    forms = [
        f"{name} = socket {rng.choice(['tcp', 'udp', 'ipv6 tcp', 'ipv6 udp', 'unix tcp', 'unix udp'])}",
        f"bind {name} {rng.choice(ADDRESSES)}",
        f"listen {name} {rng.choice(['', '0', '1', '5', '128'])}",
        f"{rng.choice(['', 'conn = '])}accept {name}",
        f"connect {name} {rng.choice(ADDRESSES)}",
        f"send {name} {data}{flags.replace(' waitall', '')}",
        f"recv {name} {rng.choice(['', '1', '100', '65536'])}{flags}",
        f"sendto {name} {rng.choice(ADDRESSES)} {data}",
        f"recvfrom {name}{flags}",
        f"close {name}",
        f"shutdown {name} {rng.choice(['rd', 'wr', 'rdwr'])}",
        f"nonblock {name} {rng.choice(['on', 'off'])}",
        f"setsockopt {name} {rng.choice(['reuseaddr 1', 'rcvbuf 4096', 'linger 0', 'nodelay 1'])}",
        f"getsockopt {name} {rng.choice(['reuseaddr', 'rcvbuf', 'sndbuf', 'error', 'type'])}",
        f"poll {name} {rng.choice(['in', 'out', 'in out'])} {rng.choice(['0', '10'])}",
        rng.choice(["ls", "ls --json", "ls --all", "timeline", "trace", "help", "help send"]),
        f"inspect {name}", f"addr {name}", f"tcp {name}", f"explain {rng.choice(['EPIPE', 'EINTR', 'x'])}",
        f"save fuzz-{rng.randrange(3)}.ss", f"export {rng.choice(['c', 'python'])} fuzz-{rng.randrange(3)}.{rng.choice(['c', 'py'])}",
    ]
    line = rng.choice(forms)
    if rng.random() < 0.2:
        line += rng.choice([" = 0", " = -1 EAGAIN", " = 5", " = -1 ECONNREFUSED"])
    return line.encode()


def mutate(rng, line):
    data = bytearray(line)
    for _ in range(rng.randrange(1, 4)):
        choice = rng.randrange(6)
        position = rng.randrange(len(data) + 1)
        if choice == 0 and data:  # flip a bit
            data[min(position, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:  # cut
            data = data[:position]
        elif choice == 2:  # double a piece
            data[position:position] = data[position:position + rng.randrange(1, 20)]
        elif choice == 3:  # insert a control byte, a C1 control or invalid UTF-8
            data[position:position] = rng.choice([b"\x00", b"\x1b", b"\x1b[31m", b"\r", b"\x07", b"\x9b",
                                                  b"\xff\xfe", b"\xc3", b"\xe2\x80\xae", b"\t", b"\\"])
        elif choice == 4:  # insert a word
            data[position:position] = (" " + rng.choice(WORDS) + " ").encode()
        else:  # a long run
            data[position:position] = bytes([rng.randrange(32, 127)]) * rng.randrange(1, 300)
    return bytes(data).replace(b"\n", b" ")


def main():
    count = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    corpus = []
    for path in sys.argv[3:]:
        with open(path, "rb") as source:
            for raw in source:
                raw = raw.strip()
                if raw and re.match(rb"^[a-z]", raw):
                    corpus.append(raw)
    corpus = corpus or [b"socket tcp"]
    out = sys.stdout.buffer
    for _ in range(count):
        kind = rng.randrange(3)
        if kind == 0:
            line = valid(rng)
        elif kind == 1:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 8))).encode()
        else:
            line = mutate(rng, rng.choice(corpus) if rng.random() < 0.5 else valid(rng))
        out.write(line + b"\n")


if __name__ == "__main__":
    main()
