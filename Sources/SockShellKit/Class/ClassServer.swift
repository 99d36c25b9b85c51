#if canImport(Glibc)
  import Glibc
#endif
import FoundationEssentials
import SocketLayer

/// The instructor's side of a class (`class serve`): a listener and the students' connections,
/// all sources of the shell's one event loop. Every command the instructor runs that a student's
/// shell may run (the policy for lines from elsewhere) goes into the class's log, with what the
/// instructor saw; each student is sent the log from where they are, as their connection takes
/// it, so that one who stops reading holds nothing up and costs no more than its buffer.
final class ClassServer {
  /// A student as the roster shows them.
  final class Student {
    let id: Int
    let token: String
    var name: String
    var host: String
    var address: String
    var connection: ClassConnection?
    /// The next command to send (a number in the log).
    var cursor: Int
    /// `class replay`: the next command of those before they joined, and where those end.
    var replayCursor: Int?
    let joinedAt: Int
    var lastLine: String?
    var lastOK: Bool?
    var lesson: String?
    var step: Int?
    var hand = false
    var handSaid = -1000.0
    var shared: String?

    init(id: Int, token: String, name: String, host: String, address: String, cursor: Int) {
      self.id = id
      self.token = token
      self.name = name
      self.host = host
      self.address = address
      self.cursor = cursor
      joinedAt = cursor
    }
  }

  struct Entry {
    let seq: Int
    let message: ClassMessage
  }

  let listener: Int32
  let address: SocketAddress
  let code: String
  unowned let session: Session
  var loop: EventLoop { session.loop }
  var listenerSource = 0
  /// Connections that have not said hello yet, with when they came.
  var pending: [(connection: ClassConnection, since: Double)] = []
  var students: [Student] = []
  var log: [Entry] = []
  var nextSeq = 1
  var nextID = 1
  var refusedJoins = 0
  var silentSaid = -1000.0
  var timer = 0

  init(listener: Int32, address: SocketAddress, code: String, session: Session) {
    self.listener = listener
    self.address = address
    self.code = code
    self.session = session
  }

  /// Serves a class at `address` (port 0: the kernel picks one).
  static func start(at address: SocketAddress, session: Session) -> Result<ClassServer, CommandRefusal> {
    guard case .success(let raw) = Sys.socket(address.family, .stream) else {
      return .failure(CommandRefusal("cannot make the class's socket: \(String(cString: strerror(errno)))"))
    }
    let fd = ClassConnection.adopt(raw)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    if case .failure(let errno) = Sys.bind(fd, address) {
      Glibc.close(fd)
      return .failure(CommandRefusal("cannot serve the class at \(address): \(errno.name) (\(errno.message))"))
    }
    _ = Sys.listen(fd, backlog: 128)
    let bound = (try? Sys.getsockname(fd).get()) ?? address
    let server = ClassServer(listener: fd, address: bound, code: ClassServer.newCode(), session: session)
    server.listenerSource = session.loop.watch(fd: fd, events: Int16(POLLIN)) { [unowned server] _ in
      server.acceptAll()
    }
    session.lineObservers.append { [weak server] line, result, shown in
      server?.instructorRan(line, result: result, shown: shown)
    }
    return .success(server)
  }

  /// A short code from letters and digits that cannot be mistaken for each other (no O/0, I/1).
  static func newCode() -> String {
    let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    var random = SystemRandomNumberGenerator()  // the kernel's getrandom
    return String((0..<4).map { _ in alphabet.randomElement(using: &random)! })
  }

  /// The line students type: with an address they can reach (the machine's first address that is
  /// not loopback, when the class listens on every address).
  var joinLine: String {
    var shown = address
    if address.isWildcard, let outside = ClassServer.outsideAddress(family: address.family) {
      shown = outside.withPort(address.port ?? 0)
    }
    return "sockshell --join \(shown) \(code)"
  }

  /// The first address of an interface that is up and not loopback.
  static func outsideAddress(family: SocketFamily) -> SocketAddress? {
    var list: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&list) == 0 else { return nil }
    defer { freeifaddrs(list) }
    var item = list
    while let entry = item {
      defer { item = entry.pointee.ifa_next }
      guard let raw = entry.pointee.ifa_addr, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0 else { continue }
      let length = socklen_t(
        raw.pointee.sa_family == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
      var storage = sockaddr_storage()
      withUnsafeMutableBytes(of: &storage) {
        $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(length)))
      }
      guard let found = SocketAddress(storage: storage, length: length), found.family == family,
        !found.isLoopback
      else { continue }
      if case .ipv6(let bytes, _, _) = found, bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { continue }  // link-local
      return found
    }
    return nil
  }

  /// Ends the class: every connection closed.
  func stop() {
    for student in students {
      student.connection.map { send($0, bye: "the instructor ended the class") }
      close(student)
    }
    for (connection, _) in pending { loop.cancel(connection.source); connection.close() }
    pending.removeAll()
    loop.cancel(listenerSource)
    loop.cancel(timer)
    Glibc.close(listener)
  }

  func send(_ connection: ClassConnection, bye why: String) {
    var bye = ClassMessage("bye")
    bye.why = why
    connection.send(bye, force: true)
  }

  // MARK: Connections

  /// Wrong codes by address: past `wrongCodesAllowed` in a minute, that address is turned away
  /// for a minute (a four-letter code is not to be guessed by trying).
  var wrongCodes: [String: (count: Int, since: Double)] = [:]
  static let wrongCodesAllowed = 5
  /// At most this many connections from one address wait for their hello, and this many in all
  /// (the oldest goes first): idle connections cannot fill the class, and a lab behind one
  /// address (NAT) whose students all join at once still gets in.
  static let pendingPerAddress = 64
  static let pendingInAll = 256

  func turnedAway(_ host: String) -> Bool {
    guard let record = wrongCodes[host] else { return false }
    if EventLoop.now() - record.since > 60 {
      wrongCodes[host] = nil
      return false
    }
    return record.count >= ClassServer.wrongCodesAllowed
  }

  func acceptAll() {
    for _ in 0..<32 {
      guard case .success(let accepted) = Sys.accept(listener) else { return }
      let connection = ClassConnection(fd: ClassConnection.adopt(accepted.fd))
      let host = accepted.peer?.host ?? "?"
      connection.peerHost = host
      if turnedAway(host) {
        turnAway(connection, "too many wrong join codes from \(host): try again in a minute")
        continue
      }
      if pending.filter({ $0.connection.peerHost == host }).count >= ClassServer.pendingPerAddress {
        drop(pending.first { $0.connection.peerHost == host }!.connection)
      } else if pending.count >= ClassServer.pendingInAll {
        drop(pending[0].connection)
      }
      // The kernel keeps little for a student (the class's log holds the rest): a student who
      // stops reading costs its buffers, not the class's memory.
      var buffer: Int32 = Int32(ClassLimits.sendBuffer)
      setsockopt(connection.fd, SOL_SOCKET, SO_SNDBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
      if students.filter({ $0.connection != nil }).count >= ClassLimits.students {
        turnAway(connection, "the class is full")
        continue
      }
      pending.append((connection, EventLoop.now()))
      watch(connection)
      if timer == 0 { timer = loop.every(1) { [unowned self] in self.expirePending() } }
    }
  }

  /// Refuses a connection for now: its shell tries again later.
  func turnAway(_ connection: ClassConnection, _ why: String) {
    var refused = ClassMessage("refused")
    refused.why = why
    refused.again = true
    connection.send(refused, force: true)
    connection.close()
  }

  func watch(_ connection: ClassConnection) {
    connection.source = loop.watch(fd: connection.fd, events: Int16(POLLIN)) {
      [unowned self, unowned connection] revents in
      self.serve(connection, revents: revents)
    }
  }

  /// Connections that did not say hello in time are closed; the timer stops when none waits.
  func expirePending() {
    let now = EventLoop.now()
    var silent: Set<String> = []
    for (connection, since) in pending where now - since > ClassLimits.helloSeconds {
      send(connection, bye: "no hello within \(Int(ClassLimits.helloSeconds)) s")
      silent.insert(connection.peerHost)
      drop(connection)
    }
    // Said at most once a minute: connections that never spoke (a port scan, a flood).
    if !silent.isEmpty && now - silentSaid > 60 {
      silentSaid = now
      say("connections from \(silent.sorted().prefix(3).joined(separator: ", ")) said no hello and were closed.")
    }
    if pending.isEmpty {
      loop.cancel(timer)
      timer = 0
    }
  }

  func drop(_ connection: ClassConnection) {
    loop.cancel(connection.source)
    connection.close()
    pending.removeAll { $0.connection === connection }
  }

  func close(_ student: Student) {
    guard let connection = student.connection else { return }
    loop.cancel(connection.source)
    connection.close()
    student.connection = nil
  }

  func serve(_ connection: ClassConnection, revents: Int16) {
    if revents & Int16(POLLOUT) != 0 { connection.flush() }
    if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
      for line in connection.receive() {
        guard let message = ClassMessage.decode(line) else {
          connection.ended = "a line that is not a class message"
          break
        }
        handle(message, from: connection)
        if connection.ended != nil { break }
      }
    }
    let student = students.first { $0.connection === connection }
    if let ended = connection.ended {
      if let student {
        close(student)
        student.hand = false
        sayComing("\(student.name) left the class (\(ended)).")
      } else {
        drop(connection)
      }
      return
    }
    if let student { pump(student) }
    // Wanting to write only while something waits: an idle class does no work.
    loop.setEvents(connection.source, connection.waiting > 0 ? Int16(POLLIN | POLLOUT) : Int16(POLLIN))
  }

  func handle(_ message: ClassMessage, from connection: ClassConnection) {
    guard let student = students.first(where: { $0.connection === connection }) else {
      guard message.type == "hello" else {
        connection.ended = "no hello"
        return
      }
      return welcome(message, connection)
    }
    switch message.type {
    case "status":
      // A status without a line (after joining: the lesson only) keeps the last command.
      if let line = message.line {
        student.lastLine = classText(line, limit: 200)
        student.lastOK = message.ok
      }
      student.lesson = classText(message.lesson, limit: ClassLimits.nameLength)
      student.step = message.step.map { max(0, min($0, 1000)) }
    case "hand":
      student.hand = message.up ?? !student.hand
      let now = EventLoop.now()
      if student.hand && now - student.handSaid > 10 {
        student.handSaid = now
        say("\(student.name) raised a hand (class lists the hands).")
      }
    case "share":
      // A student shares their own listener: at the address the class sees them from (a
      // wildcard or loopback host means that address); another host's address is not theirs.
      guard let text = message.address else {
        student.shared = nil
        break
      }
      guard var address = classAddress(text), let mine = try? Sys.getpeername(connection.fd).get() else {
        connection.ended = "a share that is not an address"
        break
      }
      if address.isWildcard || (address.isLoopback && !mine.isLoopback) { address = mine.withPort(address.port ?? 0) }
      if address.host == mine.host && address.port != 0 { student.shared = "\(address)" }
    case "peers":
      var reply = ClassMessage("peers")
      reply.peers = students.compactMap { other in
        other.connection == nil ? nil : other.shared.map { ClassMessage.Peer(name: other.name, address: $0) }
      }
      connection.send(reply, force: true)
    case "replay":
      student.replayCursor = log.first?.seq ?? nextSeq
    case "bye":
      connection.ended = "they left"
    default:
      connection.ended = "a message of an unknown type"
    }
  }

  func welcome(_ hello: ClassMessage, _ connection: ClassConnection) {
    guard hello.code?.uppercased() == code else {
      refusedJoins += 1
      let host = connection.peerHost
      let record =
        wrongCodes[host].map { EventLoop.now() - $0.since > 60 ? (0, EventLoop.now()) : $0 } ?? (0, EventLoop.now())
      wrongCodes[host] = (record.0 + 1, record.1)
      if record.0 + 1 == ClassServer.wrongCodesAllowed {
        say("\(ClassServer.wrongCodesAllowed) wrong join codes from \(host): it is turned away for a minute.")
      }
      var refused = ClassMessage("refused")
      refused.why = "wrong join code"
      connection.send(refused, force: true)
      connection.ended = "wrong join code"
      return
    }
    pending.removeAll { $0.connection === connection }
    let name = classText(hello.name, limit: ClassLimits.nameLength).flatMap { $0.isEmpty ? nil : $0 } ?? "student"
    let host = classText(hello.host, limit: ClassLimits.nameLength) ?? "?"
    let peer = (try? Sys.getpeername(connection.fd).get()).map { $0.host } ?? "?"
    let student: Student
    // Back after `class leave` (no token): the same name from the same address takes its old row.
    let returning = students.first { $0.connection == nil && $0.name == name && $0.address == peer }
    if let known = hello.token.flatMap({ token in students.first { $0.token == token } }) ?? returning {
      // Back after a drop: the same place in the roster, and the commands since it left.
      close(known)
      student = known
      student.address = peer
      if hello.token != nil, let seen = hello.seq {
        student.cursor = max(seen + 1, log.first?.seq ?? nextSeq)
        say("\(student.name) is back.")
      } else {
        student.cursor = nextSeq  // joined again: from now on, as a new student
        say("\(student.name) joined again from \(peer).")
      }
    } else {
      student = Student(
        id: nextID, token: ClassServer.newToken(), name: uniqueName(name), host: host, address: peer, cursor: nextSeq)
      nextID += 1
      students.append(student)
      sayComing(
        "\(student.name) joined from \(peer) (\(host)): \(counted(students.filter { $0.connection != nil }.count + 1, "student"))."
      )
      // Rows of students long gone are let go past the class's size.
      if students.count > ClassLimits.students, let gone = students.firstIndex(where: { $0.connection == nil }) {
        students.remove(at: gone)
      }
    }
    student.connection = connection
    var welcome = ClassMessage("welcome")
    welcome.token = student.token
    welcome.name = student.name
    welcome.seq = nextSeq - 1
    welcome.missed = max(0, student.cursor - (log.first?.seq ?? nextSeq))
    connection.send(welcome, force: true)
    pump(student)
  }

  func uniqueName(_ name: String) -> String {
    var candidate = name
    var number = 2
    while students.contains(where: { $0.name == candidate }) {
      candidate = "\(name)-\(number)"
      number += 1
    }
    return candidate
  }

  static func newToken() -> String {
    var random = SystemRandomNumberGenerator()
    return (0..<12).map { _ in UInt8.random(in: 0...255, using: &random) }.map {
      String($0, radix: 16).leftPadded(to: 2)
    }.joined()
  }

  /// What the instructor is told, above the prompt.
  func say(_ text: String) { session.out.line("  class: " + text, .note) }

  /// Joins and leaves are told one by one, but at most five in ten seconds: past that they are
  /// counted, and the count told with the next (a flood of joins does not fill the screen).
  var notices: [Double] = []
  var noticesHeld = 0

  func sayComing(_ text: String) {
    let now = EventLoop.now()
    notices.removeAll { now - $0 > 10 }
    guard notices.count < 5 else {
      noticesHeld += 1
      return
    }
    notices.append(now)
    let held = noticesHeld > 0 ? " (and \(noticesHeld) more joins and leaves before it: class shows who is here)" : ""
    noticesHeld = 0
    say(text + held)
  }

  // MARK: The log

  /// A line the instructor ran: into the log when a student's shell may run it. A socket call
  /// that may not go is said to the instructor (the students see nothing of it).
  func instructorRan(_ line: ParsedLine, result: LineResult, shown: [(text: String, style: Style)]) {
    if let why = LinePolicy.refusal(line, from: .instructor, folder: "") {
      if type(of: line.command).capabilities.contains(.syscall) { say("not sent to the students: \(why).") }
      return
    }
    var message = ClassMessage("command")
    message.seq = nextSeq
    message.line = String(line.shownSource.prefix(ClassLimits.lineLength))
    message.output = shown.prefix(ClassLimits.outputLines).map { String($0.text.prefix(ClassLimits.outputLineLength)) }
    if shown.count > ClassLimits.outputLines {
      message.output?.append("... (\(shown.count - ClassLimits.outputLines) more lines)")
    }
    message.ok = result.ok
    log.append(Entry(seq: nextSeq, message: message))
    nextSeq += 1
    if log.count > ClassLimits.logSize { log.removeFirst(log.count - ClassLimits.logSize) }
    for student in students { pump(student) }
  }

  /// Sends a student what they are due while their connection takes it: the replay they asked
  /// for, then the live commands; past the log's start, a resync says how many were dropped.
  func pump(_ student: Student) {
    guard let connection = student.connection else { return }
    let first = log.first?.seq ?? nextSeq
    if let replay = student.replayCursor {
      var at = max(replay, first)
      while at < student.joinedAt && at < nextSeq && connection.waiting < ClassLimits.sendBuffer {
        var message = log[at - first].message
        message.replay = true
        connection.send(message)
        at += 1
      }
      student.replayCursor = at < student.joinedAt && at < nextSeq ? at : nil
      if student.replayCursor != nil { return }
    }
    // Behind the log's start: a resync (once there is room for it) says how many were dropped.
    if student.cursor < first && connection.waiting < ClassLimits.sendBuffer {
      var resync = ClassMessage("resync")
      resync.missed = first - student.cursor
      connection.send(resync, force: true)
      student.cursor = first
    }
    while student.cursor >= first && student.cursor < nextSeq && connection.waiting < ClassLimits.sendBuffer {
      connection.send(log[student.cursor - first].message)
      student.cursor += 1
    }
    loop.setEvents(connection.source, connection.waiting > 0 ? Int16(POLLIN | POLLOUT) : Int16(POLLIN))
  }

  // MARK: The roster

  struct RosterRow: Codable {
    var name: String
    var host: String
    var address: String
    var connected: Bool
    var last: String?
    var ok: Bool?
    var lesson: String?
    var step: Int?
    var hand: Bool
    var shared: String?
    var behind: Int
  }

  var roster: [RosterRow] {
    students.map { student in
      RosterRow(
        name: student.name, host: student.host, address: student.address, connected: student.connection != nil,
        last: student.lastLine, ok: student.lastOK, lesson: student.lesson, step: student.step, hand: student.hand,
        shared: student.shared, behind: nextSeq - student.cursor)
    }
  }
}

extension String {
  func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}

extension SocketAddress {
  /// The same address with another port.
  func withPort(_ port: UInt16) -> SocketAddress {
    switch self {
    case .ipv4(let bytes, _): .ipv4(bytes, port: port)
    case .ipv6(let bytes, _, let scope): .ipv6(bytes, port: port, scopeID: scope)
    default: self
    }
  }
}
