#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// A student's side of a class (`sockshell --join ADDR CODE`): one connection to the
/// instructor's shell, a source of the event loop. Each command the instructor runs is shown
/// with what the instructor saw, then offered at the prompt (Enter runs it on this machine's
/// kernel) or, with `follow on`, run at once. What comes from the instructor is held to the
/// policy for lines from elsewhere: socket calls only, numeric addresses or localhost, and a
/// bind to every address only with the student's own Enter. A dropped connection is tried again.
final class ClassClient {
  let server: SocketAddress
  let code: String
  let name: String
  unowned let session: Session
  var loop: EventLoop { session.loop }
  var connection: ClassConnection?
  var token: String?
  /// The last command seen (for reconnecting: the instructor sends what came after).
  var lastSeq = 0
  var connected = false
  var follow = false
  var hand = false
  var shared: String?
  /// Lines from the instructor waiting to run (follow, replay): each runs once it would not block.
  var queue: [(line: ParsedLine, shown: String)] = []
  var retryTimer = 0
  var retryDelay = 1.0
  var turnTimer = 0
  var leaving = false

  init(server: SocketAddress, code: String, name: String, session: Session) {
    self.server = server
    self.code = code
    self.name = name
    self.session = session
  }

  var out: Output { session.out }

  func say(_ text: String, _ style: Style = .note) { out.line("  class: " + text, style) }

  /// Connects. Joining waits for the handshake at most `waitSeconds` (a class is on the local
  /// network) and says why it failed; a try again (nil) waits in the event loop instead, so that
  /// a host that does not answer never holds the prompt.
  func connect(waitSeconds: Double? = 3) -> Bool {
    guard case .success(let raw) = Sys.socket(server.family, .stream) else { return false }
    let fd = ClassConnection.adopt(raw)
    var inProgress = false
    if case .failure(let error) = Sys.connect(fd, server) {
      guard error.code == EINPROGRESS else {
        Glibc.close(fd)
        say("cannot reach the class at \(server): \(error.name) (\(error.message))", .error)
        return false
      }
      inProgress = true
    }
    let connection = ClassConnection(fd: fd)
    if inProgress, let waitSeconds {
      let writable =
        (try? Sys.poll([fd], events: Int16(POLLOUT), timeoutMilliseconds: Int32(waitSeconds * 1000)).get())?.first ?? 0
      if let why = ClassClient.connectFailure(fd, writable: writable != 0) {
        Glibc.close(fd)
        say("cannot reach the class at \(server): \(why.name) (\(why.message))", .error)
        return false
      }
      inProgress = false
    }
    self.connection = connection
    connecting = inProgress
    connection.source = loop.watch(fd: fd, events: Int16(inProgress ? POLLOUT : POLLIN)) { [unowned self] revents in
      self.serve(revents)
    }
    if !inProgress { sayHello() }
    return true
  }

  /// Why a connect did not complete (nil: it did).
  static func connectFailure(_ fd: Int32, writable: Bool) -> Errno? {
    let soError = (try? Sys.getsockopt(fd, level: SOL_SOCKET, name: SO_ERROR).get()) ?? 0
    if soError != 0 { return Errno(soError) }
    return writable ? nil : Errno(ETIMEDOUT)
  }

  /// A connect that waits in the event loop (trying again).
  var connecting = false

  func sayHello() {
    guard let connection else { return }
    var hello = ClassMessage("hello")
    hello.code = code
    hello.name = name
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count - 1)
    hello.host = String(cString: buffer)
    hello.token = token
    hello.seq = token == nil ? nil : lastSeq
    connection.send(hello, force: true)
  }

  func serve(_ revents: Int16) {
    guard let connection else { return }
    if connecting {
      if let why = ClassClient.connectFailure(connection.fd, writable: revents & Int16(POLLOUT) != 0) {
        return lost(why.message)
      }
      connecting = false
      loop.setEvents(connection.source, Int16(POLLIN))
      sayHello()
      return
    }
    if revents & Int16(POLLOUT) != 0 { connection.flush() }
    if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
      for line in connection.receive() {
        guard let message = ClassMessage.decode(line) else {
          connection.ended = "the instructor's shell sent a line that is not a class message"
          break
        }
        handle(message)
      }
    }
    if let ended = connection.ended { return lost(ended) }
    loop.setEvents(connection.source, connection.waiting > 0 ? Int16(POLLIN | POLLOUT) : Int16(POLLIN))
  }

  func handle(_ message: ClassMessage) {
    switch message.type {
    case "welcome":
      token = message.token
      retryDelay = 1
      let wasConnected = connected
      connected = true
      if wasConnected { break }
      if lastSeq > 0 {
        say("back in the class.")
      } else {
        let missed = message.missed ?? 0
        var text = "joined the class as \(classText(message.name, limit: ClassLimits.nameLength) ?? name)."
        text +=
          " The instructor's commands will show here, each ready at your prompt: Enter runs it on your machine (Ctrl-U clears it, to type your own)."
        text += " follow on runs them at once; hand raises your hand."
        if missed > 0 { text += " \(counted(missed, "command")) ran before you joined: class replay runs them." }
        say(text)
      }
      sendStatus(nil)
      if let shared { share(shared) }
    case "refused":
      let why = classText(message.why, limit: 200) ?? "refused"
      if message.again == true {
        // Full for now (or busy): tried again later, as after a drop.
        say("the class cannot take you now (\(why)); trying again ...", .error)
        connection?.ended = why
        return
      }
      say("the class refused to let you join: \(why).", .error)
      leave(quietly: true)
    case "bye":
      say("the class ended: \(classText(message.why, limit: 200) ?? "goodbye").")
      leave(quietly: true)
    case "resync":
      guard let missed = message.missed, missed > 0 else { break }
      say(
        "\(counted(missed, "command")) of the instructor's did not reach you (your shell was busy): class replay runs the class from the start."
      )
    case "peers":
      // Only what reads as an address is shown (the instructor's shell could be anyone's).
      let peers = (message.peers ?? []).prefix(200).compactMap { peer -> [String]? in
        guard let address = classAddress(peer.address) else { return nil }
        return ["    " + (classText(peer.name, limit: ClassLimits.nameLength) ?? "?"), "\(address)"]
      }
      if peers.isEmpty {
        say("nobody shares a listening socket yet (class share FD shares yours).")
      } else {
        say("shared listening sockets (connect FD ADDRESS reaches one):")
        out.table([["    NAME", "ADDRESS"]] + peers)
      }
    case "command":
      received(message)
    default:
      break  // a newer instructor's message: nothing to do with it
    }
  }

  /// A command of the instructor's: shown as they saw it, then offered, queued or refused.
  func received(_ message: ClassMessage) {
    guard let text = classText(message.line, limit: ClassLimits.lineLength) else { return }
    let replay = message.replay == true
    // A replay runs only when this student asked for one.
    if replay && !replayAsked { return }
    if !replay, let seq = message.seq { lastSeq = max(lastSeq, seq) }
    if !replay {
      out.line("  instructor> " + text, .note)
      // At most the protocol's lines, and one that says how many more the instructor saw.
      for line in (message.output ?? []).prefix(ClassLimits.outputLines + 1) {
        out.line("    " + (classText(line, limit: ClassLimits.outputLineLength) ?? ""), .note)
      }
    }
    let parsed: ParsedLine
    do {
      guard let line = try Parser.parse(text) else { return }
      parsed = line
    } catch {
      return say("not offered: the line does not parse here (\(error.message)).", .error)
    }
    if let why = LinePolicy.refusal(parsed, from: .instructor, folder: "") {
      return say("not offered: \(why).", .error)
    }
    if follow || replay {
      queue.append((parsed, text))
      startTurns()
    } else {
      offers.append(text)
      if offers.count > ClassClient.maxOffers {
        offers.removeFirst()
        droppedOffers += 1
        if droppedOffers == 1 {
          say(
            "more than \(ClassClient.maxOffers) of the instructor's commands wait at your prompt: the oldest are dropped (follow on runs them as they come).",
            .error)
        }
      }
      if offers.count == 1 { session.host.offer?(text) }
    }
  }

  static let maxOffers = 1000
  var droppedOffers = 0
  /// The student asked for the commands before they joined (`class replay`).
  var replayAsked = false

  /// The instructor's commands waiting at the prompt, oldest first: the first is in the line
  /// being edited; Enter on it brings the next.
  var offers: [String] = []

  func startTurns() {
    if turnTimer == 0 { turnTimer = loop.every(0.05) { [unowned self] in self.takeTurn() } }
    takeTurn()
  }

  /// Runs the queued lines that would not block; a bind to every address is offered instead
  /// (the student's own Enter runs it), and the queue waits until the student ran a line.
  func takeTurn() {
    guard !session.isRunningCommand, !pausedOnWildcard else { return }
    while let (line, shown) = queue.first {
      if let why = exposesEveryAddress(line) ?? namesByNumber(line) {
        offers.insert(shown, at: 0)
        held = shown
        session.host.offer?(shown)
        say("\(shown): \(why), so it waits for your Enter (the instructor's next lines wait after it).")
        pausedOnWildcard = true
        queue.removeFirst()
        break
      }
      // A call that would wait (not one that returns at once: dontwait, a nonblocking socket).
      if let ref = line.command.waitsOn, case .success(let descriptor) = session.resolve(ref),
        !line.command.arguments.contains("dontwait"), (try? Sys.isNonBlocking(descriptor.fd).get()) != true,
        (try? Sys.poll([descriptor.fd], events: Int16(POLLIN), timeoutMilliseconds: 0).get().first) == 0
      {
        // It would wait: the next turn tries again. Said once, with the way out.
        if waitingSaid != shown {
          waitingSaid = shown
          say(
            "\(shown) waits until \(descriptor.label) has something to read; it runs then, and the instructor's next lines after it (follow off puts them at your prompt instead)."
          )
        }
        return
      }
      queue.removeFirst()
      out.line("sockshell> " + shown + "   (from the instructor)", .note)
      // Run as a line from elsewhere is: every wait bounded (Ctrl-C is a key at the prompt,
      // so nothing could stop a wait without its limit).
      isRunningQueue = true
      let options = session.options
      session.options.interactive = false
      session.options.waitLimit = 2
      session.executeBounded(line, seconds: 2)
      session.options = options
      isRunningQueue = false
    }
    if queue.isEmpty || pausedOnWildcard {
      loop.cancel(turnTimer)
      turnTimer = 0
    }
  }

  var pausedOnWildcard = false
  /// The line whose wait was said (once).
  var waitingSaid: String?

  /// Why a line from the instructor would open this machine to every address, where it would:
  /// a bind to every address, a listen on a socket not bound (the kernel binds it to every
  /// address), a datagram from a socket not bound (the same). Only the student's Enter runs it.
  func exposesEveryAddress(_ line: ParsedLine) -> String? {
    if LinePolicy.bindsEveryAddress(line) { return "a bind to every address" }
    // A bind to another descriptor's address: every address, when that one is bound to it.
    if line.spec.name == "bind" {
      for case .descriptor(let ref) in line.command.namedAddresses {
        if case .success(let other) = session.resolve(ref), let local = try? Sys.getsockname(other.fd).get(),
          local.isWildcard
        {
          return "a bind to \(other.label)'s address, which is every address"
        }
      }
    }
    guard ["listen", "sendto"].contains(line.spec.name), let word = line.command.arguments.first,
      let ref = DescriptorRef(word: word), case .success(let descriptor) = session.resolve(ref),
      let local = try? Sys.getsockname(descriptor.fd).get(), local.port == 0, local.family != .unix
    else { return nil }
    return line.spec.name == "listen"
      ? "listen on a socket not bound binds it to every address"
      : "a datagram from a socket not bound binds it to every address"
  }
  var isRunningQueue = false

  /// Why a line that names a descriptor by its number waits for the student's Enter: on this
  /// machine that number may be a socket of the student's own.
  func namesByNumber(_ line: ParsedLine) -> String? {
    let completion = line.spec.completion
    for (index, word) in line.command.arguments.enumerated() {
      let kind = index < completion.count ? completion[index] : (line.spec.repeatsLast ? completion.last : nil)
      guard kind == .descriptor, let number = Int(word) else { continue }
      let whose = session.descriptors[Int32(clamping: number)].map { " (here: \($0.label))" } ?? ""
      return "it names fd \(number) by number, which on your machine may be another socket\(whose)"
    }
    return nil
  }

  /// Ctrl-C at the prompt cleared the offered line: it is offered again.
  func reoffer() {
    if let first = offers.first { session.host.offer?(first) }
  }

  /// `follow on`: what waits at the prompt runs now, in order (held lines held again).
  func startFollowing() {
    follow = true
    let waiting = offers.compactMap { text in (try? Parser.parse(text)).flatMap { $0 }.map { ($0, text) } }
    offers.removeAll()
    pausedOnWildcard = false
    held = nil
    queue = waiting + queue
    if !queue.isEmpty { startTurns() }
  }

  /// After a line the student ran: the roster hears of it, and a queue that waited on the
  /// student's Enter goes on.
  func studentRan(_ line: ParsedLine, result: LineResult) {
    sendStatus(line.shownSource, ok: result.ok)
    if !isRunningQueue, let first = offers.first {
      // The offered line, as offered or edited (the same command on the same descriptor).
      if first == line.shownSource
        || (try? Parser.parse(first))?.map(Presentation.identity) == Presentation.identity(line)
      {
        offered(first)
      }
      // The next one (or the same, when the student typed a command of their own) is ready again.
      if let next = offers.first { session.host.offer?(next) }
    }
  }

  /// The offered line was run (or skipped): the next is offered; a queue that waited on it goes on.
  func offered(_ line: String) {
    offers.removeFirst()
    if offers.count > 1 { say("(\(offers.count) more of the instructor's commands wait; next skips one.)") }
    if pausedOnWildcard && line == held {
      pausedOnWildcard = false
      held = nil
      if !queue.isEmpty { startTurns() }
    }
  }

  /// The line follow or replay holds for the student's Enter.
  var held: String?

  func sendStatus(_ line: String?, ok: Bool? = nil) {
    guard connected, let connection else { return }
    var status = ClassMessage("status")
    status.line = line.map { String($0.prefix(200)) }
    status.ok = ok
    if let run = session.host.lessonRun, !run.finished {
      status.lesson = run.lesson.id
      status.step = run.stepIndex + 1
    }
    connection.send(status)
  }

  func raiseHand(_ up: Bool) {
    hand = up
    var message = ClassMessage("hand")
    message.up = up
    connection?.send(message, force: true)
  }

  func share(_ address: String?) {
    shared = address
    var message = ClassMessage("share")
    message.address = address
    connection?.send(message, force: true)
  }

  func ask(_ type: String) {
    if type == "replay" { replayAsked = true }
    connection?.send(ClassMessage(type), force: true)
  }

  /// `next` (or `class skip`): the offered line is dropped; the next one is offered.
  func skipOffer() -> String? {
    guard let skipped = offers.first else { return nil }
    offered(skipped)
    if let next = offers.first { session.host.offer?(next) }
    return skipped
  }

  /// `follow off`: what waits to run goes to the prompt instead, in order.
  func stopFollowing() {
    follow = false
    let waiting = queue.map(\.shown)
    queue.removeAll()
    pausedOnWildcard = false
    held = nil
    guard !waiting.isEmpty else { return }
    let wasEmpty = offers.isEmpty
    offers += waiting
    if wasEmpty, let first = offers.first { session.host.offer?(first) }
  }

  /// The connection ended: tried again after 1, 2, 4 ... up to 10 seconds, unless the student left.
  func lost(_ why: String) {
    if let connection {
      loop.cancel(connection.source)
      connection.close()
    }
    connection = nil
    guard !leaving else { return }
    if connected { say("lost the class (\(why)); trying again ...", .error) }
    connected = false
    scheduleRetry()
  }

  func scheduleRetry() {
    guard retryTimer == 0 else { return }
    retryTimer = loop.every(retryDelay) { [unowned self] in
      self.loop.cancel(self.retryTimer)
      self.retryTimer = 0
      self.retryDelay = min(10, self.retryDelay * 2)
      if !self.quietConnect() { self.scheduleRetry() }
    }
  }

  /// A try again, said only when it works (`lost` tries again when it does not).
  func quietConnect() -> Bool {
    let muted = out.muted
    out.muted = true
    defer { out.muted = muted }
    return connect(waitSeconds: nil)
  }

  func leave(quietly: Bool = false) {
    leaving = true
    if let connection {
      if !quietly { connection.send(ClassMessage("bye"), force: true) }
      loop.cancel(connection.source)
      connection.close()
    }
    connection = nil
    connected = false
    loop.cancel(retryTimer)
    loop.cancel(turnTimer)
    retryTimer = 0
    turnTimer = 0
    queue.removeAll()
    if session.host.classClient === self { session.host.classClient = nil }
  }
}
