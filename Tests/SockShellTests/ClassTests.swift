import Foundation
import SocketLayer
import Testing

@testable import SockShellKit

#if canImport(Glibc)
  import Glibc
#endif

/// A class held as an instructor and three students would, each at a real terminal (tmux),
/// each on a host of their own (network namespaces joined by a bridge, made by the script as
/// root), or all on loopback where namespaces cannot be made. scripts/classroom.py holds the
/// scenario: a wrong code, an oversized message and a line that is not JSON refused; type-along
/// and follow; a bind to every address waiting for the student's Enter; a neighbour's server
/// reached; a late joiner's replay; hands and the roster (and --json); a dropped student back by
/// themselves; a student who never reads holding nobody up.
@Suite struct ClassroomTests {
  func scenario(_ mode: String) throws {
    guard let python = which("python3"), which("tmux") != nil else {
      print("skipped: the classroom needs python3 and tmux")
      return
    }
    var program = python
    var arguments = [packageRoot + "/scripts/classroom.py", mode, sockshellPath]
    if mode == "netns" {
      guard getuid() == 0, let unshare = which("unshare"), which("ip") != nil, which("ss") != nil else {
        print("skipped: several hosts need root, unshare, ip and ss (the loopback class runs instead)")
        return
      }
      program = unshare
      arguments = ["--net", "--mount", "--propagation", "private", python] + arguments
    }
    let result = try runProgram(program, arguments, timeout: 240)
    if mode == "netns" && result.stderr.contains("unshare failed") {
      print("skipped: this machine refuses a new network namespace: \(result.stderr)")
      return
    }
    let failed = result.stdout.split(separator: "\n").filter { $0.hasPrefix("FAILED") }
    #expect(result.status == 0 && failed.isEmpty, "\(result.stdout.suffix(4000))\n\(result.stderr.suffix(1000))")
    #expect(result.stdout.contains("every check held"))
  }

  @Test func aClassOnFourHosts() throws { try scenario("netns") }

  @Test func aClassOnLoopback() throws { try scenario("loopback") }
}

/// The protocol, against the instructor's shell in this process: each test is a raw client.
@Suite struct ClassProtocolTests {
  /// An instructor's session serving a class on loopback, and a way to run its loop a while.
  func serving() throws -> (Session, ClassServer) {
    let session = makeSession()
    let result = session.execute("class serve 127.0.0.1:0")
    #expect(result.ok, "\(session.out.captured)")
    let server = try #require(session.host.classServer)
    return (session, server)
  }

  func pump(_ session: Session, seconds: Double = 0.1) {
    _ = session.loop.wait(for: nil, deadline: EventLoop.now() + seconds)
  }

  func connect(_ server: ClassServer) throws -> Int32 {
    let fd = try Sys.socket(.ipv4, .stream).get()
    try Sys.connect(fd, server.address).get()
    return fd
  }

  func send(_ fd: Int32, _ text: String) {
    _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
  }

  /// What arrived on `fd` within `seconds` while the shell's loop runs, and whether it was closed.
  func read(_ fd: Int32, _ session: Session, seconds: Double = 0.5) -> (text: String, closed: Bool) {
    var text = ""
    let deadline = EventLoop.now() + seconds
    repeat {
      pump(session, seconds: min(0.02, max(0.001, seconds)))
      var buffer = [UInt8](repeating: 0, count: 65536)
      let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
      if count == 0 { return (text, true) }
      if count > 0 { text += String(decoding: buffer.prefix(count), as: UTF8.self) }
    } while EventLoop.now() < deadline
    return (text, false)
  }

  func hello(_ code: String, name: String = "tester") -> String {
    "{\"type\":\"hello\",\"code\":\"\(code)\",\"name\":\"\(name)\"}\n"
  }

  @Test func aWrongCodeIsRefusedAndTheRightOneWelcomed() throws {
    let (session, server) = try serving()
    defer { server.stop() }
    let wrong = try connect(server)
    defer { close(wrong) }
    send(wrong, hello("QQQQ" == server.code ? "QQQR" : "QQQQ"))
    let refused = read(wrong, session)
    #expect(refused.text.contains("\"type\":\"refused\"") && refused.closed, "\(refused)")
    #expect(server.refusedJoins == 1)
    let right = try connect(server)
    defer { close(right) }
    send(right, hello(server.code.lowercased(), name: "ada"))
    let welcome = read(right, session)
    #expect(welcome.text.contains("\"type\":\"welcome\"") && !welcome.closed, "\(welcome)")
    #expect(server.roster.map(\.name) == ["ada"])
    // The instructor's command reaches the student, with what the instructor saw.
    session.execute("s = socket tcp")
    let command = read(right, session)
    #expect(command.text.contains("\"line\":\"s = socket tcp\""), "\(command.text)")
    #expect(command.text.contains("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = "), "\(command.text)")
    // A line that reads or writes files never leaves the instructor's shell.
    session.execute("export c /dev/null")
    session.execute("history")
    #expect(!read(right, session).text.contains("export"))
  }

  /// A student who never reads costs at most its buffer: the log waits for it, and once the log
  /// has moved past it, the commands it missed are dropped and a resync says how many.
  @Test func aStudentWhoNeverReadsIsBoundedAndResynced() throws {
    let (session, server) = try serving()
    defer { server.stop() }
    let sleepy = try connect(server)
    defer { close(sleepy) }
    send(sleepy, hello(server.code, name: "sleepy"))
    let awake = try connect(server)
    defer { close(awake) }
    send(awake, hello(server.code, name: "awake"))
    pump(session, seconds: 0.2)
    _ = read(awake, session, seconds: 0.1)
    let commands = ClassLimits.logSize + 300
    var awakeGot = 0
    for _ in 0..<commands {
      session.execute("help")
      pump(session, seconds: 0.001)
      awakeGot += read(awake, session, seconds: 0).text.components(separatedBy: "\"type\":\"command\"").count - 1
      let waiting = server.students.first { $0.name == "sleepy" }?.connection?.waiting ?? 0
      #expect(waiting <= ClassLimits.sendBuffer + ClassLimits.maxMessage, "bounded per student")
    }
    awakeGot += read(awake, session, seconds: 1).text.components(separatedBy: "\"type\":\"command\"").count - 1
    #expect(awakeGot == commands, "the student who reads got every command")
    // Now the sleepy one reads: the start of what it was sent, then a resync, then the newest.
    var all = ""
    for _ in 0..<200 {
      let got = read(sleepy, session, seconds: 0.05).text
      all += got
      if all.contains("\"seq\":\(commands),") || all.contains("\"seq\":\(commands)}") { break }
    }
    let sleepyRow = server.students.first { $0.name == "sleepy" }
    let resync = try #require(
      all.split(separator: "\n").first { $0.contains("\"type\":\"resync\"") },
      "read \(all.count) bytes, last: \(all.suffix(300)); cursor \(sleepyRow?.cursor ?? -1) of \(server.nextSeq), first \(server.log.first?.seq ?? -1), waiting \(sleepyRow?.connection?.waiting ?? -1)"
    )
    let message = try #require(ClassMessage.decode(Array(resync.utf8)))
    #expect((message.missed ?? 0) > 0, "\(resync)")
    #expect(all.contains("\"seq\":\(commands)"), "the newest command reaches it after the resync")
  }

  /// Whatever a peer sends, the instructor's shell does not crash, hang or slow: random bytes,
  /// cut and altered messages, oversized lines, a flood of hellos without a code.
  @Test func hostileBytesNeverBreakTheInstructor() throws {
    let (session, server) = try serving()
    defer { server.stop() }
    var random = SystemRandomNumberGenerator()
    let valid = [
      hello(server.code), "{\"type\":\"status\",\"line\":\"x\",\"ok\":false,\"step\":-5}\n",
      "{\"type\":\"hand\",\"up\":true}\n", "{\"type\":\"share\",\"address\":\"10.0.0.1:80\"}\n",
      "{\"type\":\"peers\"}\n", "{\"type\":\"replay\"}\n",
    ]
    for round in 0..<200 {
      let fd = try connect(server)
      var text = ""
      for _ in 0..<Int.random(in: 1...6, using: &random) {
        var message = Array(valid.randomElement(using: &random)!.utf8)
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
          message = (0..<Int.random(in: 1...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        case 1: message = Array(message.prefix(Int.random(in: 0...message.count, using: &random)))
        case 2:
          if !message.isEmpty {
            message[Int.random(in: 0..<message.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
          }
        case 3 where round % 20 == 0: message = Array(repeating: UInt8(ascii: "a"), count: 20000)
        default: break
        }
        text += String(decoding: message, as: UTF8.self)
      }
      send(fd, text)
      pump(session, seconds: 0.001)
      close(fd)
    }
    let started = EventLoop.now()
    pump(session, seconds: 0.3)
    // Still serving: a new student joins and is welcomed.
    let fd = try connect(server)
    defer { close(fd) }
    send(fd, hello(server.code, name: "late"))
    #expect(read(fd, session).text.contains("\"welcome\""))
    #expect(EventLoop.now() - started < 5)
    #expect(server.pending.count <= 64)
  }

  /// Connections that never say hello cannot fill the class: past eight from one address, the
  /// oldest of them goes; a real student still joins. Past five wrong codes in a minute, an
  /// address is turned away (told to try again later), and the instructor is told once.
  @Test func idleConnectionsAndGuessedCodesAreBounded() throws {
    let (session, server) = try serving()
    defer { server.stop() }
    var idle: [Int32] = []
    defer { idle.forEach { close($0) } }
    for _ in 0..<80 {
      idle.append(try connect(server))
      pump(session, seconds: 0.001)
    }
    pump(session, seconds: 0.1)
    #expect(server.pending.count <= ClassServer.pendingPerAddress, "\(server.pending.count)")
    let student = try connect(server)
    defer { close(student) }
    send(student, hello(server.code, name: "real"))
    #expect(read(student, session).text.contains("\"welcome\""))
    for _ in 0..<ClassServer.wrongCodesAllowed {
      let guess = try connect(server)
      send(guess, hello(server.code == "AAAA" ? "BBBB" : "AAAA"))
      _ = read(guess, session, seconds: 0.1)
      close(guess)
    }
    #expect(session.out.captured.contains("wrong join codes from 127.0.0.1: it is turned away for a minute"))
    let late = try connect(server)
    defer { close(late) }
    send(late, hello(server.code, name: "late"))
    let answer = read(late, session)
    #expect(answer.text.contains("\"again\":true") && answer.closed, "\(answer)")
    #expect(!server.roster.contains { $0.name == "late" })
  }

  /// A share names the student's own listener: another host's address is not taken, every
  /// address becomes the one the class sees the student from; a status without a line keeps
  /// the last command.
  @Test func sharesAreTheStudentsOwnAndStatusKeepsTheLastCommand() throws {
    let (session, server) = try serving()
    defer { server.stop() }
    let fd = try connect(server)
    defer { close(fd) }
    send(fd, hello(server.code, name: "ada"))
    _ = read(fd, session)
    send(fd, "{\"type\":\"share\",\"address\":\"10.9.9.9:9000\"}\n")
    pump(session, seconds: 0.1)
    #expect(server.students.first?.shared == nil, "another host's address is not hers")
    send(fd, "{\"type\":\"share\",\"address\":\"0.0.0.0:9000\"}\n")
    pump(session, seconds: 0.1)
    #expect(server.students.first?.shared == "127.0.0.1:9000")
    send(
      fd,
      "{\"type\":\"status\",\"line\":\"recv 99\",\"ok\":false}\n{\"type\":\"status\",\"lesson\":\"sockets\",\"step\":2}\n"
    )
    pump(session, seconds: 0.1)
    #expect(server.roster.first?.last == "recv 99")
    #expect(server.roster.first?.ok == false)
    #expect(server.roster.first?.lesson == "sockets")
  }

  /// A student's shell in this process, joined to `server`, on the same event loop: its
  /// offered lines are kept in `offered`.
  final class Student {
    let session: Session
    var offered: [String] = []
    init(_ server: ClassServer, instructor: Session) {
      session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 2), loop: instructor.loop)
      session.host.offer = { [unowned self] in self.offered.append($0) }
      session.execute("class join \(server.address) \(server.code) pupil")
    }
    var client: ClassClient { session.host.classClient! }
  }

  /// follow runs the instructor's lines at once, but holds for the student's Enter what would
  /// open their machine to every address (a bind to a descriptor bound to every address too) or
  /// name a descriptor by number (here it may be another socket); a call that does not wait
  /// (dontwait) runs at once; follow on runs what waited at the prompt.
  @Test func followHoldsWhatItShould() throws {
    let (session, server) = try serving()
    defer { server.stop() }
    let student = Student(server, instructor: session)
    defer { _ = student.session.closeAll() }
    pump(session, seconds: 0.2)
    // Type-along first: two lines wait at the prompt; follow on runs them.
    session.execute("a = socket udp")
    session.execute("b = socket udp")
    pump(session, seconds: 0.2)
    #expect(student.client.offers == ["a = socket udp", "b = socket udp"])
    student.session.execute("follow on")
    pump(session, seconds: 0.3)
    // Sorted: descriptors are listed by number, and tests running beside this one in the
    // same process free and take numbers, so b may get a lower one than a.
    #expect(student.session.openDescriptors.compactMap(\.name).sorted() == ["a", "b"], "what waited ran")
    session.execute("bind a 0.0.0.0:0")
    session.execute("c = socket udp")
    pump(session, seconds: 0.3)
    #expect(student.client.held == "bind a 0.0.0.0:0")
    #expect(!student.session.openDescriptors.contains { $0.name == "c" }, "the line after the held one waits")
    student.session.execute("bind a 0.0.0.0:0")  // the student's own Enter
    pump(session, seconds: 0.3)
    #expect(student.session.openDescriptors.contains { $0.name == "c" })
    session.execute("bind c a")  // a is bound to every address, so c would be too
    pump(session, seconds: 0.3)
    #expect(student.client.held == "bind c a", "\(student.session.out.captured.suffix(400))")
    #expect(try Sys.getsockname(fd(student.session, "c")!).get().port == 0, "not bound before the Enter")
    _ = student.client.skipOffer()
    session.execute("getsockname 3")
    pump(session, seconds: 0.3)
    #expect(student.client.held == "getsockname 3", "a descriptor named by number waits")
    _ = student.client.skipOffer()
    session.execute("recvfrom b 100 dontwait")
    pump(session, seconds: 0.3)
    #expect(student.client.queue.isEmpty, "a call that does not wait is not held up")
    #expect(student.session.records.last?.syscall == "recvfrom")
  }

  /// Every message the README shows is one the shell reads, and writes back the same.
  @Test func theReadmesMessagesAreTheProtocol() throws {
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    let block = try #require(
      readme.components(separatedBy: "```jsonl\n").dropFirst().first?.components(separatedBy: "```").first)
    let lines = block.split(separator: "\n")
    #expect(lines.count >= 10)
    var types: Set<String> = []
    for line in lines {
      let message = try #require(ClassMessage.decode(Array(line.utf8)), "\(line)")
      #expect(ClassMessage.decode(message.encoded.dropLast().map { $0 }) == message, "\(line)")
      types.insert(message.type)
    }
    #expect(
      types == [
        "hello", "welcome", "refused", "command", "resync", "status", "hand", "share", "peers", "replay", "bye",
      ])
  }

  /// A student's shell runs nothing from the instructor that reads or writes files, names a
  /// host to look up or a path; and binds every address only on the student's own Enter.
  @Test func theInstructorsLinesAreHeldToThePolicy() throws {
    for (line, refused) in [
      ("export c /etc/x.c", true), ("send c --file /etc/passwd", true), ("connect c example.com:80", true),
      ("bind u /tmp/x.sock", true), ("lesson 1", true), ("quit", true), ("connect c 192.168.1.10:7070", false),
      ("bind s 0.0.0.0:8080", false), ("connect c [::1]:80", false), ("send c hi", false),
    ] {
      let parsed = try #require(try Parser.parse(line))
      #expect((LinePolicy.refusal(parsed, from: .instructor, folder: "") != nil) == refused, "\(line)")
    }
    let wildcard = try #require(try Parser.parse("bind s 0.0.0.0:8080"))
    #expect(LinePolicy.bindsEveryAddress(wildcard))
    let star = try #require(try Parser.parse("bind s *:8080"))
    #expect(LinePolicy.bindsEveryAddress(star))
    let loop = try #require(try Parser.parse("bind s 127.0.0.1:8080"))
    #expect(!LinePolicy.bindsEveryAddress(loop))
    // IPv4's every address written as IPv6 is every address too.
    let mapped = try #require(try Parser.parse("bind s [::ffff:0.0.0.0]:8080"))
    #expect(LinePolicy.bindsEveryAddress(mapped))
  }
}
