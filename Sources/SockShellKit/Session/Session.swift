#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import SocketLayer

/// A descriptor this shell created, with what the kernel cannot tell us afterwards.
public struct Descriptor: Sendable, Equatable {
  public let fd: Int32
  public var name: String?
  public let family: SocketFamily
  public let type: SocketType
  /// `socket`, or `accept` with the listener's number.
  public let origin: String
  /// The shell's own shutdown() calls (the kernel mixes SHUT_RD with a received FIN).
  public var shutRead = false
  public var shutWrite = false

  /// "3 (srv)" or "4".
  public var label: String { name.map { "\(fd) (\($0))" } ?? "\(fd)" }
  public var kindText: String { "\(type.displayName(in: family)) \(family.displayName)" }
}

/// One system call the session made, as shown, with its result.
public struct CallRecord: Sendable {
  public let syscall: String
  public let fd: Int32?
  /// The call as printed: `bind(3, {...}, 16)`.
  public let call: String
  /// The return value (-1 on failure).
  public let result: Int
  public let errno: Errno?
  /// Bytes sent or received: the first 4 KiB, or 64 bytes once the call is old (`Session.keep`).
  public internal(set) var data: [UInt8]
  /// The descriptor's label then ("3 (srv)"), and its addresses after the call (for `timeline`).
  public var label: String? = nil
  public var local: SocketAddress? = nil
  public var peer: SocketAddress? = nil
  /// close only: the kernel answered with a reset because unread data was waiting.
  public var reset = false
}

/// A command that ran, and how it ended.
public struct TranscriptEntry: Sendable {
  public let line: ParsedLine
  public let outcome: CommandOutcome
  /// The family of the descriptor the command used (for exported addresses).
  public var family: SocketFamily? = nil

  /// The line with `= EXPECTED` set to what really came back.
  public var checkedLine: ParsedLine {
    var checked = line
    switch outcome {
    case .returned(let value): checked.expected = .value(value)
    case .failed(let errno): checked.expected = .failure(errno)
    default: break
    }
    return checked
  }
}

/// What the session needs to know to explain a failure in this situation.
public struct ErrorContext {
  public var call: String
  public var descriptor: Descriptor?
  public var address: SocketAddress?
  /// setsockopt and getsockopt: the option's name (`v6only`).
  public var option: String?

  public init(call: String, descriptor: Descriptor? = nil, address: SocketAddress? = nil, option: String? = nil) {
    self.call = call
    self.descriptor = descriptor
    self.address = address
    self.option = option
  }
}

/// The result of one line.
public struct LineResult: Sendable, Equatable {
  public var ok: Bool
  /// Why the line failed, in a few words (for "FILE:LINE: ...").
  public var failure: String?
}

/// A shell session: the descriptors it made, the calls it made, and where it writes.
public final class Session {
  public struct Options: Sendable {
    /// A person at a terminal: blocking calls say what they wait for, Ctrl-C stops them.
    public var interactive = false
    /// In scripts, a blocking call gives up after this many seconds (nil: waits forever).
    public var waitLimit: Int? = nil

    public init(interactive: Bool = false, waitLimit: Int? = nil) {
      self.interactive = interactive
      self.waitLimit = waitLimit
    }
  }

  public let out: Output
  public var options: Options
  public private(set) var descriptors: [Int32: Descriptor] = [:]
  var names: [String: Int32] = [:]
  public private(set) var records: [CallRecord] = []
  /// Bytes of data held in `records`, and how many of the oldest records are already trimmed.
  var keptDataBytes = 0
  var trimmedRecords = 0
  /// Past this much data in `records`, the oldest calls keep only their first 64 bytes (enough
  /// for `timeline`), so that a long session's memory stays bounded.
  static let keptDataLimit = 1 << 20
  /// Every command that ran, with how it ended: what `save` and `export` replay.
  public private(set) var transcript: [TranscriptEntry] = []
  /// Lines entered, for `history`.
  public var history: [String] = []
  /// The lessons this shell offers, and the one being taken.
  public var library: LessonLibrary?
  public var lessonRun: LessonRun?
  /// Set by quit/exit.
  public var wantsExit = false
  /// True while a line's command runs (a lesson's partner then only takes its turn).
  public private(set) var isRunningCommand = false
  /// Descriptors the running command used.
  var touched: [Int32] = []
  /// The family of the descriptor the running command resolved first.
  var lastFamily: SocketFamily?
  /// The TCP states each descriptor was seen in, in order (read from TCP_INFO after each command).
  public private(set) var stateHistory: [Int32: [TCPState]] = [:]
  /// TCP connections this shell closed, to find again in TIME_WAIT and the like.
  var closedConnections: [ClosedConnection] = []
  /// Whether the last EINTR came from the script time limit rather than Ctrl-C.
  var lastInterruptWasTimeout = false
  /// Set when a wait ended because of Ctrl-C (a script goes on after such a line with --keep-going).
  var interruptedWait = false

  /// The event loop every wait of this shell goes through (shared with the lesson's partner).
  public let loop: EventLoop

  public init(output: Output, options: Options = Options(), loop: EventLoop = EventLoop()) {
    self.out = output
    self.options = options
    self.loop = loop
  }

  deinit {
    for fd in descriptors.keys { _ = Sys.close(fd) }
  }

  /// Descriptors in numeric order.
  public var openDescriptors: [Descriptor] { descriptors.values.sorted { $0.fd < $1.fd } }

  // MARK: Running lines

  /// Parses and runs one line, printing everything the learner should see.
  @discardableResult
  public func execute(_ line: String) -> LineResult {
    execute(bytes: Array(line.utf8))
  }

  /// Runs a line given as raw bytes (from a script file, which need not be valid UTF-8).
  @discardableResult
  public func execute(bytes: [UInt8]) -> LineResult {
    let parsed: ParsedLine?
    do {
      parsed = try Parser.parse(bytes: bytes)
    } catch {
      showParseError(error, bytes: bytes)
      return LineResult(ok: false, failure: error.message)
    }
    guard let parsed else { return LineResult(ok: true) }
    return execute(parsed)
  }

  /// Runs a parsed line and checks its `= EXPECTED`.
  @discardableResult
  public func execute(_ parsed: ParsedLine) -> LineResult {
    if let name = parsed.name, let fd = names[name] {
      out.line("error: \(name) already names fd \(fd); close it first or choose another name", .error)
      return LineResult(ok: false, failure: "\(name) already names fd \(fd)")
    }
    lastFamily = (parsed.command as? SocketCommand)?.family
    isRunningCommand = true
    let outcome = parsed.command.run(CommandContext(session: self, name: parsed.name))
    isRunningCommand = false
    recordStates()
    if parsed.spec.returnsValue, outcome != .done {
      if case .refused = outcome {
      } else {
        transcript.append(TranscriptEntry(line: parsed, outcome: outcome, family: lastFamily))
      }
    }
    switch (parsed.expected, outcome) {
    case (_, .refused(let why)):
      return LineResult(ok: false, failure: why)
    case (nil, .failed(let errno)):
      return LineResult(ok: false, failure: "\(parsed.spec.name) failed: \(errno.name) (\(errno.message))")
    case (nil, _):
      return LineResult(ok: true)
    case (.value(let want), .returned(let got)) where want == got:
      return LineResult(ok: true)
    case (.failure(nil), .failed):
      return LineResult(ok: true)
    case (.failure(let want?), .failed(let got)) where want == got:
      return LineResult(ok: true)
    case (let expected?, _):
      let got: String
      switch outcome {
      case .returned(let value): got = "\(value)"
      case .failed(let errno): got = "-1 \(errno.name)"
      default: got = "nothing"
      }
      let message = "expected = \(expected), but \(parsed.spec.name) returned \(got)"
      out.line("  \(message)", .error)
      return LineResult(ok: false, failure: message)
    }
  }

  func showParseError(_ error: ParseError, bytes: [UInt8]) {
    if let column = error.column {
      // The line is shown escaped (a byte that is not UTF-8 as \xff, a control byte as \x1b):
      // the caret goes under the escaped form of what precedes the column's character.
      // Columns count characters (bytes that do not continue a UTF-8 sequence), as the lexer does.
      var byteIndex = 0
      var counted = 1
      while byteIndex < bytes.count && counted < column {
        byteIndex += 1
        while byteIndex < bytes.count && bytes[byteIndex] & 0xC0 == 0x80 { byteIndex += 1 }
        counted += 1
      }
      let characters = Array(ByteText.escaped(bytes, keepQuotes: true))
      let caret = min(ByteText.escaped(bytes[..<byteIndex], keepQuotes: true).count, characters.count)
      // A long line is shown as a window around the problem.
      let start = max(0, caret - 60)
      let end = min(characters.count, start + 120)
      let prefix = start > 0 ? "..." : ""
      let suffix = end < characters.count ? "..." : ""
      out.line("  " + prefix + String(characters[start..<end]) + suffix, .note)
      out.line("  " + String(repeating: " ", count: caret - start + prefix.count) + "^", .error)
    }
    out.line("error: \(error.message)", .error)
    if let usage = error.usage { out.line("  \(usage)", .note) }
  }

  // MARK: Descriptors

  /// Finds a descriptor of this shell; refuses anything else with a message that says what to do.
  func resolve(_ ref: DescriptorRef) -> Result<Descriptor, CommandRefusal> {
    switch ref {
    case .name(let name):
      if let fd = names[name], let descriptor = descriptors[fd] { return .success(descriptor) }
      return .failure(CommandRefusal(message: "no descriptor is named '\(name)'. \(yourDescriptors)"))
    case .number(let fd):
      if let descriptor = descriptors[fd] { return .success(descriptor) }
      let what: String
      switch fd {
      case 0: what = "fd 0 is standard input, not a socket this shell made"
      case 1: what = "fd 1 is standard output, not a socket this shell made"
      case 2: what = "fd 2 is standard error, not a socket this shell made"
      default:
        what =
          Sys.isOpen(fd)
          ? "fd \(fd) belongs to the shell itself, not to you: it was not made by socket or accept here"
          : "fd \(fd) is not open (closed already, or never made)"
      }
      return .failure(CommandRefusal(message: "\(what); the shell refuses to touch it. \(yourDescriptors)"))
    }
  }

  var yourDescriptors: String {
    let open = openDescriptors
    if open.isEmpty { return "You have no descriptors yet: make one with socket." }
    return "Yours: " + open.map(\.label).joined(separator: ", ") + "."
  }

  /// Resolves the descriptor argument of a command, printing the refusal when there is one.
  func descriptor(_ ref: DescriptorRef) -> Result<Descriptor, CommandRefusal> {
    let result = resolve(ref)
    if case .success(let found) = result {
      lastFamily = found.family
      touched.append(found.fd)
    }
    return result.mapError { refusal in
      out.line("error: \(refusal.message)", .error)
      return refusal
    }
  }

  func register(fd: Int32, family: SocketFamily, type: SocketType, name: String?, origin: String) {
    descriptors[fd] = Descriptor(fd: fd, name: name, family: family, type: type, origin: origin)
    if let name { names[name] = fd }
    stateHistory[fd] = []
    touched.append(fd)
  }

  /// Notes each TCP descriptor's state when it changed. With many descriptors open, only those
  /// the last command touched are read, so that a command stays cheap.
  func recordStates() {
    let candidates = descriptors.count <= 64 ? Array(descriptors.keys) : touched.filter { descriptors[$0] != nil }
    touched.removeAll(keepingCapacity: true)
    for fd in candidates {
      guard let descriptor = descriptors[fd], descriptor.family != .unix, descriptor.type == .stream,
        let state = try? Sys.tcpInfo(fd).get().state
      else { continue }
      if stateHistory[fd]?.last != state { stateHistory[fd, default: []].append(state) }
    }
  }

  func forget(_ fd: Int32) {
    if let name = descriptors[fd]?.name { names[name] = nil }
    descriptors[fd] = nil
    stateHistory[fd] = nil
  }

  func update(_ descriptor: Descriptor) {
    descriptors[descriptor.fd] = descriptor
  }

  /// The prompt: with the lesson and step when one is being taken.
  public var prompt: String { lessonRun.flatMap { $0.finished ? nil : $0.prompt } ?? "sockshell> " }

  /// Closes every descriptor the shell made (Ctrl-D, end of input); returns them.
  @discardableResult
  public func closeAll() -> [Descriptor] {
    lessonRun?.end()
    let open = openDescriptors
    for descriptor in open {
      _ = Sys.close(descriptor.fd)
      forget(descriptor.fd)
    }
    return open
  }

  /// Says goodbye, closing what is open.
  public func finish() {
    closeAllAndSay()
    out.flush()
  }

  /// Closes every descriptor and says which: `closed 2 descriptors: 3 (srv), 5 (conn)`, then `why`.
  func closeAllAndSay(_ why: String = "") {
    let closed = closeAll()
    if !closed.isEmpty {
      let list = closed.map(\.label).joined(separator: ", ")
      out.line("closed \(counted(closed.count, "descriptor")): \(list)\(why)", .note)
    }
  }

  // MARK: Reporting

  /// Prints a system call and its result, records it, and explains a failure.
  func report(
    _ call: String, _ result: SysResult<Int>, syscall: String, fd: Int32?, data: [UInt8] = [],
    suffix: String? = nil, context: ErrorContext? = nil, endpoints: (SocketAddress?, SocketAddress?)? = nil,
    reset: Bool = false
  ) -> CommandOutcome {
    var record = CallRecord(syscall: syscall, fd: fd, call: call, result: -1, errno: nil, data: [])
    if let fd, Session.timelineCalls.contains(syscall) {
      // accept: the new descriptor's addresses; close: what the command read before closing.
      let subject = syscall == "accept" ? Int32((try? result.get()) ?? -1) : fd
      record.label = descriptors[subject]?.label ?? descriptors[fd]?.label ?? context?.descriptor?.label
      if syscall == "accept", subject >= 0 { record.label = "\(subject)" + (suffix.map { " (\($0))" } ?? "") }
      let addresses = endpoints ?? (try? Sys.getsockname(subject).get(), try? Sys.getpeername(subject).get())
      record.local = addresses.0
      record.peer = addresses.1
      record.reset = reset
      if syscall == "accept" { record.peer = record.peer ?? addresses.1 }
    }
    switch result {
    case .success(let value):
      var text = "\(call) = \(value)"
      if let suffix { text = text.padded(to: 66) + " " + suffix }
      out.line(text, .call)
      keep(
        CallRecord(
          syscall: syscall, fd: fd, call: call, result: value, errno: nil, data: Array(data.prefix(4096)),
          label: record.label, local: record.local, peer: record.peer, reset: record.reset))
      return .returned(value)
    case .failure(let errno):
      out.line("\(call) = -1 \(errno.name) (\(errno.message))", .call)
      keep(
        CallRecord(
          syscall: syscall, fd: fd, call: call, result: -1, errno: errno, data: [], label: record.label,
          local: record.local, peer: record.peer))
      let timedOut = errno.code == EINTR && lastInterruptWasTimeout
      lastInterruptWasTimeout = false
      for line in Explanations.lines(
        for: errno, context: context ?? ErrorContext(call: syscall), timedOut: timedOut, waitLimit: options.waitLimit)
      {
        note(line)
      }
      return .failed(errno)
    }
  }

  /// Adds a call to `records`; past `keptDataLimit` bytes of data, trims the oldest calls' data.
  func keep(_ record: CallRecord) {
    records.append(record)
    keptDataBytes += record.data.count
    while keptDataBytes > Session.keptDataLimit && trimmedRecords < records.count - 1 {
      let count = records[trimmedRecords].data.count
      if count > 64 {
        records[trimmedRecords].data = Array(records[trimmedRecords].data.prefix(64))
        keptDataBytes -= count - 64
      }
      trimmedRecords += 1
    }
  }

  /// The calls `timeline` draws, whose addresses are kept.
  static let timelineCalls: Set<String> = [
    "socket", "bind", "listen", "connect", "accept", "send", "recv", "sendto", "recvfrom", "shutdown", "close",
  ]

  /// A plain-language line under a call (Output wraps it to the terminal's width).
  func note(_ text: String) {
    out.line("  " + text, .note)
  }

  /// Runs a call that may block. At a terminal it says what it waits for; in a script it gives up
  /// after the wait limit. Either way Ctrl-C interrupts it with EINTR. The wait goes through the
  /// event loop, so a lesson's partner acts meanwhile; the call itself is made once the
  /// descriptor is ready (a call that blocks in the kernel all the same, connect or a large
  /// send, is stopped by Ctrl-C or by the wait's own alarm).
  /// `canWait` is false when the call will fail at once whatever arrives (recv on a listener,
  /// accept on a socket that does not listen): then nothing is announced and nothing waited for.
  /// `fd` -1: nothing to wait for first (poll with a timeout waits in the call).
  func blocking<T>(
    fd: Int32, events: Int16, waitingFor: String, hint: String? = nil, canWait: Bool = true,
    _ body: () -> SysResult<T>
  ) -> SysResult<T> {
    let nonBlocking = !canWait || ((try? Sys.isNonBlocking(fd).get()) ?? false)
    // This wait's own Ctrl-C: one pressed from now on stops it, whoever else is waiting.
    let interrupt = InterruptWatch()
    lastInterruptWasTimeout = false
    if !nonBlocking && options.interactive,
      let revents = try? Sys.poll([fd], events: events, timeoutMilliseconds: 0).get(), revents.first == 0
    {
      var text = "waiting for \(waitingFor) ..."
      if let hint { text += " \(hint)," }
      text += " Ctrl-C to stop"
      note(text)
    }
    out.flush()
    func interrupted(timedOut: Bool) -> SysResult<T> {
      lastInterruptWasTimeout = timedOut
      if !timedOut { interruptedWait = true }
      // The terminal echoed ^C without a newline: start the report on a line of its own.
      if options.interactive && !timedOut { out.write("\n") }
      return .failure(Errno(EINTR))
    }
    if nonBlocking { return body() }
    let limit = options.interactive ? nil : options.waitLimit
    let deadline = limit.map { EventLoop.now() + Double($0) }
    if fd >= 0 {
      switch loop.wait(for: fd, events: events, deadline: deadline, interrupt: interrupt) {
      case .interrupted: return interrupted(timedOut: false)
      case .timedOut: return interrupted(timedOut: true)
      case .ready, .failed: break
      }
    } else if interrupt.pressed {
      return interrupted(timedOut: false)
    }
    let alarm = deadline.flatMap { Signals.armAlarm(seconds: max(0.001, $0 - EventLoop.now())) }
    let result = body()
    let fired = alarm?.disarm() ?? false
    if case .failure(let errno) = result, errno.code == EINTR { return interrupted(timedOut: fired) }
    if options.interactive && interrupt.pressed { out.write("\n") }
    return result
  }

  /// Whether the last line's wait was stopped by Ctrl-C; clears it.
  func takeInterruptedWait() -> Bool {
    defer { interruptedWait = false }
    return interruptedWait
  }

  // MARK: Addresses

  enum AddressPurpose { case bind, connect }

  /// Turns a typed address into the socket address for this descriptor's family, saying what it
  /// resolved to when that is not plain from the text.
  func socketAddress(_ spec: AddressSpec, for descriptor: Descriptor, purpose: AddressPurpose) -> Result<
    SocketAddress, CommandRefusal
  > {
    func refuse(_ message: String) -> Result<SocketAddress, CommandRefusal> {
      out.line("error: \(message)", .error)
      return .failure(CommandRefusal(message: message))
    }
    switch spec {
    case .host(let host, let port):
      if let numeric = SocketAddress.numeric(host, port: port) { return .success(numeric) }
      if descriptor.family == .unix {
        return refuse(
          "fd \(descriptor.fd) is a Unix socket: give it a path (/tmp/demo.sock) or @name, not \(host):\(port)")
      }
      switch SocketAddress.resolve(host: host, port: port, family: descriptor.family) {
      case .failure(let error):
        // The name may have addresses of the other family only (often: localhost has no IPv6
        // address in /etc/hosts): say so, and what to write instead.
        let other: SocketFamily = descriptor.family == .ipv4 ? .ipv6 : .ipv4
        if case .success(let found) = SocketAddress.resolve(host: host, port: port, family: other),
          let first = found.first
        {
          let instead =
            other == .ipv4
            ? "use [::1]:\(port) for the IPv6 loopback, or an IPv4 socket (socket tcp)"
            : "make the socket with socket tcp ipv6, or give an IPv4 address"
          return refuse(
            "\(host) has no \(descriptor.family.displayName) address here, only \(other.displayName) (\(first.host)): \(instead)"
          )
        }
        return refuse("\(error) (for an \(descriptor.family.displayName) socket)")
      case .success(let found):
        guard let first = found.first else {
          return refuse("\(host) has no \(descriptor.family.displayName) address")
        }
        var text = "\(host) resolved to \(first.host) (getaddrinfo, \(descriptor.family.cName))"
        if found.count > 1 { text += "; also " + found.dropFirst().map(\.host).joined(separator: ", ") }
        note(text)
        return .success(first)
      }
    case .any(let port):
      if descriptor.family == .unix {
        return refuse("fd \(descriptor.fd) is a Unix socket: give it a path (/tmp/demo.sock) or @name, not a port")
      }
      return .success(.any(descriptor.family, port: port))
    case .unixPath(let path):
      let bytes = Array(path.utf8)
      if bytes.count >= SocketAddress.sunPathCapacity {
        return refuse(
          "a Unix socket path holds at most \(SocketAddress.sunPathCapacity - 1) bytes (sun_path); this one has \(bytes.count)"
        )
      }
      return .success(.unix(path: bytes))
    case .abstract(let name):
      let bytes = Array(name.utf8)
      if bytes.count >= SocketAddress.sunPathCapacity {
        return refuse("an abstract name holds at most \(SocketAddress.sunPathCapacity - 1) bytes")
      }
      return .success(.abstract(name: bytes))
    case .descriptor(let ref):
      let other: Descriptor
      switch resolve(ref) {
      case .success(let found): other = found
      case .failure(let refusal): return refuse(refusal.message)
      }
      switch Sys.getsockname(other.fd) {
      case .failure(let errno):
        return refuse("cannot read the address of fd \(other.fd): \(errno)")
      case .success(let address):
        if address == .unnamed || address.port == 0 {
          return refuse(
            "fd \(other.label) is not bound to an address yet: bind it first (or listen, which picks a port)")
        }
        if purpose == .connect && address.isWildcard {
          let target = SocketAddress.loopback(address.family, port: address.port ?? 0)
          note("fd \(other.label) is bound to \(address), every local address; using \(target)")
          return .success(target)
        }
        if purpose == .connect { note("fd \(other.label) is bound to \(address)") }
        return .success(address)
      }
    }
  }
}

/// A command was refused before any system call; the message was printed.
struct CommandRefusal: Error {
  let message: String
}

/// "1 byte", "2 bytes": a count with its noun.
func counted(_ count: Int, _ noun: String) -> String {
  "\(count) \(noun)\(count == 1 ? "" : "s")"
}

extension String {
  /// Pads with spaces to a width (for the name column after a call).
  func padded(to width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
