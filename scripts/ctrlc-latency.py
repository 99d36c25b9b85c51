#!/usr/bin/env python3
# Ctrl-C latency at a prompt whose lesson partner is waiting: time from the key to the "^C" echo.
import os, pty, time, select, sys, statistics
binary, folder = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.environ.update({"SOCKSHELL_HOME": folder + "/home", "NO_COLOR": "1", "TERM": "xterm"})
    os.execv(binary, [binary, "lesson", "waiting", "--lessons", folder])
def read_until(text, timeout=5):
    buf = b""; end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.01)
        if r:
            buf += os.read(fd, 4096)
            if text in buf: return buf
    return buf
read_until(b"sockshell> ")
time.sleep(0.3)
times = []
for i in range(40):
    os.write(fd, b"abc")
    read_until(b"abc")
    time.sleep(0.037 * (i % 5) + 0.01)   # at different points of the partner's 50 ms turns
    start = time.monotonic()
    os.write(fd, b"\x03")
    read_until(b"^C")
    times.append((time.monotonic() - start) * 1000)
    read_until(b"sockshell> ")
os.kill(pid, 9)
times.sort()
print("Ctrl-C to ^C, %d presses: median %.2f ms, 95th %.2f ms, max %.2f ms" % (len(times), statistics.median(times), times[int(len(times)*0.95)-1], times[-1]))
