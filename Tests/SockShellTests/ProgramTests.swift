import Foundation
import SocketLayer
import Testing

@testable import SockShellKit

/// The test programs (Tests/Programs): a correct echo server in C and in Python, and wrong ones.
let programsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Programs").path

/// Lesson 16 of the shipped lessons.
func yourServerLesson() throws -> Lesson {
  let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Lessons").path
  return try LessonLoader.load(path: folder + "/16-your-server.md")
}

/// Whether any process is left in process group `group` (the program and what it started).
func groupIsGone(_ group: Int32) -> Bool {
  // kill(-group, 0) fails with ESRCH once no process of the group is left.
  for _ in 0..<50 {
    if kill(-group, 0) != 0 && errno == ESRCH { return true }
    usleep(20_000)
  }
  return false
}

@Suite(.serialized) struct ProgramVerificationTests {
  /// Tries `fixture` (a file of Tests/Programs) as the learner's program of lesson 16's step
  /// (`step`: 0 the C one, 1 the Python one): the report, the failing checks and the explanations.
  func attempt(_ fixture: String, step: Int) throws -> (ProgramReport, [(String, String)], [String]) {
    let lesson = try yourServerLesson()
    let session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 3))
    let run = LessonRun(lesson: lesson, step: step, session: session, verbose: false)
    session.host.lessonRun = run
    defer { run.end() }
    run.begin()
    let folder = temporary("program")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let name = step == 0 ? "echo_server.c" : "echo_server.py"
    try FileManager.default.copyItem(atPath: programsFolder + "/" + fixture, toPath: folder + "/" + name)
    let report = try #require(run.tryProgram(in: folder))
    return (report, run.failures(), report.explanations)
  }

  /// A server that answers each client and closes at once, between two readings of its sockets,
  /// was seen holding no connection: it accepted every client all the same, and the check says so
  /// (a client that got bytes back was accepted).
  @Test func aServerThatClosesAtOnceIsCountedByTheClientsItAnswered() throws {
    guard which("python3") != nil else {
      print("skipped: needs python3")
      return
    }
    let folder = temporary("quick")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try FileManager.default.copyItem(atPath: programsFolder + "/quick_close.py", toPath: folder + "/s.py")
    let (spec, problems) = ProgramSpec.parse(
      [LessonLine(text: "file: s.py", line: 1), LessonLine(text: "clients: 10", line: 2)], at: 1)
    #expect(problems.isEmpty)
    let report = ProgramVerifier.verify(
      try #require(spec), folder: folder, port: LessonRun.freePort(), loop: EventLoop(), interrupt: InterruptWatch())
    // However many were answered under this machine's load, each counts as accepted.
    #expect(report.answered >= 1, "\(report.summary)")
    #expect(
      Check.ProgramClaim.accepted(.greaterOrEqual, report.answered).evaluate(report).holds, "\(report.summary)")
  }

  @Test(arguments: [("echo_server.c", 0), ("fork_server.c", 0), ("prefork_server.c", 0), ("echo_server.py", 1)])
  func aCorrectServerPasses(fixture: String, step: Int) throws {
    guard which("cc") != nil, which("python3") != nil else {
      print("skipped: needs cc and python3")
      return
    }
    let (report, failures, _) = try attempt(fixture, step: step)
    #expect(failures.isEmpty, "\(failures) \(report.summary)")
    #expect(report.served == 12, "ten at once, the slow reader, the one after the reset")
    // Ten at once at least: a reading may also catch the slow reader's connection before the
    // last of the ten has gone (eleven, once, under a fresh clone's load).
    #expect(report.mostHeld >= 10, "\(report.summary)")
    #expect(report.accepted >= 10)
    #expect(report.slow?.received.count == 131072)
    #expect(report.stopped == "stopped with SIGTERM")
    #expect(report.listenedAfter != nil)
  }

  /// Each wrong program fails, with the explanation that names its bug from what the kernel showed.
  @Test(arguments: [
    ("one_at_a_time.c", 0, "accepts one client at a time", "program concurrent >= 10"),
    ("wrong_port.c", 0, "but the lesson's clients connect to 127.0.0.1:", "clients served"),
    ("never_accepts.c", 0, "it listens but does not accept", "program accepted >= 10"),
    ("no_close.py", 1, "in CLOSE_WAIT after the clients closed", "program sockets state=CLOSE_WAIT = 0"),
    ("crash_on_reset.py", 1, "when a client reset its connection", "program running"),
  ])
  func aWrongServerFailsWithTheReason(fixture: String, step: Int, because: String, failing: String) throws {
    guard which("cc") != nil, which("python3") != nil else {
      print("skipped: needs cc and python3")
      return
    }
    let (report, failures, explanations) = try attempt(fixture, step: step)
    #expect(failures.contains { $0.0 == failing }, "\(failures)")
    #expect(explanations.contains { $0.contains(because) }, "\(explanations) \(report.summary)")
    #expect(groupIsGone(try #require(report.pid)), "the program is stopped")
  }

  /// What the kernel showed, in figures: nine clients waiting while one is served; CLOSE_WAIT
  /// for every connection of the server that never closes.
  @Test func theFiguresAreTheKernels() throws {
    guard which("cc") != nil, which("python3") != nil else {
      print("skipped: needs cc and python3")
      return
    }
    let (iterative, _, _) = try attempt("one_at_a_time.c", step: 0)
    // Backlog 5: the kernel lets 6 wait; the one served is held.
    #expect(iterative.mostWaiting == 6, "\(iterative.summary)")
    #expect(iterative.mostHeld == 1)
    let (leaky, _, _) = try attempt("no_close.py", step: 1)
    let closeWait = leaky.end?.sockets.filter { $0.state == "CLOSE_WAIT" }.count ?? 0
    #expect(closeWait == 12, "\(leaky.summary)")
  }

  /// A program that puts itself in the background (fork, setsid, fork) is found by its mark
  /// and stopped, and the step says why it could not be tried.
  @Test func aDaemonIsStoppedToo() throws {
    guard which("python3") != nil else {
      print("skipped: needs python3")
      return
    }
    let (report, failures, explanations) = try attempt("daemon.py", step: 1)
    #expect(!failures.isEmpty)
    #expect(report.stragglers >= 1, "\(report.summary)")
    #expect(explanations.contains { $0.contains("it puts itself in the background") }, "\(explanations)")
    // The daemon writes its pid, if it got that far before it was stopped.
    let file = "/tmp/sockshell-test-daemon-\(report.port)"
    defer { unlink(file) }
    guard let text = try? String(contentsOfFile: file, encoding: .utf8), let pid = Int32(text) else { return }
    var gone = false
    for _ in 0..<50 where !gone {
      gone = kill(pid, 0) != 0 || !ProcessSockets.exists(pid)
      usleep(20_000)
    }
    #expect(gone, "the daemon \(pid) is stopped")
  }

  /// A program that ignores SIGTERM is killed; its children with it.
  @Test func aProgramThatIgnoresSigtermIsStillStopped() throws {
    guard which("python3") != nil else {
      print("skipped: needs python3")
      return
    }
    let (report, failures, _) = try attempt("ignores_sigterm.py", step: 1)
    #expect(failures.isEmpty, "\(failures)")
    #expect(report.stopped?.contains("killed with SIGKILL") == true, "\(report.stopped ?? "-")")
    #expect(groupIsGone(try #require(report.pid)))
  }

  /// A program's output reaches the screen escaped: an escape sequence is shown, not obeyed.
  @Test func outputIsShownEscaped() throws {
    let out = Output.capture()
    LessonRun.showOutput(Array("clear\u{1B}[2J\u{7}bell\n".utf8), dropped: 0, to: out)
    let shown = out.takeCaptured()
    #expect(!shown.contains("\u{1B}"))
    // The renderer's escapes: \x1b, and \007 where \x07b would read as one byte in C.
    #expect(shown.contains("clear\\x1b[2J\\007bell"), "\(shown)")
  }

  /// Missing file: the step says what to write (and how to start from the session).
  @Test func aMissingFileSaysWhatToWrite() throws {
    let lesson = try yourServerLesson()
    let session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 3))
    let run = LessonRun(lesson: lesson, step: 0, session: session, verbose: false)
    session.host.lessonRun = run
    defer { run.end() }
    let empty = temporary("empty")
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: empty) }
    let report = try #require(run.tryProgram(in: empty))
    #expect(report.problem?.contains("export c echo_server.c") == true, "\(report.problem ?? "-")")
    #expect(!run.failures().isEmpty)
  }

  /// The program block Lessons/README.md shows parses, with the values it says.
  @Test func theReadmesProgramBlockParses() throws {
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("Lessons/README.md").path
    let text = try String(contentsOfFile: readme, encoding: .utf8)
    let start = try #require(text.range(of: "```program\n"))
    let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
    let lines = text[start.upperBound..<end.lowerBound].split(separator: "\n").enumerated().map {
      LessonLine(text: $0.element.trimmingCharacters(in: .whitespaces), line: $0.offset + 1)
    }
    let (spec, problems) = ProgramSpec.parse(lines, at: 1)
    #expect(problems.isEmpty, "\(problems)")
    #expect(spec?.file == "echo_server.c")
    #expect(spec?.clients == 10)
    #expect(spec?.message == Array("hello {n}\n".utf8))
    #expect(spec?.reply == nil && spec?.slowReader == true && spec?.reset == true)
  }

  /// When the program's port is held by the learner's own listener in this shell, that is what is
  /// said (it was once called another user's program).
  @Test func aPortHeldByTheShellItselfIsNamedSo() throws {
    let session = makeSession()
    defer { session.closeAll() }
    runAll(session, "srv = socket tcp\nbind srv 127.0.0.1:0\nlisten srv")
    let listener = try #require(fd(session, "srv"))
    let port = try #require(try? Sys.getsockname(listener).get().port)
    let said = ProgramVerifier.holder(of: port) ?? ""
    #expect(said.contains("your own fd \(listener) in this shell listens there"), "\(said)")
    #expect(ProgramVerifier.whoHolds(port)?.contains("your own fd \(listener)") == true)
  }

  /// A program's output (a compiler's message, a traceback) fits the terminal: each line starts
  /// with its bar, and what does not fit continues under it, without one.
  @Test func aProgramsOutputWrapsUnderItsBar() {
    let out = Output.capture()
    out.width = 40
    let long = "/tmp/work/echo_server.c:6:5: error: expected ',' or ';' before 'printf' in this line"
    LessonRun.showOutput(Array((long + "\nshort\n").utf8), dropped: 0, to: out)
    let lines = out.captured.split(separator: "\n").map(String.init)
    #expect(lines.allSatisfy { Cells.width($0) <= 40 }, "\(lines)")
    #expect(lines.first?.hasPrefix("  | /tmp/work/echo_server.c") == true)
    #expect(lines.count == 4 && lines[1].hasPrefix("    ") && lines[3] == "  | short", "\(lines)")
  }

  /// The slow reader and the reset client run only when the block asks for them, and a slow reader
  /// (which sends 128 KiB and wants them back) needs an echo.
  @Test func theExtraClientsAreAskedFor() {
    func parse(_ text: String) -> (ProgramSpec?, [(Int, String)]) {
      ProgramSpec.parse(
        text.split(separator: "\n").enumerated().map { LessonLine(text: String($0.element), line: $0.offset + 1) },
        at: 1)
    }
    let (plain, none) = parse("file: s.py\nexpect: \"HI {n}\\n\"")
    #expect(none.isEmpty && plain?.slowReader == false && plain?.reset == false)
    let (_, problems) = parse("file: s.py\nexpect: \"HI\\n\"\nslow-reader: yes")
    #expect(problems.contains { $0.0 == 3 && $0.1.contains("slow-reader: yes needs expect: echo") }, "\(problems)")
  }

  /// A program block's file is a plain name in the learner's folder: a lesson cannot point at
  /// another file.
  @Test(arguments: ["../etc/passwd.c", "/etc/x.py", ".hidden.c", "server.sh", "a/b.c"])
  func aLessonCannotNameAnotherFile(name: String) {
    #expect(ProgramSpec.fileProblem(name) != nil)
  }
}

/// A shell at a pseudo-terminal in `folder` (the learner's), at lesson 16's Python step.
func shellAtThePythonStep(in folder: String) throws -> TerminalSession {
  let lessons = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Lessons").path
  let shell = try TerminalSession(
    arguments: ["--lessons", lessons], environment: ["HOME": folder, "XDG_STATE_HOME": folder], directory: folder)
  #expect(shell.waitFor("sockshell>"))
  shell.type("lesson 16\r")
  #expect(shell.waitFor("[your-server 1/2]"))
  shell.type("next\r")
  #expect(shell.waitFor("[your-server 2/2]"))
  return shell
}

/// Ctrl-C while a program is tried stops it, at once; the shell stays.
@Suite struct ProgramTerminalTests {
  @Test func ctrlCDuringACheckStopsTheProgram() throws {
    guard which("python3") != nil else {
      print("skipped: needs python3")
      return
    }
    let folder = temporary("ctrlc")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    // A program that never listens, and says its pid where the test can read it.
    try """
    import os, time
    open(\(String(reflecting: folder + "/pid")), "w").write(str(os.getpid()))
    time.sleep(60)
    """.write(toFile: folder + "/echo_server.py", atomically: true, encoding: .utf8)
    let shell = try shellAtThePythonStep(in: folder)
    shell.type("check\r")
    #expect(shell.waitFor("Trying your program"))
    var pid: Int32?
    for _ in 0..<100 where pid == nil {
      pid = (try? String(contentsOfFile: folder + "/pid", encoding: .utf8)).flatMap { Int32($0) }
      usleep(20_000)
    }
    let program = try #require(pid)
    #expect(kill(program, 0) == 0, "running while the check waits for it to listen")
    shell.type("\u{03}")
    #expect(shell.waitFor("interrupted: your program was stopped"), "\(shell.screen)")
    #expect(groupIsGone(program))
    shell.type("ls\r")
    #expect(shell.waitFor("No descriptors open"))
  }

  /// lesson watch tries the program each time its file is saved, and stops when the step is done.
  @Test func lessonWatchTriesEachSave() throws {
    guard which("python3") != nil else {
      print("skipped: needs python3")
      return
    }
    let folder = temporary("watch")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let shell = try shellAtThePythonStep(in: folder)
    shell.type("lesson watch\r")
    #expect(shell.waitFor("Watching"))
    let file = folder + "/echo_server.py"
    try FileManager.default.copyItem(atPath: programsFolder + "/no_close.py", toPath: file)
    #expect(shell.waitFor("echo_server.py changed:"), "\(shell.screen)")
    #expect(shell.waitFor("in CLOSE_WAIT after the clients closed"), "\(shell.screen)")
    try FileManager.default.removeItem(atPath: file)
    try FileManager.default.copyItem(atPath: programsFolder + "/echo_server.py", toPath: file)
    #expect(shell.waitFor("Every check holds"), "\(shell.screen)")
    #expect(shell.waitFor("lesson watch stops: the step is done"), "\(shell.screen)")
  }

  /// watch PID prints, at the prompt, what a process does with its sockets as it does it.
  @Test func watchShowsAnotherProcessStepByStep() throws {
    guard let python = which("python3") else {
      print("skipped: needs python3")
      return
    }
    let port = freePort()
    let gate = temporary("gate")
    let server = Process()
    server.executableURL = URL(fileURLWithPath: python)
    // Listens, waits for the gate file, then accepts one client and leaves it unclosed.
    server.arguments = [
      "-c",
      """
      import os, socket, time
      l = socket.socket(); l.bind(("127.0.0.1", \(port))); l.listen(5)
      while not os.path.exists(\(String(reflecting: gate))): time.sleep(0.02)
      c, _ = l.accept()
      time.sleep(30)
      """,
    ]
    try server.run()
    defer {
      server.terminate()
      unlink(gate)
    }
    #expect(waitForListener(port: port))
    let shell = try TerminalSession()
    #expect(shell.waitFor("sockshell>"))
    shell.type("watch \(server.processIdentifier)\r")
    #expect(shell.waitFor("Watching process \(server.processIdentifier)"))
    // A client connects: the server's accept queue grows (it has not accepted yet).
    let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    #expect(shell.waitFor("1 connection waiting for accept (backlog 5)"), "\(shell.screen)")
    FileManager.default.createFile(atPath: gate, contents: Data())
    #expect(shell.waitFor("accepted 127.0.0.1:"), "\(shell.screen)")
    #expect(shell.waitFor("0 connections waiting for accept"))
    // The client closes: the server's connection is in CLOSE_WAIT, said with what it means.
    close(client)
    #expect(shell.waitFor("ESTABLISHED → CLOSE_WAIT (the peer closed its side"), "\(shell.screen)")
    // A connection waiting in the accept queue is not a leftover; the FIN is not unread data.
    #expect(!shell.screen.contains("kept by the kernel with no descriptor"), "\(shell.screen)")
    #expect(!shell.screen.contains("bytes the program has not read"), "\(shell.screen)")
    // SIGKILL: the test runner's children may inherit an ignored SIGTERM.
    kill(server.processIdentifier, SIGKILL)
    #expect(shell.waitFor("process \(server.processIdentifier) ended: watching stops"), "\(shell.screen)")
    shell.type("ls\r")
    #expect(shell.waitFor("No descriptors open"))
  }
}

/// ls PID, inspect PID:FD and tcp PID:FD of a C server, against ss for the same sockets.
@Suite struct ProcessViewTests {
  static let server = """
    #include <arpa/inet.h>
    #include <stdio.h>
    #include <string.h>
    #include <sys/socket.h>
    #include <sys/un.h>
    #include <unistd.h>
    static int client(int port) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in a = {0};
      a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connect(c, (struct sockaddr *)&a, sizeof a);
      return c;
    }
    int main(int argc, char **argv) {
      (void)argc;
      int l = socket(AF_INET, SOCK_STREAM, 0), on = 1;
      setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
      struct sockaddr_in a = {0};
      socklen_t len = sizeof a;
      a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bind(l, (struct sockaddr *)&a, sizeof a);
      listen(l, 1);
      getsockname(l, (struct sockaddr *)&a, &len);
      int port = ntohs(a.sin_port);
      int t = client(port), t2 = accept(l, NULL, NULL);
      close(t2); usleep(50000); close(t);              /* the server closed first: TIME_WAIT */
      int e = client(port), e2 = accept(l, NULL, NULL);
      send(e, "unread", 6, 0);                          /* established, 6 bytes unread */
      int b = client(port), b2 = accept(l, NULL, NULL);
      close(b);                                         /* b2 in CLOSE_WAIT */
      int w1 = client(port), w2 = client(port);         /* waiting in the accept queue */
      int u = socket(AF_UNIX, SOCK_STREAM, 0);
      struct sockaddr_un path = {0};
      path.sun_family = AF_UNIX; strncpy(path.sun_path, argv[1], sizeof path.sun_path - 1);
      bind(u, (struct sockaddr *)&path, sizeof path);
      listen(u, 4);
      printf("%d\\n", port); fflush(stdout);
      (void)e2; (void)b2; (void)w1; (void)w2;
      sleep(30);
      return 0;
    }
    """

  @Test func aCServerAgreesWithSS() throws {
    guard let cc = which("cc"), let ss = which("ss") else {
      print("skipped: needs cc and ss")
      return
    }
    let source = temporary("server.c")
    let binary = temporary("server")
    let path = temporary("c.sock")
    try ProcessViewTests.server.write(toFile: source, atomically: true, encoding: .utf8)
    defer {
      unlink(source)
      unlink(binary)
      unlink(path)
    }
    let build = try runProgram(cc, ["-Wall", "-Wextra", "-o", binary, source])
    #expect(build.status == 0, "\(build.stderr)")
    let server = Process()
    server.executableURL = URL(fileURLWithPath: binary)
    server.arguments = [path]
    let output = Pipe()
    server.standardOutput = output
    try server.run()
    defer { server.terminate() }
    let port = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let pid = server.processIdentifier
    let result = try runScript("ls --wide \(pid)\ninspect \(pid):3\ntcp \(pid):5 --ascii\ninspect \(pid):99")
    let theirs = try runProgram(ss, ["-tanp"]).stdout.split(separator: "\n").filter { $0.contains("pid=\(pid),") }
    // With a descriptor of the process: the listener, the established pair (e, e2), b2 in
    // CLOSE_WAIT, and the two clients waiting (their other ends are in the accept queue, with no
    // descriptor; b's end, closed, neither).
    #expect(theirs.count == 6, "\(theirs)")
    for line in theirs {
      let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      let state = words[0].replacing("ESTAB", with: "ESTABLISHED").replacing("-", with: "_")
      let row = "\(state)  .*\(NSRegularExpression.escapedPattern(for: words[3])).*  \(words[1])  +\(words[2])"
      #expect(result.stdout.range(of: row, options: .regularExpression) != nil, "\(line)\n\(result.stdout)")
    }
    #expect(result.stdout.range(of: "LISTEN +127.0.0.1:\(port) +- +2 +1", options: .regularExpression) != nil)
    #expect(result.stdout.contains("unix-stream  LISTEN       \(path)"), "\(result.stdout)")
    // The TIME_WAIT the server's close left on its listener's port: listed as ss lists it.
    let timeWait = try runProgram(ss, ["-tanH", "state", "time-wait", "sport", "= :\(port)"]).stdout
      .split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
    #expect(timeWait.count == 1, "\(timeWait)")
    if let row = timeWait.first, row.count >= 4 {
      #expect(
        result.stdout.range(
          of:
            "TIME_WAIT +\(NSRegularExpression.escapedPattern(for: row[2])) +\(NSRegularExpression.escapedPattern(for: row[3])) +timewait",
          options: .regularExpression) != nil, "\(result.stdout)")
    }
    // inspect PID:FD reads the options (the listener's reuseaddr), tcp PID:FD the state.
    #expect(result.stdout.contains("fd 3 of process \(pid): TCP IPv4 socket"), "\(result.stdout)")
    #expect(result.stdout.range(of: "reuseaddr +1 \\(on\\)", options: .regularExpression) != nil)
    #expect(result.stdout.range(of: "acceptconn +1 \\(on\\)", options: .regularExpression) != nil)
    #expect(result.stdout.contains(">ESTABLISHED<"), "fd 5 is the accepted connection with unread bytes")
    #expect(result.stdout.contains("process \(pid) has no socket at fd 99"))
  }

  @Test func sockshellLsPIDFromTheCommandLine() throws {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(listener) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    listen(listener, 7)
    // This test process holds the listener: sockshell ls reads it from outside.
    let result = try runProgram(sockshellPath, ["ls", "\(getpid())", "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let sockets = json?["sockets"] as? [[String: Any]] ?? []
    #expect(
      sockets.contains {
        ($0["fd"] as? Int) == Int(listener) && ($0["state"] as? String) == "LISTEN" && ($0["send_q"] as? Int) == 7
      })
    let missing = try runProgram(sockshellPath, ["ls", "999999999"])
    #expect(missing.status == 1)
    #expect(missing.stdout.contains("no process 999999999"))
  }
}
