import CSupport
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The shell on a real pseudo-terminal: it sees a terminal, uses libedit, and gets Ctrl-C as
/// SIGINT from the terminal driver, exactly as at a person's keyboard.
final class TerminalSession {
  let master: Int32
  let pid: pid_t
  private(set) var screen = ""

  init(arguments: [String] = [], environment: [String: String] = [:], directory: String? = nil) throws {
    var name = [CChar](repeating: 0, count: 128)
    master = csupport_open_pty(&name, name.count)
    guard master >= 0 else {
      throw TerminalError(message: "no pseudo-terminal: errno \(errno)")
    }
    let slavePath = String(cString: name)
    var size = winsize(ws_row: 40, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
    _ = ioctl(master, UInt(TIOCSWINSZ), &size)

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // After setsid, opening the terminal makes it the child's controlling terminal.
    posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
    posix_spawn_file_actions_adddup2(&actions, 0, 1)
    posix_spawn_file_actions_adddup2(&actions, 0, 2)
    posix_spawn_file_actions_addclose(&actions, master)
    if let directory { csupport_spawn_chdir(&actions, directory) }
    // The test process holds many descriptors (other tests' sockets): the shell inherits none,
    // so that its first socket is 3, as for a person.
    csupport_spawn_closefrom(&actions, 3)
    var attributes = spawnAttributesWithDefaultSignals(extraFlags: csupport_spawn_setsid())
    defer { posix_spawnattr_destroy(&attributes) }

    var env = ProcessInfo.processInfo.environment
    env["TERM"] = "xterm"
    env["NO_COLOR"] = "1"
    env["LANG"] = "C.UTF-8"
    for (key, value) in environment { env[key] = value }
    let argv = [sockshellPath] + arguments
    let cArguments = argv.map { strdup($0) } + [nil]
    let cEnvironment = env.map { strdup("\($0)=\($1)") } + [nil]
    defer {
      cArguments.forEach { free($0) }
      cEnvironment.forEach { free($0) }
    }
    var child: pid_t = 0
    let status = posix_spawn(&child, sockshellPath, &actions, &attributes, cArguments, cEnvironment)
    guard status == 0 else { throw TerminalError(message: "spawn failed: \(status)") }
    pid = child
    _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
  }

  deinit {
    kill(pid, SIGKILL)
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    close(master)
  }

  /// Types bytes as a person would.
  func type(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
  }

  /// Reads what the terminal shows until `text` appears after `from` (at most `seconds`).
  @discardableResult
  func waitFor(_ text: String, after from: String.Index? = nil, seconds: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      drain()
      let start = from ?? screen.startIndex
      if screen[start...].contains(text) { return true }
      var entry = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
      _ = poll(&entry, 1, 50)
    }
    drain()
    return screen[(from ?? screen.startIndex)...].contains(text)
  }

  /// Where the screen ends now: wait for text that comes after this point.
  var mark: String.Index { drain(); return screen.endIndex }

  func drain() {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
      if count <= 0 { break }
      screen += String(decoding: buffer.prefix(count), as: UTF8.self)
    }
  }

  /// Presses Ctrl-D at the prompt and waits for the shell to exit. A key typed while libedit
  /// switches terminal modes can be lost, as at a real keyboard; like a person, press it again
  /// (at most three times).
  func pressCtrlDAndWait() -> Int32? {
    // libedit draws the prompt a moment before it puts the terminal in raw mode; a key typed in
    // that moment is taken by the terminal driver (Ctrl-D as end-of-file of a cooked line). No
    // person types that fast: wait as one would.
    usleep(150_000)
    for _ in 0..<3 {
      type("\u{04}")
      if let status = waitForExit(seconds: 3) { return status }
    }
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? ""
    Issue.record("the shell did not exit: stat=\(stat) wchan=\(wchan) screen=\(screen.suffix(300).debugDescription)")
    return nil
  }

  /// Waits for the shell to exit; its exit status, or nil if it did not exit in time.
  func waitForExit(seconds: Double = 10) -> Int32? {
    let deadline = Date().addingTimeInterval(seconds)
    var status: Int32 = 0
    while Date() < deadline {
      drain()
      if waitpid(pid, &status, WNOHANG) == pid {
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -(status & 0x7F)
      }
      usleep(20_000)
    }
    return nil
  }
}

struct TerminalError: Error {
  let message: String
}

@Suite struct TerminalTests {
  func home() -> String {
    let path = NSTemporaryDirectory() + "sockshell-home-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// The terminal shows libedit's redraws as escape sequences, so completion is judged by what
  /// the completed line does when it runs.
  @Test func tabCompletesCommandsWordsAndDescriptors() throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    var mark = shell.mark
    shell.type("srv = soc\tu\t")
    // Two words start with u after socket: both are listed.
    #expect(shell.waitFor("udp   unix", after: mark))
    shell.type("d\t\r")
    #expect(shell.waitFor("socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 3", after: mark))
    mark = shell.mark
    shell.type("getsockopt s\trcvb\t\r")
    #expect(shell.waitFor("getsockopt(3, SOL_SOCKET, SO_RCVBUF", after: mark))
    mark = shell.mark
    shell.type("help expl\t\r")
    #expect(shell.waitFor("explain ERRNO", after: mark))
    mark = shell.mark
    shell.type("send srv hi dontw\t\r")
    #expect(shell.waitFor("MSG_DONTWAIT) = -1 EDESTADDRREQ", after: mark))
  }

  @Test func upArrowRecallsHistoryAndHistoryIsSaved() throws {
    let state = home()
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": state])
    #expect(shell.waitFor("sockshell> "))
    shell.type("explain ECONNRESET\r")
    #expect(shell.waitFor("ECONNRESET (104)"))
    let mark = shell.mark
    shell.type("\u{1B}[A\r")
    #expect(shell.waitFor("ECONNRESET (104)", after: mark))
    // Like a person, wait for the prompt before Ctrl-D (typed earlier, the terminal driver
    // would take it as end-of-file of the cooked line and it would never reach libedit).
    #expect(
      shell.waitFor("sockshell> ", after: shell.screen.range(of: "ECONNRESET (104)", options: .backwards)?.upperBound))
    #expect(shell.pressCtrlDAndWait() == 0)
    // libedit's history file encodes blanks (vis(3)): "explain\\040ECONNRESET".
    let saved = try String(contentsOfFile: state + "/history", encoding: .utf8)
    #expect(saved.contains("explain\\040ECONNRESET"))

    // A new session starts with the old history.
    let again = try TerminalSession(environment: ["SOCKSHELL_HOME": state])
    #expect(again.waitFor("sockshell> "))
    let start = again.mark
    again.type("\u{1B}[A\r")
    #expect(again.waitFor("ECONNRESET (104)", after: start))
  }

  @Test func ctrlCInterruptsABlockingAcceptAndKeepsDescriptors() throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    shell.type("srv = socket tcp\rbind srv 127.0.0.1:0\rlisten srv\raccept srv\r")
    #expect(shell.waitFor("waiting for a connection on 127.0.0.1:"))
    #expect(shell.waitFor("Ctrl-C to stop"))
    usleep(200_000)  // a person reads the notice before pressing Ctrl-C
    shell.type("\u{03}")
    #expect(shell.waitFor("= -1 EINTR (Interrupted system call)"))
    #expect(shell.waitFor("Every descriptor is still open"))
    let mark = shell.mark
    shell.type("ls\r")
    #expect(shell.waitFor("LISTEN", after: mark))
  }

  @Test func ctrlCAtThePromptClearsTheLine() throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    shell.type("socket garbage")
    #expect(shell.waitFor("socket garbage"))
    let mark = shell.mark
    shell.type("\u{03}")
    #expect(shell.waitFor("^C", after: mark))
    shell.type("explain EPIPE\r")
    #expect(shell.waitFor("EPIPE (32)", after: mark))
    #expect(!shell.screen[mark...].contains("neither a type"), "the cleared line must not run")
  }

  @Test func ctrlDClosesEverythingAndExitsZero() throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    shell.type("a = socket tcp\rb = socket udp\r")
    #expect(shell.waitFor("= 4"))
    #expect(shell.waitFor("sockshell> ", after: shell.screen.range(of: "= 4")?.upperBound))
    #expect(shell.pressCtrlDAndWait() == 0)
    #expect(shell.waitFor("closed 2 descriptors: 3 (a), 4 (b)"))
  }

  @Test func sigpipeNeverKillsTheShell() throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    shell.type("srv = socket tcp\rbind srv 127.0.0.1:0\rlisten srv\rc = socket tcp\rconnect c srv\r")
    shell.type("conn = accept srv\rclose conn\rsend c one\rsend c two\r")
    #expect(shell.waitFor("= -1 EPIPE (Broken pipe)"))
    let mark = shell.mark
    shell.type("ls\r")
    #expect(shell.waitFor("srv", after: mark))
    #expect(shell.waitForExit(seconds: 0.2) == nil, "the shell must still run")
  }

  /// What is typed is what is sent, whatever the locale: UTF-8 text, and bytes that are not
  /// UTF-8 (each stays that byte, and the one after it is not swallowed).
  @Test(arguments: ["C.UTF-8", "C"])
  func typedBytesAreSentAsTyped(locale: String) throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home(), "LANG": locale, "LC_ALL": locale])
    #expect(shell.waitFor("sockshell> "))
    shell.type("srv = socket tcp\rbind srv 127.0.0.1:0\rlisten srv\rc = socket tcp\rconnect c srv\rconn = accept srv\r")
    shell.type("send c \"café ✓ 日本\"\r")
    #expect(shell.waitFor("send(4, \"café ✓ 日本\", 16, 0) = 16"))
    let mark = shell.mark
    let raw: [UInt8] = Array("send c \"".utf8) + [0xFF, 0x41, 0xE6, 0x97, 0x42, 0xC3] + Array("\"\r".utf8)
    _ = raw.withUnsafeBytes { write(shell.master, $0.baseAddress, $0.count) }
    #expect(shell.waitFor(#"send(4, "\377A\xe6\227B\xc3", 6, 0) = 6"#, after: mark), "\(shell.screen[mark...])")
    shell.type("recv conn\r")
    #expect(shell.waitFor(#"recv(5, "café ✓ 日本\377A\xe6\227B\xc3", 1024, 0) = 22"#), "\(shell.screen)")
  }
}

@Suite struct PresenterTests {
  /// `run --step` shows each command and runs it only when Enter is pressed.
  /// `sockshell run --step` on a two-line script, at a terminal.
  func presenting() throws -> TerminalSession {
    let path = NSTemporaryDirectory() + "step-\(UUID().uuidString).ss"
    try "a = socket tcp\nb = socket udp\n".write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }  // the shell has opened it
    let shell = try TerminalSession(arguments: ["run", path, "--step"])
    #expect(shell.waitFor("sockshell> a = socket tcp"))
    return shell
  }

  @Test func stepWaitsForEnterBeforeEachCommand() throws {
    let shell = try presenting()
    usleep(300_000)
    #expect(!shell.screen.contains("socket(AF_INET"), "nothing may run before Enter")
    shell.type("\r")
    #expect(shell.waitFor("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3"))
    #expect(shell.waitFor("sockshell> b = socket udp"))
    usleep(300_000)
    #expect(!shell.screen.contains("SOCK_DGRAM"))
    shell.type("\r")
    #expect(shell.waitFor("socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP) = 4"))
    #expect(shell.waitForExit() == 0)
  }

  /// Ctrl-C at a step stops the presentation: the message starts on its own line, nothing more
  /// runs, and the exit status says the script did not run through.
  @Test func ctrlCStopsThePresentation() throws {
    let shell = try presenting()
    usleep(200_000)
    shell.type("\u{03}")
    #expect(shell.waitFor(":1: stopped before this line; the rest did not run"))
    #expect(shell.waitForExit() == 1)
    #expect(!shell.screen.contains("socket(AF_INET"))
    // Said once, on a line of its own after the ^C.
    #expect(shell.screen.components(separatedBy: "stopped before").count == 2, "\(shell.screen)")
    #expect(shell.screen.contains("^C\r\n"))
  }
}

/// `sockshell present FILE` at a real terminal, as a presenter uses it.
@Suite struct PresentTests {
  static let talk = """
    # A server and a client on one machine.

    # First, the server.
    srv = socket tcp
    bind srv 127.0.0.1:0
    listen srv
    # The client connects.
    c = socket tcp
    connect c srv = 0
    conn = accept srv
    send c "hello"
    recv conn = 9
    # That is all.
    """

  func presenting(_ text: String = PresentTests.talk, color: Bool = false) throws -> TerminalSession {
    let path = NSTemporaryDirectory() + "talk-\(UUID().uuidString).ss"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let shell = try TerminalSession(
      arguments: ["present", path] + (color ? ["--color", "always"] : []),
      environment: ["SOCKSHELL_HOME": NSTemporaryDirectory() + "present-home-\(UUID().uuidString)"])
    #expect(shell.waitFor("[1/8] sockshell> srv = socket tcp"), "\(shell.screen)")
    try? FileManager.default.removeItem(atPath: path)  // read whole at the start
    return shell
  }

  /// Narration in full weight with its blank line; Enter runs the line shown ready; a command of
  /// the presenter's own runs and the scripted line stays next; next skips.
  @Test func narrationEnterAnOwnCommandAndNext() throws {
    let shell = try presenting(color: true)
    #expect(shell.screen.contains("A server and a client on one machine.\r\n\r\nFirst, the server."), "blank line kept")
    #expect(!shell.screen.contains("\u{1B}[2mA server"), "narration is not dimmed")
    usleep(200_000)
    #expect(!shell.screen.contains("socket(AF_INET"), "nothing runs before Enter")
    shell.type("\r")
    #expect(shell.waitFor("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3"))
    #expect(shell.waitFor("[2/8] sockshell> bind srv 127.0.0.1:0"))
    // An own command: the offered line cleared (Ctrl-U), another typed.
    var mark = shell.mark
    shell.type("\u{15}ls\r")
    #expect(shell.waitFor("FD  NAME", after: mark))
    #expect(shell.waitFor("[2/8] sockshell> bind srv 127.0.0.1:0", after: mark), "the scripted line stays next")
    mark = shell.mark
    shell.type("\u{15}next\r")
    #expect(shell.waitFor("Skipped line 2", after: mark))
    #expect(shell.waitFor("[3/8] sockshell> listen srv", after: mark))
    mark = shell.mark
    shell.type("\u{15}where\r")
    #expect(shell.waitFor("Line 3 of 8 is next", after: mark))
    #expect(shell.waitFor("[3/8] sockshell> listen srv", after: mark))
    usleep(150_000)
    shell.type("\u{15}quit\r")
    #expect(shell.waitForExit() == 0)
  }

  /// A command of the presenter's own, even of the same kind as the scripted line (another
  /// socket), leaves the line next; an edit of the line (the same command on the same
  /// descriptor) takes its place, and a rebuild runs what ran: the edit as typed, a skipped
  /// line not at all.
  @Test func ownCommandsEditsAndSkipsAreRebuiltAsTheyRan() throws {
    let shell = try presenting()
    for _ in 0..<3 {
      let mark = shell.mark
      shell.type("\r")
      #expect(shell.waitFor("sockshell>", after: mark))
      usleep(100_000)
    }
    #expect(shell.waitFor("[4/8] sockshell> c = socket tcp"))
    var mark = shell.mark
    shell.type("\u{15}u = socket udp\r")
    #expect(shell.waitFor("SOCK_DGRAM", after: mark))
    #expect(shell.waitFor("[4/8] sockshell> c = socket tcp", after: mark), "another socket is not an edit of line 4")
    shell.type("\r")
    #expect(shell.waitFor("[5/8] sockshell> connect c srv = 0", after: mark))
    mark = shell.mark
    shell.type("\u{15}connect c 127.0.0.1:1\r")
    #expect(shell.waitFor("ECONNREFUSED", after: mark))
    #expect(shell.waitFor("That was line 5, edited", after: mark))
    #expect(shell.waitFor("[6/8] sockshell> conn = accept srv", after: mark))
    mark = shell.mark
    shell.type("\u{15}next\r")
    #expect(shell.waitFor("Skipped line 6", after: mark))
    #expect(shell.waitFor("[7/8] sockshell> send c", after: mark))
    usleep(150_000)
    mark = shell.mark
    shell.type("\u{15}goto 8\r")
    #expect(shell.waitFor("Rebuilt:", after: mark), "\(shell.screen.suffix(500))")
    // Line 5 ran as edited (refused again, as at the talk: nothing to say), line 6 was skipped
    // (no accept), line 7 had not run at the talk (and fails: c is not connected).
    #expect(shell.waitFor("line of them had not run", after: mark), "\(shell.screen.suffix(800))")
    #expect(shell.waitFor("7 (send failed: EPIPE", after: mark), "\(shell.screen.suffix(800))")
    #expect(!shell.screen[mark...].contains("Went otherwise"))
    #expect(shell.waitFor("[8/8] sockshell> recv conn = 9", after: mark))
    usleep(150_000)
    mark = shell.mark
    shell.type("\u{15}ls\r")
    #expect(shell.waitFor("FD  NAME", after: mark))
    usleep(200_000)
    let table = String(shell.screen[mark...]).components(separatedBy: "For a listener").first ?? ""
    #expect(!table.contains("conn"), "the skipped accept did not run: \(table)")
    #expect(!table.contains(" u "), "the presenter's own socket is not rebuilt: \(table)")
    shell.type("\u{15}quit\r")
    #expect(shell.waitForExit() == 0)
  }

  /// A talk with a Unix socket rebuilds: the socket file its listener left is removed with it.
  /// A presenter's command in the script (goto) does not move the talk.
  @Test func aUnixTalkRebuildsAndTheScriptCannotMoveTheTalk() throws {
    let folder = NSTemporaryDirectory() + "present-unix-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let talk = """
      srv = socket unix
      bind srv \(folder)/s.sock = 0
      listen srv = 0
      c = socket unix
      connect c \(folder)/s.sock = 0
      goto 1
      conn = accept srv
      """
    let path = folder + "/talk.ss"
    try talk.write(toFile: path, atomically: true, encoding: .utf8)
    let shell = try TerminalSession(
      arguments: ["present", path], environment: ["SOCKSHELL_HOME": folder + "/home"])
    #expect(shell.waitFor("[1/7] sockshell> srv = socket unix"))
    for step in 2...6 {
      let mark = shell.mark
      shell.type("\r")
      #expect(shell.waitFor("[\(step)/7] sockshell>", after: mark), "\(shell.screen.suffix(300))")
      usleep(100_000)
    }
    var mark = shell.mark
    shell.type("\r")  // the script's goto 1
    #expect(shell.waitFor("moves or ends the talk: a script's line does not", after: mark))
    #expect(shell.waitFor("[7/7] sockshell> conn = accept srv", after: mark))
    usleep(150_000)
    mark = shell.mark
    shell.type("\u{15}goto 6\r")
    #expect(shell.waitFor("removed the Unix socket", after: mark), "\(shell.screen.suffix(800))")
    #expect(shell.waitFor("lines 1 to 5 ran again quietly.", after: mark))
    #expect(!shell.screen[mark...].contains("Went otherwise"), "\(shell.screen[mark...])")
    #expect(shell.waitFor("[6/7] sockshell> goto 1", after: mark))
    usleep(150_000)
    shell.type("\u{15}quit\r")
    #expect(shell.waitForExit() == 0)
  }

  /// back rebuilds the kernel's state by running the lines before again quietly; a failed
  /// expectation is said and the talk goes on; at the end the descriptors stay, and quit ends.
  @Test func backRebuildsAFailedExpectationWaitsTheEndStays() throws {
    let shell = try presenting()
    for expected in [
      "[2/8] sockshell> bind", "[3/8] sockshell> listen", "[4/8] sockshell> c = socket", "[5/8] sockshell> connect",
      "[6/8] sockshell> conn = accept",
    ] {
      let mark = shell.mark
      shell.type("\r")
      #expect(shell.waitFor(expected, after: mark), "\(shell.screen.suffix(400))")
    }
    var mark = shell.mark
    shell.type("\u{15}back\r")
    #expect(shell.waitFor("lines 1 to 4 ran again quietly", after: mark), "\(shell.screen.suffix(600))")
    #expect(shell.waitFor("[5/8] sockshell> connect c srv = 0", after: mark))
    // The rebuilt state is real: the connect succeeds against the rebuilt listener.
    mark = shell.mark
    shell.type("\r")
    #expect(shell.waitFor(") = 0", after: mark))
    #expect(shell.waitFor("ESTABLISHED", after: mark))
    for _ in 0..<3 {
      let before = shell.mark
      shell.type("\r")
      #expect(shell.waitFor("sockshell>", after: before))
      usleep(100_000)
    }
    #expect(shell.waitFor("expected = 9, but recv returned 5"), "\(shell.screen.suffix(600))")
    #expect(shell.waitFor("Line 8 did not go as the script expects"))
    #expect(shell.waitFor("That is all."))
    #expect(shell.waitFor("End of"))
    #expect(shell.waitFor("3 descriptors stay open"))
    mark = shell.mark
    shell.type("ls\r")
    #expect(shell.waitFor("conn", after: mark))
    #expect(shell.waitFor("ESTABLISHED", after: mark))
    shell.type("quit\r")
    #expect(shell.waitForExit() == 0)
  }
}

@Suite struct LessonTerminalTests {
  /// A learner takes lesson 1 at a real terminal: a hint, a wrong command, and the automatic
  /// advance after each step; progress is saved.
  @Test func aLearnerTakesTheFirstLesson() throws {
    let home = NSTemporaryDirectory() + "sockshell-learner-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: home) }
    let shell = try TerminalSession(
      arguments: ["lesson", "--lessons", packageRoot + "/Lessons"], environment: ["SOCKSHELL_HOME": home])
    #expect(shell.waitFor("step 1 of 3: Make a TCP socket"))
    #expect(shell.waitFor("[sockets 1/3] sockshell> "))
    var mark = shell.mark
    shell.type("hint\r")
    #expect(shell.waitFor("Type socket tcp", after: mark))
    mark = shell.mark
    shell.type("socket udp\r")
    #expect(shell.waitFor("= 3", after: mark))
    shell.type("check\r")
    #expect(shell.waitFor("the closest, fd 3, has type udp", after: mark))
    #expect(!shell.screen[mark...].contains("Step 1 done"))
    mark = shell.mark
    shell.type("socket tcp\r")
    #expect(shell.waitFor("✓ Step 1 done: Make a TCP socket", after: mark))
    #expect(shell.waitFor("step 2 of 3: Make a UDP socket", after: mark))
    #expect(shell.waitFor("[sockets 2/3] sockshell> ", after: mark))
    mark = shell.mark
    shell.type("u = socket udp\r")
    #expect(shell.waitFor("step 3 of 3", after: mark))
    mark = shell.mark
    shell.type("close u\rclose 3\r")
    #expect(shell.waitFor("Lesson complete", after: mark))
    #expect(shell.pressCtrlDAndWait() == 0)
    let progress = try String(contentsOfFile: home + "/progress.json", encoding: .utf8)
    // Done, saved at step 0 (taken again, it starts from the beginning), with its port.
    #expect(
      progress.contains("\"sockets\":{\"step\":0,\"done\":true,\"skipped\":[],\"ports\":{\"{port}\":"), "\(progress)")
  }
}

/// posix_spawn attributes that give the child every signal's default handling and an empty
/// signal mask, whatever the test runner ignores or blocks (destroy them after the spawn).
func spawnAttributesWithDefaultSignals(extraFlags: Int16 = 0) -> posix_spawnattr_t {
  var attributes = posix_spawnattr_t()
  posix_spawnattr_init(&attributes)
  var defaults = sigset_t()
  sigfillset(&defaults)
  posix_spawnattr_setsigdefault(&attributes, &defaults)
  var empty = sigset_t()
  sigemptyset(&empty)
  posix_spawnattr_setsigmask(&attributes, &empty)
  posix_spawnattr_setflags(&attributes, extraFlags | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
  return attributes
}

/// A folder of its own holding one lesson file, for a test to start the shell on.
func lessonFolder(_ file: String, _ markdown: String) throws -> String {
  let folder = NSTemporaryDirectory() + "sockshell-lesson-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  try markdown.write(toFile: folder + "/" + file, atomically: true, encoding: .utf8)
  return folder
}

extension LessonTerminalTests {
  /// A step that waits on the partner passes while the learner does nothing at the prompt.
  @Test func aStepPassesWhenThePartnerActsWhileTheLearnerIsIdle() throws {
    let folder = try lessonFolder(
      "01-idle.md",
      """
      ---
      id: idle
      title: Idle
      ---

      ## Listen

      Listen on 127.0.0.1:{port}.

      ```check
      socket srv state=LISTEN local=127.0.0.1:{port}
      ```

      ```solution
      srv = socket tcp
      bind srv 127.0.0.1:{port}
      listen srv
      ```

      ```hint
      Listen.
      ```

      ## Wait for the partner

      ```partner
      sleep 400
      p = socket tcp
      connect p 127.0.0.1:{port}
      ```

      ```check
      partner connected
      socket srv recvq=1
      ```

      ```solution
      ls
      ```

      ```hint
      Just wait.
      ```
      """)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let shell = try TerminalSession(
      arguments: ["lesson", "idle", "--lessons", folder], environment: ["SOCKSHELL_HOME": folder])
    #expect(shell.waitFor("[idle 1/2] sockshell> "))
    let screen = shell.screen
    let port = try #require(screen.firstRange(of: "127.0.0.1:")).upperBound
    let digits = String(screen[port...].prefix { $0.isNumber })
    let mark = shell.mark
    shell.type("srv = socket tcp\rbind srv 127.0.0.1:\(digits)\rlisten srv\r")
    #expect(shell.waitFor("step 2 of 2: Wait for the partner", after: mark))
    // Type nothing more: the partner sleeps, connects, and the step passes on its own.
    #expect(shell.waitFor("partner> connect(", after: mark))
    #expect(shell.waitFor("Lesson complete: Idle", after: mark))
  }
}

extension LessonTerminalTests {
  /// One Ctrl-C stops a learner's blocking accept while the lesson's partner waits in the same
  /// event loop (it used to be lost: the partner's wait took it, and accept went on).
  @Test func oneCtrlCStopsABlockingAcceptWhileThePartnerWaits() throws {
    let folder = try lessonFolder(
      "01-waiting.md",
      """
      ---
      id: waiting
      title: Waiting
      ---

      ## Accept what never comes

      The partner waits for a listener on another port, so it polls all the time.

      ```partner
      wait listening 127.0.0.1:{port2}
      p = socket tcp
      connect p {listening}
      ```

      ```check
      socket conn state=ESTABLISHED
      ```

      ```solution
      srv = socket tcp
      bind srv 127.0.0.1:{port2}
      listen srv
      conn = accept srv
      ```

      ```hint
      Accept.
      ```
      """)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for attempt in 1...3 {
      let shell = try TerminalSession(
        arguments: ["lesson", "waiting", "--lessons", folder], environment: ["SOCKSHELL_HOME": folder])
      #expect(shell.waitFor("[waiting 1/1] sockshell> "))
      let mark = shell.mark
      shell.type("srv = socket tcp\rbind srv 127.0.0.1:0\rlisten srv\rconn = accept srv\r")
      #expect(shell.waitFor("Ctrl-C to stop", after: mark))
      usleep(300_000)  // a person reads the notice; the partner has polled a few times meanwhile
      let pressed = shell.mark
      shell.type("\u{03}")
      #expect(
        shell.waitFor("= -1 EINTR (Interrupted system call)", after: pressed, seconds: 3),
        "attempt \(attempt): one Ctrl-C must stop accept; screen: \(shell.screen[pressed...].debugDescription)")
      // The shell is at the prompt again and the partner still waits.
      let after = shell.mark
      shell.type("ls\r")
      #expect(shell.waitFor("LISTEN", after: after))
    }
  }
}

extension TerminalTests {
  /// Explanations wrap to the terminal's width as it is now: after a resize (SIGWINCH), to the
  /// new width.
  @Test func explanationsWrapToTheResizedTerminal() throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    var size = winsize(ws_row: 40, ws_col: 50, ws_xpixel: 0, ws_ypixel: 0)
    _ = ioctl(shell.master, UInt(TIOCSWINSZ), &size)
    usleep(100_000)
    let mark = shell.mark
    shell.type("srv = socket tcp\rlisten srv\r")
    #expect(shell.waitFor("Next: accept srv", after: mark))
    // "\r\n" is one Character in Swift: split on both.
    let lines = shell.screen[mark...].split { $0 == "\n" || $0 == "\r\n" }.map { $0.replacing("\r", with: "") }
    let notes = lines.filter { $0.hasPrefix("  ") }
    #expect(!notes.isEmpty)
    for line in notes { #expect(line.count <= 50, "wider than the terminal: \(line)") }
  }
}

extension LessonTerminalTests {
  /// While the learner waits in a blocking call, what the partner does is shown at once, and a
  /// poll with a timeout lets the partner act too.
  @Test func thePartnerIsShownWhileTheLearnerWaits() throws {
    let folder = try lessonFolder(
      "01-shown.md",
      """
      ---
      id: shown
      title: Shown
      ---

      ## Wait

      ```partner
      sleep 1500
      p = socket udp
      sleep 2500
      q = socket udp
      ```

      ```check
      socket type=tcp state=ESTABLISHED
      ```

      ```solution
      s = socket tcp
      ```
      """)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let shell = try TerminalSession(
      arguments: ["lesson", "shown", "--lessons", folder], environment: ["SOCKSHELL_HOME": folder])
    #expect(shell.waitFor("[shown 1/1] sockshell> "))
    let mark = shell.mark
    shell.type("srv = socket tcp\rlisten srv\raccept srv\r")
    #expect(shell.waitFor("waiting for a connection", after: mark))
    let waiting = shell.mark
    #expect(shell.waitFor("partner> socket(AF_INET, SOCK_DGRAM", after: waiting, seconds: 4))
    #expect(!shell.screen[mark...].contains("EINTR"), "accept is still waiting")
    shell.type("\u{03}")
    #expect(shell.waitFor("= -1 EINTR", after: mark))
    let polled = shell.mark
    shell.type("poll srv --timeout 5000\r")
    #expect(shell.waitFor("partner> socket(AF_INET, SOCK_DGRAM", after: polled, seconds: 5))
    #expect(shell.waitFor("poll([", after: polled, seconds: 6))
  }
}

extension TerminalTests {
  /// A resized terminal never interrupts a blocking call; Ctrl-C still does.
  @Test func aResizeDoesNotInterruptABlockingCall() throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    let mark = shell.mark
    shell.type("u = socket udp\rbind u 127.0.0.1:0\rrecv u\r")
    #expect(shell.waitFor("waiting for data", after: mark))
    for columns: UInt16 in [60, 90, 70, 100] {
      var size = winsize(ws_row: 40, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
      _ = ioctl(shell.master, UInt(TIOCSWINSZ), &size)
      usleep(100_000)
    }
    shell.drain()
    #expect(!shell.screen[mark...].contains("EINTR"), "a resize interrupted recv")
    shell.type("\u{03}")
    #expect(shell.waitFor("= -1 EINTR", after: mark))
  }
}

/// The shell in tmux, a real terminal emulator, on a private server of its own: what the screen
/// shows after the program's escape sequences, as a person sees it.
final class TmuxScreen {
  let server = "sockshell-test-\(UUID().uuidString.prefix(8))"
  let tmux: String

  init?(width: Int, command: [String]) {
    guard let tmux = which("tmux") else { return nil }
    self.tmux = tmux
    let line = command.map { "'" + $0.replacing("'", with: "'\\''") + "'" }.joined(separator: " ")
    guard TmuxScreen.spawn([tmux, "-L", server, "new-session", "-d", "-s", "t", "-x", "\(width)", "-y", "30", line])
    else { return nil }
  }

  /// Runs tmux and waits for it. The server it starts would keep any pipe it was given open
  /// (Foundation's Process then never sees the client end): spawned with /dev/null and no other
  /// descriptor.
  static func spawn(_ argv: [String]) -> Bool {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
    csupport_spawn_closefrom(&actions, 3)
    // Default signal handling (the test runner may ignore SIGHUP, which tmux sends its panes).
    var attributes = spawnAttributesWithDefaultSignals()
    defer { posix_spawnattr_destroy(&attributes) }
    let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var child: pid_t = 0
    guard posix_spawn(&child, argv[0], &actions, &attributes, cArguments, environ) == 0 else { return false }
    var status: Int32 = 0
    waitpid(child, &status, 0)
    return true
  }

  /// Ends this private server (and the shell in it) and removes its socket; never the default one.
  func stop() {
    _ = TmuxScreen.spawn([tmux, "-L", server, "kill-server"])
    let folder = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
    unlink("\(folder)/tmux-\(getuid())/\(server)")
  }

  deinit { stop() }

  func type(_ keys: String) { _ = try? runProgram(tmux, ["-L", server, "send-keys", "-t", "t", "-l", keys]) }

  var screen: String { (try? runProgram(tmux, ["-L", server, "capture-pane", "-p", "-t", "t"]).stdout) ?? "" }

  /// Waits until the screen shows `text` (at most `seconds`).
  func waitFor(_ text: String, seconds: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if screen.contains(text) { return true }
      usleep(50_000)
    }
    return screen.contains(text)
  }
}

extension LessonTerminalTests {
  /// Output of the partner while a line longer than a screen row is being typed: the line is
  /// drawn again whole below it, and no piece of it is left above.
  @Test func aLongHalfTypedLineIsRedrawnWholeBelowThePartner() throws {
    let folder = try lessonFolder(
      "01-long.md",
      """
      ---
      id: long
      title: Long
      ---

      ## Wait

      ```partner
      sleep 1500
      p = socket tcp
      ```

      ```check
      socket type=udp
      ```

      ```solution
      s = socket udp
      ```
      """)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    guard
      let tmux = TmuxScreen(
        width: 40,
        command: [
          "env", "SOCKSHELL_HOME=\(folder)", "NO_COLOR=1", sockshellPath, "lesson", "long", "--lessons", folder,
        ])
    else {
      print("skipped: tmux is not installed")
      return
    }
    defer { tmux.stop() }
    #expect(tmux.waitFor("[long 1/1] sockshell>"))
    tmux.type("send srv \"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ")
    #expect(tmux.waitFor("partner> socket("))
    usleep(200_000)
    let rows = tmux.screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let typed = rows.indices.filter { rows[$0].contains("sockshell> send srv") }
    #expect(typed.count == 1, "the typed line is on the screen once: \(rows)")
    if let row = typed.first {
      #expect(rows[row + 1].hasPrefix("ijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"), "\(rows)")
      #expect(rows[..<row].contains { $0.contains("partner> socket(") }, "the partner's line is above: \(rows)")
    }
  }
}

extension TerminalTests {
  /// SIGTERM, SIGHUP and SIGQUIT end the shell cleanly, at the prompt or during a call: the
  /// terminal as it was, descriptors closed, one line saying why, exit status 128+N, never a
  /// crash report or a core dump.
  @Test(arguments: [(SIGTERM, "SIGTERM", false), (SIGQUIT, "SIGQUIT", true), (SIGHUP, "SIGHUP", true)])
  func aSignalEndsTheShellCleanly(signal: Int32, name: String, duringACall: Bool) throws {
    let shell = try TerminalSession(environment: ["SOCKSHELL_HOME": home()])
    #expect(shell.waitFor("sockshell> "))
    let mark = shell.mark
    shell.type("srv = socket tcp\rlisten srv\r")
    #expect(shell.waitFor("Next: accept srv", after: mark))
    if duringACall {
      shell.type("accept srv\r")
      #expect(shell.waitFor("waiting for a connection", after: mark))
    } else {
      usleep(200_000)  // libedit has the terminal in its own mode at the prompt
    }
    kill(shell.pid, signal)
    let status = shell.waitForExit(seconds: 5)
    #expect(status == 128 + signal, "exit status \(String(describing: status))")
    #expect(shell.screen[mark...].contains("ended by \(name)"))
    #expect(shell.screen[mark...].contains("closed 1 descriptor: 3 (srv)"))
    #expect(!shell.screen.contains("Crash") && !shell.screen.contains("Backtrace"))
    var modes = termios()
    #expect(tcgetattr(shell.master, &modes) == 0)
    let wanted = tcflag_t(ICANON | ECHO | ISIG)
    #expect(modes.c_lflag & wanted == wanted, "the terminal was left in the editor's mode")
  }
}

extension TerminalTests {
  /// Ctrl-Z at the prompt suspends the shell with the terminal given back; fg draws the prompt and
  /// the half-typed line again, and typing goes on (under a job-control shell, as a person has).
  @Test func ctrlZSuspendsAndFgRedrawsTheLine() throws {
    guard which("bash") != nil, let tmux = TmuxScreen(width: 100, command: ["bash", "--norc", "--noprofile", "-i"])
    else {
      print("skipped: tmux or bash is not installed")
      return
    }
    defer { tmux.stop() }
    #expect(tmux.waitFor("#") || tmux.waitFor("$"), "bash is ready: \(tmux.screen)")
    tmux.type("env SOCKSHELL_HOME=\(home()) NO_COLOR=1 \(sockshellPath)\r")
    #expect(tmux.waitFor("sockshell>"), "\(tmux.screen)")  // capture-pane drops trailing blanks
    tmux.type("socket tc")
    #expect(tmux.waitFor("sockshell> socket tc"))
    tmux.type("\u{1A}")
    #expect(tmux.waitFor("Stopped"))
    tmux.type("stty -a | grep -o ' icanon\\| -icanon' | head -1\r")
    #expect(tmux.waitFor(" icanon"), "the terminal is given back in the modes the shell found")
    tmux.type("fg\r")
    usleep(300_000)
    tmux.type("p\r")
    #expect(tmux.waitFor("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3"))
  }
}

extension TerminalTests {
  /// Two shells at once on one state folder keep both histories and both lessons' progress.
  @Test func twoShellsAtOnceKeepEachOthersState() throws {
    let state = home()
    let first = try TerminalSession(environment: ["SOCKSHELL_HOME": state])
    let second = try TerminalSession(environment: ["SOCKSHELL_HOME": state])
    #expect(first.waitFor("sockshell> ") && second.waitFor("sockshell> "))
    first.type("explain EPIPE\r")
    #expect(first.waitFor("EPIPE (32)"))
    second.type("explain ECONNRESET\r")
    #expect(second.waitFor("ECONNRESET (104)"))
    first.type("lesson sockets\r")
    #expect(first.waitFor("[sockets 1/"))
    second.type("lesson bind\r")
    #expect(second.waitFor("[bind 1/"))
    #expect(first.pressCtrlDAndWait() == 0)
    #expect(second.pressCtrlDAndWait() == 0)
    let history = try String(contentsOfFile: state + "/history", encoding: .utf8)
    for line in ["explain\\040EPIPE", "explain\\040ECONNRESET", "lesson\\040sockets", "lesson\\040bind"] {
      #expect(history.contains(line), "\(line) is missing: \(history)")
    }
    let progress = try String(contentsOfFile: state + "/progress.json", encoding: .utf8)
    #expect(progress.contains("\"sockets\":{") && progress.contains("\"bind\":{"), "\(progress)")
  }

  /// `clear` and Ctrl-L clear the screen; the descriptors stay.
  @Test func clearAndCtrlLClearTheScreen() throws {
    let home = NSTemporaryDirectory() + "home-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: home) }
    guard
      let tmux = TmuxScreen(
        width: 80, command: ["env", "SOCKSHELL_HOME=\(home)", "NO_COLOR=1", sockshellPath])
    else {
      print("skipped: tmux is not installed")
      return
    }
    defer { tmux.stop() }
    #expect(tmux.waitFor("sockshell>"))
    tmux.type("s = socket tcp\r")
    #expect(tmux.waitFor("socket(AF_INET, SOCK_STREAM"))
    tmux.type("clear\r")
    #expect(tmux.waitFor("sockshell>"))
    usleep(200_000)
    #expect(!tmux.screen.contains("socket(AF_INET"), "\(tmux.screen)")
    tmux.type("ls\r")
    #expect(tmux.waitFor("CLOSED"), "the descriptor stayed")
    _ = try? runProgram(tmux.tmux, ["-L", tmux.server, "send-keys", "-t", "t", "C-l"])
    usleep(300_000)
    #expect(!tmux.screen.contains("CLOSED"), "Ctrl-L cleared: \(tmux.screen)")
  }

  /// Lesson text is reflowed to the terminal's width when shown, after a resize too.
  @Test func lessonTextFollowsAResize() throws {
    let home = NSTemporaryDirectory() + "home-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: home) }
    guard
      let tmux = TmuxScreen(
        width: 120,
        command: [
          "env", "SOCKSHELL_HOME=\(home)", "NO_COLOR=1", sockshellPath, "lesson", "listen", "--lessons",
          packageRoot + "/Lessons",
        ])
    else {
      print("skipped: tmux is not installed")
      return
    }
    defer { tmux.stop() }
    #expect(tmux.waitFor("[listen 1/3] sockshell>"))
    _ = try? runProgram(tmux.tmux, ["-L", tmux.server, "resize-window", "-t", "t", "-x", "60"])
    usleep(300_000)
    tmux.type("clear\rstep\r")
    #expect(tmux.waitFor("(check: see what is missing"))
    let rows = tmux.screen.split(separator: "\n").map(String.init)
    // A row that filled all 60 cells would be a line the terminal broke: none is wider.
    let prose = rows.filter { $0.hasPrefix("  ") && !$0.contains("sockshell>") }
    #expect(!prose.isEmpty)
    for row in prose { #expect(row.reversed().drop { $0 == " " }.count < 60, "\(row)") }
    #expect(rows.contains { $0.hasPrefix("  Make a TCP socket srv, bind it to") }, "\(rows)")
  }
}
