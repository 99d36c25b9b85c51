#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// What one verification of a learner's program found: the build, what the kernel showed of
/// its sockets while the clients ran and after they left, what each client got back, and how
/// the program ended. Checks (`program ...`, `clients served`) read it; a failing one is
/// explained from it.
struct ProgramReport {
  var spec: ProgramSpec
  var port: UInt16
  /// Why nothing ran: the file is missing, the build failed, the program could not start.
  var problem: String?
  var buildCommand = ""
  var buildOutput: [UInt8] = []
  var buildSeconds = 0.0
  var started = false
  /// The program's processes seen (it and what it started: a fork per client).
  var family: Set<Int32> = []
  /// Processes it started that were still running after it was stopped (they had left its
  /// process group), stopped then.
  var stragglers = 0
  /// Processes of earlier tries whose shell had ended, stopped before this one started.
  var orphansStopped = 0
  /// Who held the port when the program ended before it listened (it could not bind, likely).
  var portHeld: String?
  /// The program's process (and process group).
  var pid: Int32?
  /// How long it took to listen on the lesson's port.
  var listenedAfter: Double?
  /// Its listeners on other addresses (a wrong port).
  var otherListeners: [ProcessSocket] = []
  /// Its sockets when it was last seen before listening (nothing listened in time).
  var beforeListening: [ProcessSocket] = []
  var clients: [ProgramClient] = []
  var slow: ProgramClient?
  var resetDone = false
  var afterReset: ProgramClient?
  /// The most connections it held at once, and the most waiting in its accept queue.
  var mostHeld = 0
  var mostWaiting = 0
  /// Distinct connections it was seen holding.
  var acceptedInodes: Set<UInt64> = []
  /// Its sockets after the clients left.
  var end: ProcessView?
  /// How it ended by itself (nil: still running when stopped), and in which phase.
  var ending: String?
  var endedSignal: Int32?
  var endedDuring: String?
  var stopped: String?
  var output: [UInt8] = []
  var outputDropped = 0
  var interrupted = false
  var seconds = 0.0

  /// Connections the program accepted, at least: those seen in its sockets (read every 10 ms),
  /// or the clients it answered (a client that got bytes back was accepted), whichever is more.
  var accepted: Int { max(acceptedInodes.count, answered) }
  /// The lesson's clients that got at least one byte back.
  var answered: Int { everyClient.filter { !$0.received.isEmpty }.count }
  var running: Bool { started && ending == nil }
  var everyClient: [ProgramClient] { clients + [slow, afterReset].compactMap { $0 } }
  var served: Int { everyClient.filter(\.served).count }
}

/// Runs the verification of a program step: build, start under limits, wait until it listens,
/// the clients (several at once, a slow reader, an abrupt reset, one after), then its sockets once
/// they left; the program is always stopped, also on Ctrl-C.
enum ProgramVerifier {
  /// A sample of the program's sockets is taken this often while clients run.
  static let sampleEvery = 0.01
  /// Its family (children, and theirs) is looked for this often, and before each reading that
  /// decides something.
  static let familyEvery = 0.05

  static func verify(
    _ spec: ProgramSpec, folder: String, port: UInt16, loop: EventLoop, interrupt: InterruptWatch
  ) -> ProgramReport {
    var report = ProgramReport(spec: spec, port: port)
    let source = folder + "/" + spec.file
    var info = stat()
    guard stat(source, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      report.problem =
        "\(spec.file) is not there yet (looked in \(folder)): write it"
        + (spec.language == .c
          ? ", or start from your session with: export c \(spec.file)"
          : ", or start from your session with: export python \(spec.file)")
      return report
    }
    guard let work = LinePolicy.makeFolder() else {
      report.problem = "cannot make a folder to build in: \(Errno(errno).name)"
      return report
    }
    defer { LinePolicy.removeFolder(work) }
    // Build.
    let started = EventLoop.now()
    let program: String
    var arguments: [String] = []
    switch spec.language {
    case .c:
      guard let cc = ProgramProcess.find("cc") else {
        report.problem = "no C compiler here (cc): Debian installs one with apt-get install gcc"
        return report
      }
      let output = work + "/program"
      report.buildCommand = "cc -Wall -Wextra -o program \(spec.file)"
      let build = run(
        cc, ["-Wall", "-Wextra", "-o", output, source], directory: work,
        limits: .init(cpuSeconds: 60, openFiles: 256, memoryBytes: 2 << 30, fileBytes: 64 << 20), seconds: 60,
        loop: loop, interrupt: interrupt)
      report.buildOutput = build.output
      report.buildSeconds = EventLoop.now() - started
      if interrupt.pressed {
        report.interrupted = true
        return report
      }
      guard build.ending == "exited with status 0" else {
        report.problem = "the build failed (\(build.ending ?? "it took over 60 s")): the compiler's messages are above"
        return report
      }
      program = output
    case .python:
      guard let python = ProgramProcess.find("python3") else {
        report.problem = "no python3 here: Debian installs it with apt-get install python3"
        return report
      }
      report.buildCommand = "python3 \(spec.file)"
      program = python
      arguments = ["-B", source]
    }
    arguments.append("\(port)")
    // SOCKSHELL_PROGRAM marks every process of this try (its children inherit it): what is left
    // of them at the end, however they left its process group, is found by it and stopped.
    // With the shell's pid: a try whose shell was killed (SIGKILL, so that nothing could stop what
    // its program started outside its group) is found by the next try and stopped then.
    let mark = "SOCKSHELL_PROGRAM=\(work) \(getpid())"
    report.orphansStopped = ProgramVerifier.stopOrphans()
    let environment = [
      "PORT=\(port)", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", mark,
    ]
    // Something that already listens on the port (a program of an earlier try that left itself
    // running) would take the clients: said before anything runs.
    if let holder = ProgramVerifier.holder(of: port) {
      report.problem = "port \(port) is already taken: " + holder
      return report
    }
    let process: ProgramProcess
    switch ProgramProcess.start(
      program, arguments: arguments, environment: environment, directory: work, limits: .init())
    {
    case .success(let running): process = running
    case .failure(let refusal):
      report.problem = refusal.message
      return report
    }
    report.started = true
    report.pid = process.pid
    let runStart = EventLoop.now()
    report.family = [process.pid]
    exercise(process, &report, port: port, mark: mark, runStart: runStart, loop: loop, interrupt: interrupt)
    report.stopped = process.stop()
    if report.listenedAfter == nil && report.ending != nil { report.portHeld = ProgramVerifier.whoHolds(port) }
    // What it started outside its group (setsid, a daemon's double fork), seen as its family or
    // found by its mark: stopped too, and counted.
    var left: Set<Int32> = []
    for member in report.family where member != process.pid && ProcessSockets.exists(member) {
      kill(member, SIGKILL)
      left.insert(member)
    }
    // A process killed a moment ago may still be listed (a zombie not yet waited for): counted once.
    report.stragglers = max(left.count, ProgramVerifier.stopMarked(mark))
    report.output = process.output
    report.outputDropped = process.outputDropped
    report.seconds = EventLoop.now() - runStart
    return report
  }

  /// The clients against the running program, and what the kernel showed meanwhile.
  static func exercise(
    _ process: ProgramProcess, _ report: inout ProgramReport, port: UInt16, mark: String, runStart: Double,
    loop: EventLoop, interrupt: InterruptWatch
  ) {
    let spec = report.spec
    // One tick: the clients moved on, the program's output read, its sockets sampled.
    var lastSample = 0.0
    var lastFamily = 0.0
    var pairs: Set<String> = []
    var phase = "starting"
    // However the phases ended: an end seen only now (it exited between two looks) is said.
    defer {
      process.poll()
      if process.status != nil, report.ending == nil {
        report.ending = process.ending
        report.endedSignal = process.signal
        report.endedDuring = phase
      }
    }
    /// The sockets of the program and its family (a server that forks per client, or pre-forks
    /// workers and closes its own listener), read with one set of dumps, each socket once.
    func familyView() -> ProcessView? {
      let members = report.family.sorted()
      for lead in [process.pid] + members where ProcessSockets.exists(lead) {
        if case .success(let view) = ProcessView.read(lead, pairs: pairs, alsoOf: members) { return view }
      }
      return nil
    }
    func tick(_ active: [ProgramClient]) -> Bool {
      for client in active { client.step() }
      process.poll()
      if process.status != nil, report.ending == nil {
        report.ending = process.ending
        report.endedSignal = process.signal
        report.endedDuring = phase
      }
      let now = EventLoop.now()
      if now - lastFamily >= familyEvery {
        lastFamily = now
        report.family = family(of: process.pid, known: report.family)
        // Once it has exited, what it left running (in the background: setsid) is found by its mark.
        if process.status != nil { report.family.formUnion(marked(mark)) }
      }
      if now - lastSample >= sampleEvery {
        lastSample = now
        let view = familyView()
        let sockets = view?.sockets ?? []
        if let view { pairs.formUnion(view.pairs) }
        let connections = sockets.filter { $0.isConnection && $0.inet?.local.port == port }
        report.mostHeld = max(report.mostHeld, connections.filter { $0.state == "ESTABLISHED" }.count)
        // A connection reset and not yet closed is no longer in sock_diag (KIND socket): counted too.
        report.acceptedInodes.formUnion(connections.map(\.inode))
        report.acceptedInodes.formUnion(sockets.filter { $0.kind == "socket" }.map(\.inode))
        if let listener = sockets.first(where: { listens($0, on: port) }) {
          report.mostWaiting = max(report.mostWaiting, listener.recvQ ?? 0)
        }
      }
      if interrupt.pressed { report.interrupted = true }
      return !report.interrupted
    }
    func waitUntil(_ seconds: Double, _ active: [ProgramClient], _ done: () -> Bool) {
      let deadline = EventLoop.now() + seconds
      while tick(active), !done(), EventLoop.now() < deadline {
        _ = loop.wait(for: nil, deadline: EventLoop.now() + 0.003, interrupt: interrupt)
      }
    }
    // Started: wait until it listens on the lesson's port (not a fixed sleep).
    var listenedElsewhereAt: Double?
    var exitedAt: Double?
    waitUntil(5, []) {
      // A program that exits may have left a background copy that will listen (fork, setsid,
      // fork): it is given 0.3 s to appear, found by its mark.
      if process.status != nil && exitedAt == nil { exitedAt = EventLoop.now() }
      let others = report.family.contains { $0 != process.pid && ProcessSockets.exists($0) }
      let alive = process.status == nil || others || EventLoop.now() - (exitedAt ?? 0) < 0.3
      if process.status != nil && !others { lastFamily = 0 }
      guard alive else { return true }
      guard let view = familyView() else { return false }
      report.beforeListening = view.sockets
      if view.sockets.contains(where: { listens($0, on: port) }) {
        report.listenedAfter = EventLoop.now() - runStart
        return true
      }
      report.otherListeners = view.sockets.filter(\.listening)
      if !report.otherListeners.isEmpty {
        listenedElsewhereAt = listenedElsewhereAt ?? EventLoop.now()
        return EventLoop.now() - listenedElsewhereAt! > 0.3
      }
      return false
    }
    guard report.listenedAfter != nil, !report.interrupted else { return }
    report.otherListeners = []
    // Several clients at once.
    phase = "serving \(spec.clients) clients at once"
    report.clients = (1...spec.clients).compactMap { number in
      ProgramClient(port: port, number: number, sending: spec.message(for: number), expecting: spec.reply(for: number))
    }
    waitUntil(2, report.clients) { report.clients.allSatisfy(\.done) || report.ending != nil }
    lastSample = 0
    lastFamily = 0
    _ = tick([])
    for client in report.clients { client.close() }
    // A slow reader: a small receive buffer, 128 KiB sent, read back 4 KiB a tick.
    if spec.slowReader && report.running && !report.interrupted {
      phase = "serving a slow reader"
      let big = (0..<131072).map { UInt8(truncatingIfNeeded: 0x61 + $0 % 26) }
      let expected = spec.reply == nil ? big : spec.reply(for: 0)
      report.slow = ProgramClient(
        port: port, number: spec.clients + 1, sending: big, expecting: expected, receiveBuffer: 4096, readPerTick: 4096)
      if let slow = report.slow {
        waitUntil(4, [slow]) { slow.done || report.ending != nil }
        slow.close()
      }
    }
    // An abrupt reset, then a client after it.
    if spec.reset && report.running && !report.interrupted {
      phase = "a client reset its connection"
      // 64 KiB of its message in one send, and the RST right after it (in the same step): the
      // server often still has some of it to read after the RST, and then each send of an answer
      // fails (ECONNRESET, then EPIPE, and SIGPIPE for a program that does not ignore it). Often,
      // not always: a server quick enough to read it all first meets only ECONNRESET.
      let number = spec.clients + 2
      let one = spec.message(for: number)
      let many = Array((0..<max(1, 65536 / one.count)).map { _ in one }.joined())
      if let client = ProgramClient(port: port, number: number, sending: many, expecting: many) {
        client.resetOnceWritten = true
        waitUntil(0.5, [client]) { client.closed || client.error != nil }
        client.close(reset: true)
        report.resetDone = true
        waitUntil(0.2, []) { report.ending != nil }
      }
      if report.running && !report.interrupted {
        phase = "serving a client after the reset"
        let number = spec.clients + 3
        report.afterReset = ProgramClient(
          port: port, number: number, sending: spec.message(for: number), expecting: spec.reply(for: number))
        if let after = report.afterReset {
          waitUntil(1, [after]) { after.done || report.ending != nil }
          after.close()
        }
      }
    }
    // The clients left: its sockets once they settle (no connection of the port but in CLOSE_WAIT).
    phase = "after the clients left"
    var end: ProcessView?
    waitUntil(0.5, []) {
      guard let view = familyView() else { return true }
      end = view
      // A CLOSE_WAIT still there after 0.5 s is one the program does not close.
      return !view.sockets.contains { $0.isConnection && $0.inet?.local.port == port }
    }
    report.end = report.ending == nil ? end : nil
  }

  /// The program's processes: `known`, and those whose parent is one of them or that are in its
  /// process group.
  static func family(of pid: Int32, known: Set<Int32>) -> Set<Int32> {
    let all = ProcessSockets.processes()
    var family = known.filter { member in all.contains { $0.pid == member } }
    family.insert(pid)
    var grew = true
    while grew {
      grew = false
      for process in all
      where !family.contains(process.pid) && (process.group == pid || family.contains(process.parent)) {
        family.insert(process.pid)
        grew = true
      }
    }
    return family
  }

  /// The processes whose environment holds `mark` (a try's processes, and what they started).
  static func marked(_ mark: String) -> Set<Int32> {
    let wanted = Array(mark.utf8)
    var found: Set<Int32> = []
    for process in ProcessSockets.processes() where process.pid != getpid() {
      if let environment = ProcessSockets.environment(of: process.pid),
        environment.split(separator: 0).contains(where: { $0.elementsEqual(wanted) })
      {
        found.insert(process.pid)
      }
    }
    return found
  }

  /// Kills every process of this user whose environment holds `mark` (a try's processes, and
  /// whatever they started); how many there were.
  static func stopMarked(_ mark: String) -> Int {
    var stopped: Set<Int32> = []
    // Several rounds over 0.1 s: a process in the middle of putting itself in the background
    // (setsid, then fork) may start its last child just after a round looked.
    for _ in 0..<5 {
      for pid in marked(mark).subtracting(stopped) {
        kill(pid, SIGKILL)
        stopped.insert(pid)
      }
      usleep(20_000)
    }
    return stopped.count
  }

  /// Stops what is left of tries whose shell has ended (it was killed before it could stop them),
  /// and removes their folders; how many processes there were.
  static func stopOrphans() -> Int {
    let prefix = Array("SOCKSHELL_PROGRAM=".utf8)
    var stopped = 0
    var folders: Set<String> = []
    for process in ProcessSockets.processes() where process.pid != getpid() {
      guard let environment = ProcessSockets.environment(of: process.pid),
        let entry = environment.split(separator: 0).first(where: { $0.starts(with: prefix) })
      else { continue }
      let words = String(decoding: entry.dropFirst(prefix.count), as: UTF8.self).split(separator: " ")
      guard words.count == 2, let shell = Int32(words[1]), shell != getpid(), !ProcessSockets.exists(shell) else {
        continue
      }
      kill(process.pid, SIGKILL)
      stopped += 1
      folders.insert(String(words[0]))
    }
    for folder in folders where folder.split(separator: "/").last?.hasPrefix("sockshell-lesson-") == true {
      LinePolicy.removeFolder(folder)
    }
    return stopped
  }

  /// A process that listens on 127.0.0.1:PORT (or every address) now, if any.
  static func holder(of port: UInt16) -> String? {
    let rows = [SocketFamily.ipv4, .ipv6].flatMap { (try? SockDiag.dump(.tcp, family: $0, info: false).get()) ?? [] }
    let listening = rows.filter {
      $0.state == .listen && $0.local.port == port && ($0.local.isWildcard || $0.local.host == "127.0.0.1")
    }
    // The kernel decides: a port 127.0.0.1 can still be bound to is not taken (an IPv6 listener
    // on [::] with v6only leaves IPv4's to others).
    guard !listening.isEmpty, !LessonRun.isFree(port) else { return nil }
    let inodes = Set(listening.map(\.inode))
    if let fd = ownDescriptor(of: inodes) {
      return "your own fd \(fd) in this shell listens there: close it (close \(fd)) and check again"
    }
    return owner(of: inodes).map {
      "process \($0.pid) (\($0.name)) listens there: stop it (kill \($0.pid)) and check again"
    }
      ?? "another user's program listens there: check again when it is free"
  }

  /// This shell's descriptor of one of these socket inodes (a learner's listener on the
  /// program's port), if any.
  static func ownDescriptor(of inodes: Set<UInt64>) -> Int32? {
    guard case .success(let fds) = ProcessSockets.descriptors(of: getpid()) else { return nil }
    return fds.first { inodes.contains($0.inode) }?.fd
  }

  /// Who holds the port, when the program could not bind it: a socket of another process (bound,
  /// listening or connected), or connections in TIME_WAIT. Nil when nothing holds it now.
  static func whoHolds(_ port: UInt16) -> String? {
    let rows = [SocketFamily.ipv4, .ipv6].flatMap { (try? SockDiag.dump(.tcp, family: $0, info: false).get()) ?? [] }
      .filter { $0.local.port == port }
    if let live = rows.first(where: { $0.inode != 0 && $0.state != .timeWait }) {
      if let fd = ownDescriptor(of: [live.inode]) {
        return
          "port \(port) is held by your own fd \(fd) in this shell (\(live.state?.name ?? "open") on \(live.local)): close it (close \(fd))"
      }
      let who = owner(of: [live.inode]).map { "process \($0.pid) (\($0.name))" } ?? "another user's process"
      return "port \(port) is held by \(who): its socket on \(live.local) is \(live.state?.name ?? "open")"
    }
    let waiting = rows.filter { $0.state == .timeWait }.count
    if waiting > 0 {
      return
        "\(waiting) connection\(waiting == 1 ? "" : "s") of an earlier try in TIME_WAIT hold port \(port). A server that sets SO_REUSEADDR before bind binds past those whose listener had set it too (lesson 11); those of a try without it hold the port until they go (at most 60 s): lesson retry takes the step on a new port"
    }
    return nil
  }

  /// The first process holding one of these socket inodes, with its command name.
  static func owner(of inodes: Set<UInt64>) -> (pid: Int32, name: String)? {
    for process in ProcessSockets.processes() where process.pid != getpid() {
      guard case .success(let fds) = ProcessSockets.descriptors(of: process.pid),
        fds.contains(where: { inodes.contains($0.inode) })
      else { continue }
      return (process.pid, ProcessSockets.command(of: process.pid) ?? "?")
    }
    return nil
  }

  /// Whether a socket listens where the clients connect: 127.0.0.1:PORT, or every address.
  static func listens(_ socket: ProcessSocket, on port: UInt16) -> Bool {
    guard socket.listening, socket.isTCP, let local = socket.inet?.local, local.port == port else { return false }
    return local.isWildcard || local.host == "127.0.0.1"
  }

  /// Runs a build step to its end (or `seconds`): its output and how it ended.
  static func run(
    _ path: String, _ arguments: [String], directory: String, limits: ProgramProcess.Limits, seconds: Double,
    loop: EventLoop, interrupt: InterruptWatch
  ) -> (output: [UInt8], ending: String?) {
    let environment = ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C", "TMPDIR=\(directory)"]
    guard
      case .success(let process) = ProgramProcess.start(
        path, arguments: arguments, environment: environment, directory: directory, limits: limits)
    else { return (Array("cannot start \(path)".utf8), nil) }
    let deadline = EventLoop.now() + seconds
    while process.running && EventLoop.now() < deadline && !interrupt.pressed {
      _ = loop.wait(
        for: process.outputFD, events: Int16(POLLIN), deadline: min(deadline, EventLoop.now() + 0.05),
        interrupt: interrupt)
    }
    let ending = process.ending
    process.stop(grace: 0.1)
    return (process.output, ending)
  }
}

extension ProgramReport {
  /// How it ended, as the rest of a sentence that starts "your program": "exited with status 1",
  /// "was killed by SIGPIPE".
  var endedText: String {
    guard let ending else { return "ended" }
    return ending.hasPrefix("killed") ? "was " + ending : ending
  }

  /// Seconds with two decimals: "0.84".
  static func seconds(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
  }

  /// What the try showed, a line each: the build, the start, each kind of client, the sockets at
  /// the end, how it was stopped.
  var summary: [String] {
    var lines: [String] = []
    let name = spec.file
    if !buildCommand.isEmpty && !(spec.language == .c && !started) {
      lines.append(
        spec.language == .c
          ? "built: \(buildCommand) (\(ProgramReport.seconds(buildSeconds)) s)" : "run: \(buildCommand) \(port)")
    }
    guard started else { return lines }
    if let after = listenedAfter {
      let listener = end?.sockets.first { ProgramVerifier.listens($0, on: port) }
      lines.append(
        "listening on port \(port) after \(Int((after * 1000).rounded())) ms"
          + (listener.map { " (its fd \($0.fd), \($0.local), backlog \($0.sendQ ?? 0))" } ?? ""))
    } else if !otherListeners.isEmpty {
      lines.append(
        "it listened on " + otherListeners.map(\.local).joined(separator: ", ")
          + ", not on 127.0.0.1:\(port) (nor on every address)")
    } else if interrupted {
      lines.append("interrupted before it listened")
    } else {
      lines.append("\(name) did not listen on port \(port)")
    }
    if !clients.isEmpty {
      lines.append(
        "\(clients.count) clients at once: \(clients.filter(\.served).count) served; at most \(mostHeld) connection\(mostHeld == 1 ? "" : "s") held at once, at most \(mostWaiting) waiting in the accept queue"
      )
      let unserved = clients.filter { !$0.served }
      for client in unserved.prefix(3) {
        lines.append("  client \(client.number) sent \(ByteText.quoted(client.sent, limit: 30)) and \(client.outcome)")
      }
      if unserved.count > 3 { lines.append("  and \(unserved.count - 3) more clients not served") }
    }
    if let slow {
      lines.append(
        "a slow reader (\(slow.sent.count) bytes, read 4 KiB at a time): "
          + (slow.served
            ? "all \(slow.received.count) bytes back" : "\(slow.received.count) of \(slow.expected.count) bytes back"))
    }
    if resetDone && !interrupted {
      lines.append(
        "a client that reset its connection: "
          + (endedDuring == "a client reset its connection"
            ? "your program \(endedText)"
            : afterReset.map {
              $0.served ? "your program went on, and served the next client" : "the next client \($0.outcome)"
            }
              ?? "your program \(endedText)"))
    }
    if let end {
      let connections = end.sockets.filter(\.isConnection)
      let closeWait = connections.filter { $0.state == "CLOSE_WAIT" }.count
      lines.append(
        "after the clients left: \(end.sockets.count) socket\(end.sockets.count == 1 ? "" : "s") open"
          + (connections.isEmpty ? "" : ", \(connections.count) connection\(connections.count == 1 ? "" : "s")")
          + (closeWait > 0 ? " (\(closeWait) in CLOSE_WAIT)" : "")
          + "; \(acceptedInodes.count) connections seen in all (it was read every 10 ms: one accepted and closed in between is not seen), \(answered) clients answered"
      )
    }
    if orphansStopped > 0 {
      lines.append(
        "first, \(orphansStopped) process\(orphansStopped == 1 ? "" : "es") of an earlier try whose sockshell had been killed \(orphansStopped == 1 ? "was" : "were") stopped"
      )
    }
    if stragglers > 0 {
      lines.append(
        "\(stragglers) process\(stragglers == 1 ? "" : "es") it started had left its process group (setsid): stopped too"
      )
    }
    if interrupted {
      // Ctrl-C ended the try: what came after it is not the program's doing.
      lines.append(
        "interrupted (Ctrl-C): the try stopped there, and so was your program" + (stopped.map { " (\($0))" } ?? ""))
    } else if let ending {
      lines.append("your program \(endedText)" + (endedDuring.map { " while \($0)" } ?? ""))
    } else if let stopped {
      lines.append("stopped at the end: \(stopped) (\(ProgramReport.seconds(seconds)) s of trying)")
    }
    return lines
  }

  /// Why the checks failed, from what the kernel showed (the most telling first).
  var explanations: [String] {
    var lines: [String] = []
    guard problem == nil, started, !interrupted else { return lines }
    if listenedAfter == nil {
      if let wrongAddress = otherListeners.first(where: { $0.inet?.local.port == port }) {
        lines.append(
          "Your program listens on \(wrongAddress.local): the right port, but the lesson's clients connect to 127.0.0.1:\(port), which that socket does not take. Bind 127.0.0.1 (or every address)."
        )
      } else if !otherListeners.isEmpty {
        lines.append(
          "Your program listens on \(otherListeners.map(\.local).joined(separator: ", ")), but the lesson's clients connect to 127.0.0.1:\(port): take the port from the first argument (argv[1] in C, sys.argv[1] in Python), or from the PORT environment variable."
        )
      } else if let ending, stragglers > 0 {
        lines.append(
          "Your program \(endedText) before it listened, and left \(stragglers) process\(stragglers == 1 ? "" : "es") running outside its process group (stopped now): it puts itself in the background (fork and setsid). Serve in the foreground: the lesson starts and stops your program itself."
        )
      } else if let ending, let portHeld {
        lines.append("Your program \(endedText) before it listened, and \(portHeld).")
      } else if let ending {
        lines.append(
          "Your program \(endedText) before it listened"
            + (output.isEmpty ? " (it printed nothing)." : ": its output is above."))
      } else if let bound = beforeListening.first(where: { $0.isTCP && $0.inet?.local.port == port }) {
        lines.append("Its fd \(bound.fd) is bound to \(bound.local) but \(bound.state), not LISTEN: call listen on it.")
      } else {
        lines.append(
          "No socket of your program listened on port \(port) within 5 s"
            + (beforeListening.isEmpty
              ? " (it had no socket open)."
              : " (its sockets: "
                + beforeListening.map { "fd \($0.fd) \($0.state) \($0.local)" }.joined(separator: ", ") + ")."))
      }
      return lines
    }
    if ending != nil, stragglers > 0 {
      lines.append(
        "Your program \(endedText) while \(endedDuring ?? "starting"), and left \(stragglers) process\(stragglers == 1 ? "" : "es") running outside its process group that did the serving (stopped now): it puts itself in the background (fork and setsid). Serve in the foreground: the lesson starts and stops your program itself."
      )
      return lines
    }
    let unserved = clients.filter { !$0.served }
    if unserved.count == clients.count && mostWaiting > 0 && mostHeld == 0 && ending == nil {
      lines.append(
        "\(mostWaiting) connection\(mostWaiting == 1 ? " was" : "s were") waiting in your server's accept queue, and it was never seen holding one: it listens but does not accept (or is stuck before accept)."
      )
    } else if !unserved.isEmpty && mostWaiting > 0 && mostHeld == 1 {
      lines.append(
        "\(mostWaiting) connection\(mostWaiting == 1 ? " was" : "s were") waiting in your server's accept queue while it served one (it never held more than \(mostHeld) at once): it accepts one client at a time. Serve them together: poll, threads or fork."
      )
    }
    if let endedSignal, endedSignal == SIGPIPE {
      lines.append(
        "Your program was killed by SIGPIPE: it sent on a connection the client had reset. Ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL, then treat EPIPE and ECONNRESET as the end of that connection."
      )
    } else if let ending,
      endedDuring == "a client reset its connection" || endedDuring == "serving a client after the reset"
    {
      lines.append(
        "Your program \(endedText) when a client reset its connection: recv or send on it fails with ECONNRESET (or EPIPE). Treat that as the end of that one connection (close it), and go on serving the others."
      )
    } else if let ending {
      lines.append(
        "Your program \(endedText) while \(endedDuring ?? "running")"
          + (output.isEmpty ? "." : ": its output is above."))
    }
    if let end {
      let closeWait = end.sockets.filter { $0.isTCP && $0.state == "CLOSE_WAIT" }
      if !closeWait.isEmpty {
        lines.append(
          "\(closeWait.count) of your program's connections are in CLOSE_WAIT after the clients closed (fds \(closeWait.prefix(8).map { "\($0.fd)" }.joined(separator: ", "))\(closeWait.count > 8 ? ", ..." : "")): the clients closed their side, and a descriptor of your program still holds each one. Close a connection when recv returns 0; a server that forks also closes the parent's copy of each connection after fork."
        )
      }
    }
    // Advice for the slow client only when the program serves the others: otherwise its trouble
    // is not the slow reader.
    if let slow, !slow.served, running, unserved.isEmpty {
      lines.append(
        "The slow client got \(slow.received.count) of \(slow.expected.count) bytes back: when a client reads slowly, send may write less than asked (and a non-blocking send fails with EAGAIN); send the rest when the socket is writable again."
      )
    }
    if let after = afterReset, !after.served, after.received.isEmpty, running, ending == nil,
      clients.contains(where: \.served)
    {
      lines.append(
        "After a client reset its connection, the next client \(after.outcome): the program stopped serving.")
    }
    // Part of an answer: the program answered one recv's worth, or one line of several.
    if let client = clients.first(where: {
      !$0.served && !$0.received.isEmpty && $0.received.count < $0.expected.count
        && $0.expected.starts(with: $0.received)
    }), slow.map({ $0 !== client }) ?? true {
      lines.append(
        "Client \(client.number) got \(ByteText.quoted(client.received, limit: 30)) back, the start of \(ByteText.quoted(client.expected, limit: 30)): your program answered only part of what it was sent. One recv may hold several lines (or messages), and one may need several recvs: answer all of what arrived, keep an unfinished rest for the next recv, and send until everything is sent."
      )
    }
    let wrong = clients.filter { !$0.served && !$0.received.isEmpty && $0.received.count >= $0.expected.count }
    if let client = wrong.first {
      lines.append(
        "Client \(client.number) sent \(ByteText.quoted(client.sent, limit: 30)) and got \(ByteText.quoted(client.received, limit: 30)) back, not \(ByteText.quoted(client.expected, limit: 30))."
      )
    }
    return lines
  }
}
