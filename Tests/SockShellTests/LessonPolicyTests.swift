import Foundation
import SocketLayer
import Testing

@testable import SockShellKit

#if canImport(Glibc)
  import Glibc
#endif

/// Lessons are shared documents: their lines make socket calls on loopback and nothing else, and
/// a lesson outside that is refused when it is loaded, with the file, the line and the reason.
@Suite struct LessonPolicyTests {
  let hostile = packageRoot + "/Tests/Lessons/hostile"

  func problems(_ file: String) -> [String] {
    do {
      _ = try LessonLoader.load(path: hostile + "/" + file)
      return []
    } catch {
      return error.problems
    }
  }

  /// (file, line, what the reason says): every line outside the policy, each one named.
  @Test(arguments: [
    ("send-a-file.md", 14, "partner: send reads a file"),
    ("writes-files.md", 10, "partner: save writes a file"),
    ("writes-files.md", 11, "partner: export writes a file"),
    ("writes-files.md", 20, "solution: export writes a file"),
    ("leaves-loopback.md", 10, "partner: a partner never binds or sends to every address"),
    ("leaves-loopback.md", 13, "partner: 10.11.12.13 is not a loopback address"),
    ("leaves-loopback.md", 15, "partner: 'example.com' is a name to look up"),
    ("leaves-loopback.md", 17, "partner: a lesson's Unix socket paths are inside the folder its run owns"),
    ("leaves-loopback.md", 18, "partner: wait listening 192.0.2.1:80"),
    ("leaves-loopback.md", 27, "solution: 198.51.100.7 is not a loopback address"),
    ("leaves-loopback.md", 28, "solution: 'example.org' is a name to look up"),
    ("multicast-elsewhere.md", 10, "partner: setsockopt: a lesson joins groups on loopback only"),
    ("multicast-elsewhere.md", 11, "partner: setsockopt: a lesson's multicast leaves by loopback only"),
    ("multicast-elsewhere.md", 13, "partner: setsockopt: a lesson joins groups on loopback only"),
    ("multicast-elsewhere.md", 14, "partner: setsockopt: a lesson's multicast leaves by loopback only"),
    ("multicast-elsewhere.md", 23, "solution: setsockopt: a lesson joins groups on loopback only"),
    ("multicast-elsewhere.md", 24, "solution: 8.8.8.8 is not a loopback address"),
    ("changes-the-shell.md", 9, "partner: lesson writes a file and changes the shell"),
    ("changes-the-shell.md", 10, "partner: quit changes the shell"),
    ("changes-the-shell.md", 19, "solution: lessons changes the shell"),
    ("many-ports.md", 5, "18 port placeholders ({port}, {port2}...): at most 16"),
  ])
  func aLineOutsideThePolicyIsRefusedAtLoad(file: String, line: Int, reason: String) {
    let found = problems(file)
    #expect(
      found.contains { $0.hasPrefix("\(hostile)/\(file):\(line): ") && $0.contains(reason) },
      "expected \(file):\(line): ... \(reason); got \(found)")
  }

  /// The lessons that ship are inside the policy.
  @Test func theShippedLessonsKeepToThePolicy() {
    let library = LessonLibrary(directory: packageRoot + "/Lessons", progressPath: nil)
    #expect(library.problems.isEmpty, "\(library.problems)")
    #expect(library.lessons.count >= 8)
    for lesson in library.lessons { #expect(LessonLoader.linesOutsidePolicy(lesson).isEmpty) }
  }

  /// `lesson test` and `lessons` show the refusal before anything runs: nothing is read, written
  /// or sent. In a network namespace of its own (only loopback) when the machine allows it.
  @Test func lessonTestRunsNothingOfARefusedLesson() throws {
    let planted = ["/tmp/planted.ss", "/tmp/replaced.c", "/tmp/planted.sock"]
    for path in planted { unlink(path) }
    var command =
      [sockshellPath, "lesson", "test"]
      + ["send-a-file.md", "writes-files.md", "leaves-loopback.md"].map {
        hostile + "/" + $0
      }
    if getuid() == 0, let unshare = which("unshare") { command = [unshare, "--net"] + command }
    let result = try runProgram(command[0], Array(command.dropFirst()))
    #expect(result.status == 1)
    #expect(result.stdout.contains("0 of 3 lessons passed"), "\(result.stdout)")
    #expect(result.stdout.contains("send-a-file.md:14: partner: send reads a file"), "\(result.stdout)")
    for path in planted { #expect(access(path, F_OK) != 0, "\(path) was written") }
  }

  /// A lesson's own folder (`{dir}`) holds its Unix sockets, and goes when the lesson ends.
  @Test func aLessonsUnixSocketsLiveInItsOwnFolder() throws {
    let lesson = try LessonLoader.parse(
      """
      ---
      id: unix
      title: Unix
      ---

      ## A Unix listener

      Listen on `{dir}/server.sock`.

      ```partner
      wait listening {dir}/server.sock
      p = socket stream unix
      connect p {dir}/server.sock
      ```

      ```check
      partner connected
      ```

      ```solution
      srv = socket stream unix
      bind srv {dir}/server.sock
      listen srv
      ```
      """, path: "unix.md")
    let (session, run) = takeQuietly(lesson)
    session.addressPolicy = .linesFromElsewhere(folder: run.folder)
    let folder = try #require(run.folder)
    #expect(folder.hasPrefix("/") && folder.contains("sockshell-lesson-"))
    for line in run.current.solution { session.execute(line) }
    run.tick()
    #expect(run.finished, "\(session.out.captured)")
    #expect(access(folder + "/server.sock", F_OK) == 0)
    session.closeAll()
    #expect(access(folder, F_OK) != 0, "the run's folder is removed when the lesson ends")
  }

  /// A line from elsewhere sends to a multicast group only from a socket whose multicast leaves by
  /// loopback (IP_MULTICAST_IF read back from the kernel when the line runs), and only to a port a
  /// socket of the lesson is bound to; binding a group address sends nothing and is allowed. In a
  /// network namespace of its own when the machine allows it, so that a bug sends nothing away.
  @Test func aGroupDatagramFromElsewhereLeavesByLoopbackOnly() throws {
    guard getuid() == 0 else {
      print("skipped: a private network namespace for this test needs root")
      return
    }
    let seen = inPrivateNetwork { () -> [String: String] in
      let session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 3))
      defer { session.closeAll() }
      session.addressPolicy = .linesFromElsewhere(
        folder: nil, reachable: { [unowned session] address in session.hasBound(address) })
      func line(_ text: String) -> String { session.execute(text).failure ?? "ok" }
      var seen: [String: String] = [:]
      _ = line("r = socket udp")
      _ = line("bind r *:0")
      seen["join"] = line("setsockopt r add_membership 239.1.2.3 127.0.0.1")
      let port = (try? Sys.getsockname(session.openDescriptors[0].fd).get().port) ?? 0
      _ = line("s = socket udp")
      // No multicast_if: the kernel's route decides, which may be a network card. Refused.
      seen["no interface"] = line("sendto s 239.1.2.3:\(port) \"x\"")
      seen["calls"] = session.records.contains { $0.syscall == "sendto" } ? "made" : "none"
      // Through loopback: the call is made; to a port no socket of the lesson holds, refused.
      seen["set"] = line("setsockopt s multicast_if 127.0.0.1")
      seen["loopback"] = line("sendto s 239.1.2.3:\(port) \"x\"")
      seen["received"] = line("recvfrom r 10 dontwait")
      seen["other port"] = line("sendto s 239.1.2.3:\(port == 65535 ? 1 : port + 1) \"x\"")
      // IPv6: only with multicast_if lo, and loopback carries no IPv6 multicast.
      _ = line("v = socket udp ipv6")
      _ = line("setsockopt v v6only 1")
      seen["bind v"] = line("bind v [::]:\(port)")
      seen["six, no interface"] = line("sendto v [ff12::1:2:3]:\(port) \"x\"")
      _ = line("setsockopt v multicast_if lo")
      seen["six by lo"] = line("sendto v [ff12::1:2:3]:\(port) \"x\"")
      // Binding a group address sends nothing.
      _ = line("g = socket udp")
      seen["bind group"] = line("bind g 239.1.2.3:0")
      return seen
    }
    guard let seen else { return }
    #expect(seen["no interface"]?.contains("is a multicast group") == true, "\(seen)")
    #expect(seen["calls"] == "none", "the refused sendto never reached the kernel")
    #expect(
      seen["join"] == "ok" && seen["set"] == "ok" && seen["loopback"] == "ok" && seen["received"] == "ok", "\(seen)")
    #expect(seen["other port"]?.contains("not a socket of this lesson") == true, "\(seen)")
    #expect(seen["bind v"] == "ok", "\(seen)")
    #expect(seen["six, no interface"]?.contains("is a multicast group") == true, "\(seen)")
    #expect(seen["six by lo"]?.contains("ENETUNREACH") == true, "\(seen)")
    #expect(seen["bind group"] == "ok", "\(seen)")
  }

  /// A partner never binds every address, not even by the kernel's autobind: its unbound UDP
  /// socket is bound to loopback (a call it shows) before its first sendto.
  @Test func aPartnersDatagramSocketIsBoundToLoopback() throws {
    let lesson = try LessonLoader.parse(
      """
      ---
      id: u
      title: U
      ---

      ## Two datagrams

      ```partner
      p = socket udp
      sendto p 127.0.0.1:{port} "one"
      ```

      ```check
      received u "one"
      ```

      ```hint
      Receive.
      ```

      ```solution
      recvfrom u
      ```
      """, path: "u.md")
    let session = makeSession()
    defer { session.closeAll() }
    let port = LessonRun.freePort()
    runAll(session, "u = socket udp\nbind u 127.0.0.1:\(port)")
    let run = LessonRun(lesson: lesson.substituting(["{port}": "\(port)"]), step: 0, session: session, verbose: false)
    session.host.lessonRun = run
    run.begin()
    run.tick()
    let partner = try #require(run.partner.session.openDescriptors.first)
    let local = try #require(try? Sys.getsockname(partner.fd).get())
    #expect(local.host == "127.0.0.1", "the partner's socket is on \(local)")
    #expect(run.partner.session.records.contains { $0.syscall == "bind" })
  }

  /// Whatever a line from elsewhere says, what it resolves to is held to the policy.
  @Test func linesFromElsewhereResolveToLoopbackOnly() {
    let resolver = AddressResolver(
      out: .capture(), table: DescriptorTable(), partnerListening: nil, policy: .linesFromElsewhere(folder: "/tmp/run"))
    func allowed(_ spec: AddressSpec) -> Bool {
      if case .success = resolver.resolve(spec, family: .ipv4, subject: "fd 3", purpose: .connect) { return true }
      return false
    }
    #expect(allowed(.host("127.0.0.1", port: 80)))
    #expect(allowed(.host("127.1.2.3", port: 80)))
    #expect(!allowed(.host("10.0.0.1", port: 80)))
    #expect(allowed(.abstract("name")))
    #expect(allowed(.unixPath("/tmp/run/a.sock")))
    #expect(!allowed(.unixPath("/tmp/run/../elsewhere.sock")))
    #expect(!allowed(.unixPath("/tmp/other.sock")))
  }
}

extension LessonPolicyTests {
  /// A partner reaches the sockets of its lesson (or a port where nothing listens: a refused
  /// connection is a lesson), never another program's service on loopback.
  @Test func aPartnerCannotReachAnotherProgramsService() throws {
    // Another program's service: a listener this test holds, outside the lesson.
    let service = try Sys.socket(.ipv4, .stream).get()
    defer { _ = Sys.close(service) }
    _ = Sys.bind(service, .loopback(.ipv4, port: 0))
    _ = Sys.listen(service, backlog: 5)
    let port = try #require(try Sys.getsockname(service).get().port)
    let lesson = try partnerLesson(
      "reach",
      """
      c = socket tcp
      connect c 127.0.0.1:\(port)
      send c "FLUSHALL\\r\\n"
      """)
    let (session, run) = takeQuietly(lesson)
    run.tick()
    let calls = run.partner.session.records.map(\.kind)
    #expect(!calls.contains(.connect), "the partner connected to another program: \(calls)")
    let waiting = try Sys.poll([service], events: Int16(POLLIN), timeoutMilliseconds: 100).get()
    #expect(waiting.first == 0, "a connection reached the service")
    session.closeAll()
  }
}

extension LessonPolicyTests {
  /// The partner's sockets do not outlive the lesson: a listener it made is gone when the lesson
  /// ends (a connection there is refused).
  @Test func thePartnersListenerEndsWithTheLesson() throws {
    let lesson = try partnerLesson(
      "serve",
      """
      l = socket tcp
      bind l 127.0.0.1:{port2}
      listen l
      """)
    let (session, run) = takeQuietly(lesson)
    run.tick()
    let listener = try #require(run.partner.session.openDescriptors.first)
    let address = try Sys.getsockname(listener.fd).get()
    #expect(!LinePolicy.nobodyIsBound(to: address), "the partner listens while the lesson runs")
    run.end()  // what lesson quit, another lesson or the end of the shell do
    #expect(LinePolicy.nobodyIsBound(to: address), "the partner's listener outlived the lesson")
    session.closeAll()
  }
}

extension LessonTerminalTests {
  /// Whatever the partner waits on (a poll with no timeout, a long sleep), the learner's keys
  /// are answered: a line typed runs, and Ctrl-C clears a half-typed one.
  @Test func thePromptStaysLiveWhileThePartnerWaits() throws {
    let folder = try lessonFolder(
      "01-live.md",
      partnerLessonText(
        "live",
        """
        p = socket udp
        bind p 127.0.0.1:0
        poll p --timeout -1
        poll p --timeout -1
        sleep 60000
        """))
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let shell = try TerminalSession(
      arguments: ["lesson", "live", "--lessons", folder], environment: ["SOCKSHELL_HOME": folder])
    #expect(shell.waitFor("[live 1/1] sockshell> "))
    let mark = shell.mark
    shell.type("explain EPIPE\r")
    #expect(shell.waitFor("EPIPE (32)", after: mark, seconds: 3), "the prompt is held by the partner")
    let typed = shell.mark
    shell.type("socket garbage")
    #expect(shell.waitFor("socket garbage", after: typed, seconds: 3))
    shell.type("\u{03}")
    #expect(shell.waitFor("^C", after: typed, seconds: 3))
  }
}

extension LessonPolicyTests {
  /// The partner's sockets are closed with each close bounded when the lesson ends: one that
  /// lingers (SO_LINGER 60 with unsent data) cannot hold the learner for its linger time.
  @Test func aLingeringPartnerSocketDoesNotHoldTheEndOfTheLesson() throws {
    let lesson = try partnerLesson(
      "linger",
      """
      l = socket tcp
      bind l 127.0.0.1:{port2}
      listen l
      c = socket tcp
      setsockopt c sndbuf 4096
      connect c l
      setsockopt c linger on 60
      send c --size 16000000
      """)
    let (session, run) = takeQuietly(lesson)
    let deadline = EventLoop.now() + 3
    while run.partner.session.records.filter({ $0.kind == .send }).isEmpty && EventLoop.now() < deadline {
      _ = session.loop.wait(for: nil, deadline: EventLoop.now() + 0.05)
    }
    let started = EventLoop.now()
    run.end()
    #expect(EventLoop.now() - started < 5, "closing the partner's sockets waited for their linger time")
    #expect(run.partner.session.openDescriptors.isEmpty)
    session.closeAll()
  }
}
