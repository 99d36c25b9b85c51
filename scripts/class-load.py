#!/usr/bin/env python3
"""A class of 200 students on loopback, for the benchmark (make bench).

    class-load.py SOCKSHELL [STUDENTS] [COMMANDS]

The instructor's shell runs at a real pseudo-terminal; the students are raw protocol clients
spread over four processes. Prints, as JSON: the time from the instructor's Enter to the command
reaching the last student (p50, p99, max over COMMANDS commands), the instructor's memory per
joined student (VmRSS before and after they joined), and its CPU time and wake-ups (voluntary
context switches) over 10 idle seconds with everyone joined.
"""
import json
import os
import pty
import re
import select
import socket
import sys
import threading
import time

BINARY = sys.argv[1]
STUDENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
COMMANDS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
WORKERS = 4

pid, master = pty.fork()
if pid == 0:
    os.environ["SOCKSHELL_HOME"] = f"/tmp/class-load-{os.getpid()}"
    os.environ["NO_COLOR"] = "1"
    os.execv(BINARY, [BINARY])

screen = bytearray()
lock = threading.Lock()


def drain():
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        with lock:
            screen.extend(data)


threading.Thread(target=drain, daemon=True).start()


def wait_for(pattern, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with lock:
            found = re.search(pattern, screen.decode(errors="replace"))
        if found:
            return found
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {pattern!r}: {screen[-500:]!r}")


def status(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


wait_for(r"sockshell> ")
time.sleep(0.3)
os.write(master, b"class serve 127.0.0.1:0\r")
host, port, code = wait_for(r"sockshell --join (\S+):(\d+) ([A-Z0-9]{4})").groups()
time.sleep(0.3)
rss_before = status("VmRSS")


def worker(count, index, results):
    """count students in one process: join, then note when each command's seq arrives."""
    sockets = []
    for n in range(count):
        s = socket.create_connection((host, int(port)))
        hello = {"type": "hello", "code": code, "name": f"w{index}s{n}", "host": "load"}
        s.sendall(json.dumps(hello).encode() + b"\n")
        sockets.append(s)
    buffers = {s.fileno(): b"" for s in sockets}
    arrivals = {}
    os.write(results, json.dumps({"joined": count}).encode() + b"\n")
    poller = select.poll()
    for s in sockets:
        poller.register(s, select.POLLIN)
    deadline = time.time() + 600
    seen_last = 0
    while time.time() < deadline and seen_last < count:
        for fd, _ in poller.poll(1000):
            data = os.read(fd, 65536)
            now = time.monotonic()
            if not data:
                poller.unregister(fd)
                continue
            buffers[fd] += data
            *lines, buffers[fd] = buffers[fd].split(b"\n")
            for line in lines:
                message = json.loads(line)
                if message.get("type") == "command":
                    seq = message["seq"]
                    arrivals[seq] = max(arrivals.get(seq, 0), now)
                    if seq == COMMANDS:
                        seen_last += 1
    os.write(results, json.dumps({"arrivals": arrivals}).encode() + b"\n")
    os._exit(0)


read_end, write_end = os.pipe()
children = []
for index in range(WORKERS):
    child = os.fork()
    if child == 0:
        os.close(read_end)
        try:
            worker(STUDENTS // WORKERS, index, write_end)
        except Exception as error:  # noqa: BLE001 - said to the parent, which stops
            os.write(write_end, json.dumps({"error": f"worker {index}: {error!r}"}).encode() + b"\n")
            os._exit(1)
    children.append(child)
os.close(write_end)
reader = os.fdopen(read_end)
for _ in range(WORKERS):
    report = json.loads(reader.readline())
    if "error" in report:
        os.kill(pid, 9)
        raise SystemExit(report["error"])
# Every student welcomed: the roster says so.
deadline = time.time() + 30
while time.time() < deadline:
    os.write(master, b"class\r")
    try:
        wait_for(rf"code {code}: {STUDENTS} students here", seconds=1)
        break
    except SystemExit:
        continue
time.sleep(1)
rss_after = status("VmRSS")

# Idle: ten seconds with the class joined and nothing typed.
cpu0, switches0 = cpu_seconds(), status("voluntary_ctxt_switches")
time.sleep(10)
cpu1, switches1 = cpu_seconds(), status("voluntary_ctxt_switches")

# Commands: the instructor's Enter, then when each reached the last student.
sent = {}
with lock:
    screen.clear()
for seq in range(1, COMMANDS + 1):
    os.write(master, b"ls")
    time.sleep(0.05)
    sent[seq] = time.monotonic()
    os.write(master, b"\r")
    time.sleep(0.15)
latest = {}
for _ in range(WORKERS):
    report = json.loads(reader.readline())
    if "error" in report:
        os.kill(pid, 9)
        raise SystemExit(report["error"])
    for seq, at in report["arrivals"].items():
        latest[int(seq)] = max(latest.get(int(seq), 0), at)
# The class's command numbers count from the first forwarded line: the `class` lines typed above
# are not forwarded (they change the shell), so the first `ls` is 1.
delays = sorted((latest[seq] - sent[seq]) * 1000 for seq in sent if seq in latest)
os.kill(pid, 9)


def percentile(values, p):
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


print(
    json.dumps(
        {
            "students": STUDENTS,
            "commands": COMMANDS,
            "reached": len(delays),
            "last_student_ms_p50": round(percentile(delays, 50), 2),
            "last_student_ms_p99": round(percentile(delays, 99), 2),
            "last_student_ms_max": round(delays[-1], 2),
            "rss_kb_before": rss_before,
            "rss_kb_after": rss_after,
            "kb_per_student": round((rss_after - rss_before) / STUDENTS, 2),
            "idle_cpu_seconds_10s": round(cpu1 - cpu0, 3),
            "idle_wakeups_10s": switches1 - switches0,
        }
    )
)
