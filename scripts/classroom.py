#!/usr/bin/env python3
"""A class as an instructor and three students hold it, each shell at a real terminal (tmux with
a private socket), each student on a host of their own: network namespaces joined by a bridge
(mode netns, as root inside `unshare --net --mount`), or all on loopback (mode loopback).

    classroom.py netns|loopback SOCKSHELL

Prints one line per check ("ok ..." or "FAILED ...") and exits 1 when one failed. Every wait is
bounded; the namespaces, the tmux server and the peers it starts are removed at the end.
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

MODE, BINARY = sys.argv[1], os.path.abspath(sys.argv[2])
TAG = f"cls{os.getpid() % 100000}"
TMUX = ["tmux", "-L", f"classroom-{os.getpid()}", "-f", "/dev/null"]
HOME = tempfile.mkdtemp(prefix="classroom-")
failures = []
started = []


def check(ok, what, detail=""):
    print(("ok " if ok else "FAILED ") + what + ("" if ok or not detail else f"\n--- {detail[-1500:]}"), flush=True)
    if not ok:
        failures.append(what)


def sh(*command, check_=True):
    return subprocess.run(command, check=check_, capture_output=True, text=True)


# The hosts: name -> (address, command prefix).
hosts = {}
if MODE == "netns":
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "br" + TAG, "type", "bridge")
    sh("ip", "link", "set", "br" + TAG, "up")
    for index, name in enumerate(["inst", "s1", "s2", "s3"]):
        ns = f"{TAG}{name}"
        sh("ip", "netns", "add", ns)
        outside, inside = f"v{TAG}{index}", f"p{TAG}{index}"
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        sh("ip", "link", "set", inside, "netns", ns)
        sh("ip", "link", "set", outside, "master", "br" + TAG, "up")
        address = f"10.77.0.{1 if name == 'inst' else 10 + index}"
        run = ["ip", "netns", "exec", ns]
        sh(*run, "ip", "addr", "add", address + "/24", "dev", inside)
        sh(*run, "ip", "link", "set", inside, "up")
        sh(*run, "ip", "link", "set", "lo", "up")
        hosts[name] = (address, run)
else:
    for name in ["inst", "s1", "s2", "s3"]:
        hosts[name] = ("127.0.0.1", [])


# A server first, with a long history for the panes made after it (a pane keeps the limit it was
# made with): offsets into a pane's text stay valid for the whole class.
subprocess.run(TMUX + ["new-session", "-d", "-s", "keeper", "sleep 600"], check=True)
subprocess.run(TMUX + ["set-option", "-g", "history-limit", "50000"], check=True)


def start(name, arguments, user):
    address, prefix = hosts[name]
    env = f"env SOCKSHELL_HOME={HOME}/{name} USER={user} NO_COLOR=1"
    command = " ".join(prefix + [env, BINARY] + arguments) + "; sleep 600"
    subprocess.run(TMUX + ["new-session", "-d", "-s", name, "-x", "80", "-y", "50", command], check=True)


def screen(name):
    result = subprocess.run(TMUX + ["capture-pane", "-p", "-J", "-S", "-50000", "-t", name], capture_output=True, text=True)
    return result.stdout.rstrip() + "\n"


def wait_for(name, pattern, seconds=10, after=0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        text = screen(name)[after:]
        # The shell wraps its explanations to the pane: a sentence may span lines.
        if re.search(pattern, text, re.MULTILINE) or re.search(pattern, re.sub(r"\s+", " ", text)):
            return True
        time.sleep(0.1)
    return False


def mark(name):
    """Where the pane's text ends now, before its last line (the prompt, drawn again later)."""
    text = screen(name).rstrip()
    return max(0, text.rfind("\n"))


def type_line(name, text, clear=True):
    keys = ["C-u"] if clear else []
    subprocess.run(TMUX + ["send-keys", "-t", name] + keys, check=True)
    subprocess.run(TMUX + ["send-keys", "-t", name, "-l", text], check=True)
    subprocess.run(TMUX + ["send-keys", "-t", name, "Enter"], check=True)


def enter(name):
    subprocess.run(TMUX + ["send-keys", "-t", name, "Enter"], check=True)


def in_host(name, code):
    """Runs python code on a host (a student's namespace) and returns its stdout."""
    return subprocess.Popen(hosts[name][1] + [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


try:
    # 1. The instructor opens the class.
    start("inst", [], "teacher")
    check(wait_for("inst", r"sockshell>"), "the instructor's shell starts")
    serve_at = "0.0.0.0:0" if MODE == "netns" else "127.0.0.1:0"
    type_line("inst", f"class serve {serve_at}")
    check(wait_for("inst", r"sockshell --join \S+ [A-Z0-9]{4}"), "class serve prints the line students type", screen("inst"))
    join_address, code = re.search(r"sockshell --join (\S+) ([A-Z0-9]{4})", screen("inst")).groups()
    class_port = int(join_address.rsplit(":", 1)[1])
    if MODE == "netns":
        check(join_address.startswith("10.77.0.1:"), "the join line names an address students can reach", join_address)

    # 2. Hostile peers, from the third student's host: a wrong code, an oversized message, a line
    # that is not JSON, and a student who joins and never reads.
    host, port = join_address.rsplit(":", 1)
    probe = f"""
import socket, json, time
def talk(data):
    s = socket.create_connection(({host!r}, {port}), timeout=5)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk: return got, "closed"
            got += chunk
    except socket.timeout:
        return got, "open"
wrong = talk(json.dumps({{"type": "hello", "code": "ZZZZ", "name": "mallory"}}).encode() + b"\\n")
big = talk(b"a" * 20000)
garbage = talk(b"\\x00\\xff not json\\n")
print(json.dumps({{"wrong": [wrong[0].decode(errors="replace"), wrong[1]], "big": big[1], "garbage": garbage[1]}}), flush=True)
"""
    hostile = in_host("s3", probe)
    out, _ = hostile.communicate(timeout=30)
    found = json.loads(out)
    check('"refused"' in found["wrong"][0] and found["wrong"][1] == "closed", "a wrong code is refused and the connection closed", out)
    check(found["big"] == "closed", "a message over the size limit closes that connection", out)
    check(found["garbage"] == "closed", "a line that is not a class message closes that connection", out)
    never_reads = in_host(
        "s3",
        f"""
import socket, json, time
s = socket.create_connection(({host!r}, {port}))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(json.dumps({{"type": "hello", "code": {code!r}, "name": "sleepy"}}).encode() + b"\\n")
print("joined", flush=True)
time.sleep(120)
""",
    )
    started.append(never_reads)
    never_reads.stdout.readline()

    # 3. Two students join; bob follows.
    start("s1", ["--join", join_address, code], "alice")
    start("s2", ["--join", join_address, code, "--name", "bob"], "bob")
    check(wait_for("s1", r"joined the class as alice"), "alice joins", screen("s1"))
    check(wait_for("s2", r"joined the class as bob"), "bob joins (--name)", screen("s2"))
    type_line("s2", "follow on")
    check(wait_for("s2", r"Follow is on"), "follow on")
    check(wait_for("inst", r"alice joined from"), "the instructor is told who joined", screen("inst"))

    # 4. Type-along and follow.
    at1, at2 = mark("s1"), mark("s2")
    type_line("inst", "srv = socket tcp")
    check(wait_for("s1", r"instructor> srv = socket tcp", after=at1), "alice sees the instructor's command", screen("s1"))
    check(wait_for("s1", r"socket\(AF_INET, SOCK_STREAM, IPPROTO_TCP\) = 3", after=at1), "... with what the instructor saw")
    check(wait_for("s1", r"sockshell> srv = socket tcp\s*$", after=at1), "... and it waits ready at her prompt", screen("s1")[-600:])
    check(wait_for("s2", r"srv = socket tcp   \(from the instructor\)", after=at2), "bob's shell runs it at once (follow)", screen("s2"))
    at1 = mark("s1")
    enter("s1")
    check(wait_for("s1", r"\nsocket\(AF_INET, SOCK_STREAM, IPPROTO_TCP\) = 3\s+srv", after=at1), "Enter runs it on alice's kernel", screen("s1")[-800:])

    at1, at2 = mark("s1"), mark("s2")
    type_line("inst", "bind srv 0.0.0.0:0")
    check(wait_for("s2", r"a bind to every address, so it waits for your Enter", after=at2), "follow does not bind every address on the instructor's word", screen("s2")[-800:])
    time.sleep(0.5)
    check(not re.search(r"^bind\(3", screen("s2")[at2:], re.MULTILINE), "... nothing was bound before bob's Enter")
    at2 = mark("s2")
    enter("s2")
    check(wait_for("s2", r"^bind\(3,[\s\S]*?\) = 0", after=at2), "bob's own Enter binds it", screen("s2")[-800:])
    check(wait_for("s1", r"sockshell> bind srv 0.0.0.0:0\s*$", after=at1), "alice has the bind ready")
    enter("s1")
    at1, at2 = mark("s1"), mark("s2")
    type_line("inst", "listen srv")
    check(wait_for("s2", r"listen srv   \(from the instructor\)", after=at2), "bob's follow goes on after his Enter", screen("s2")[-800:])
    # The other ways to every address wait for his Enter too: a listen on a socket not bound,
    # and the lines after it wait behind it.
    at2 = mark("s2")
    type_line("inst", "w = socket tcp")
    type_line("inst", "listen w")
    type_line("inst", "wu = socket udp")
    check(wait_for("s2", r"listen on a socket not bound binds it to every address", after=at2), "follow holds a listen on a socket not bound", screen("s2")[-800:])
    time.sleep(0.5)
    check("wu = socket udp   (from the instructor)" not in screen("s2")[at2:], "... and the instructor's next line waits behind it", screen("s2")[at2:])
    at2 = mark("s2")
    enter("s2")
    check(wait_for("s2", r"wu = socket udp   \(from the instructor\)", after=at2), "... and runs after bob's Enter", screen("s2")[-800:])
    # Alice drops the two lines she does not want (next), and keeps listen srv.
    check(wait_for("s1", r"sockshell> listen srv\s*$", after=at1), "alice has listen ready", screen("s1")[-600:])
    enter("s1")
    check(wait_for("s1", r"listen\(3, 5\) = 0", after=at1), "alice listens")
    for line in ["w = socket tcp", "listen w", "wu = socket udp"]:
        at1 = mark("s1")
        check(wait_for("s1", r"sockshell> " + re.escape(line) + r"\s*$", after=at1 - 200), f"alice has {line} ready", screen("s1")[-600:])
        type_line("s1", "next")
        check(wait_for("s1", r"Skipped the instructor's '" + re.escape(line), after=at1), f"next drops {line}", screen("s1")[-600:])

    # 5. A neighbour's server: alice shares hers, bob connects to it.
    at1, at2 = mark("s1"), mark("s2")
    type_line("s1", "class share srv")
    check(wait_for("s1", r"Shared with the class: (\S+):(\d+)", after=at1), "alice shares her listener", screen("s1")[-600:])
    shared = re.search(r"Shared with the class: (\S+) \(class peers", screen("s1")[at1:]).group(1)
    if MODE == "netns":
        check(shared.startswith("10.77.0.11:"), "her shared address is her host's, not 0.0.0.0", shared)
    at0 = mark("inst")
    type_line("inst", "class peers")
    check(wait_for("inst", r"alice\s+" + re.escape(shared), after=at0), "the instructor's class peers lists it", screen("inst")[-600:])
    type_line("s2", "class peers")
    check(wait_for("s2", r"alice\s+" + re.escape(shared), after=at2), "bob's class peers lists alice's server", screen("s2")[-600:])
    at2 = mark("s2")
    type_line("s2", "n = socket tcp")
    type_line("s2", f"connect n {shared} = 0")
    check(wait_for("s2", r"\(ESTABLISHED\)", after=at2), "bob connects to alice's server on her machine", screen("s2")[-800:])
    at1 = mark("s1")
    type_line("s1", "peer = accept srv")
    check(wait_for("s1", r"^accept\(3,[\s\S]*?= \d+ peer", after=at1), "alice accepts bob's connection", screen("s1")[-800:])
    if MODE == "netns":
        check("10.77.0.12" in screen("s1")[at1:], "... which came from bob's host", screen("s1")[at1:])

    # 6. A late joiner catches up with class replay.
    start("s3", ["--join", join_address, code, "--name", "carol"], "carol")
    check(wait_for("s3", r"\d+ commands ran before you joined: class replay runs them"), "carol is told what she missed", screen("s3"))
    at3 = mark("s3")
    type_line("s3", "class replay")
    check(wait_for("s3", r"srv = socket tcp   \(from the instructor\)", after=at3), "class replay runs the first command", screen("s3")[-800:])
    check(wait_for("s3", r"a bind to every address, so it waits for your Enter", after=at3), "... and stops at the bind to every address")
    enter("s3")
    check(wait_for("s3", r"listen\(3, 5\) = 0", after=at3), "... then runs the rest after her Enter", screen("s3")[-800:])

    # 7. Hands, a failed command, and the roster.
    type_line("s3", "hand")
    check(wait_for("inst", r"carol raised a hand"), "the instructor hears of carol's hand", screen("inst")[-600:])
    type_line("s1", "recv 99")
    time.sleep(0.5)
    at0 = mark("inst")
    type_line("inst", "class")
    check(wait_for("inst", r"Hands up: carol", after=at0), "the roster lists raised hands", screen("inst")[at0:])
    roster = screen("inst")[at0:]
    alice_row = next((line for line in roster.splitlines() if line.startswith("alice")), "")
    check("FAILED" in alice_row and "recv 99" in alice_row, "the roster shows alice's last command and that it failed", roster)
    if MODE == "netns":
        check("10.77.0.11" in alice_row, "... and her host's address", alice_row)
    check("sleepy" in roster, "the student who never reads is on the roster", roster)
    at0 = mark("inst")
    type_line("inst", "class --json")
    check(wait_for("inst", r"^\]\s*\nsockshell>", after=at0), "class --json prints", screen("inst")[at0:])
    text = screen("inst")[at0:]
    body = text[text.index("["): text.rindex("]") + 1]
    try:
        rows = json.loads(body)
        carol = next(row for row in rows if row["name"] == "carol")
        check(carol["hand"] is True and carol["connected"] is True, "class --json has carol's raised hand")
    except Exception as error:  # noqa: BLE001
        check(False, "class --json is JSON", f"{error}: {body}")

    # 8. A student who drops reconnects, and gets what follows.
    kill = ["ss", "-K", "dst", hosts["inst"][0], "dport", "=", f":{class_port}"]
    sh(*(hosts["s1"][1] + kill), check_=False)
    check(wait_for("s1", r"lost the class"), "alice's shell sees the class connection lost", screen("s1")[-600:])
    check(wait_for("inst", r"alice is back", seconds=15), "alice reconnects by herself", screen("inst")[-600:])
    at1 = mark("s1")
    type_line("inst", "u = socket udp")
    check(wait_for("s1", r"instructor> u = socket udp", after=at1), "after reconnecting, the instructor's commands reach her", screen("s1")[-600:])

    # 9. The student who never reads holds nobody up: a burst of commands, each shown at once
    # to those who read.
    at2 = mark("s2")
    for index in range(60):
        subprocess.run(TMUX + ["send-keys", "-t", "inst", "-l", "help"], check=True)
        subprocess.run(TMUX + ["send-keys", "-t", "inst", "Enter"], check=True)
    type_line("inst", "last = socket udp")
    check(wait_for("s2", r"last = socket udp   \(from the instructor\)", seconds=20, after=at2), "60 long commands later, bob still follows", screen("s2")[-400:])
    at0 = mark("inst")
    type_line("inst", "class")
    check(wait_for("inst", r"Class at .*code", after=at0), "the instructor's shell still answers at once")
finally:
    for process in started:
        process.kill()
    # The panes' processes are ended first, each pane's process group (tmux's SIGHUP does not
    # reach a pane that inherited SIGHUP blocked, as under a test runner), then the server.
    panes = subprocess.run(TMUX + ["list-panes", "-a", "-F", "#{pane_pid}"], capture_output=True, text=True)
    for pid in panes.stdout.split():
        try:
            os.killpg(int(pid), 9)
        except (ProcessLookupError, PermissionError, ValueError):
            pass
    subprocess.run(TMUX + ["kill-server"], capture_output=True)
    if MODE == "netns":
        for name in ["inst", "s1", "s2", "s3"]:
            subprocess.run(["ip", "netns", "del", f"{TAG}{name}"], capture_output=True)
        subprocess.run(["ip", "link", "del", "br" + TAG], capture_output=True)
    subprocess.run(["rm", "-rf", HOME])

print(f"{len(failures)} checks failed" if failures else "every check held")
sys.exit(1 if failures else 0)
