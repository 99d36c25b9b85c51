#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// A command that ran, and how it ended.
public struct TranscriptEntry: Sendable {
  public var line: ParsedLine
  public let outcome: CommandOutcome
  /// The family of the descriptor the command used (for exported addresses).
  public var family: SocketFamily? = nil
  /// Ctrl-C or the time limit stopped it (EINTR, or a partial send or recv): a replay would wait
  /// for what the session never got, so save and export leave it out.
  public var interrupted = false

  /// The entry as save and export write it: itself; for a call cut short after some bytes, the
  /// same call for those bytes; nil for one that got nothing (EINTR), which would only wait.
  public var reproduced: TranscriptEntry? {
    guard interrupted else { return self }
    guard case .returned(let count) = outcome, count > 0, let command = line.command.cutShort(to: count) else {
      return nil
    }
    var entry = self
    entry.line.command = command
    entry.interrupted = false
    return entry
  }

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
  /// The call that failed (nil: no call in particular, as for `explain`).
  public var call: Syscall?
  public var descriptor: Descriptor?
  public var address: SocketAddress?
  /// setsockopt and getsockopt: the option's name (`v6only`).
  public var option: String?

  public init(call: Syscall?, descriptor: Descriptor? = nil, address: SocketAddress? = nil, option: String? = nil) {
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
  /// The line was refused before any call (no such descriptor, an address not allowed).
  public var refused = false
}

/// A shell session: the descriptors it made, the calls it made, and where it writes.
public final class Session {
  public struct Options: Sendable {
    /// A person at a terminal: blocking calls say what they wait for, Ctrl-C stops them.
    public var interactive = false
    /// In scripts, a blocking call gives up after this many seconds (nil: waits forever).
    public var waitLimit: Int? = nil
    /// A shorter limit in seconds, for the lesson's partner (its calls wait at most 50 ms).
    public var waitCap: Double? = nil

    /// The limit a blocking call has, in seconds.
    var waitSeconds: Double? { waitCap ?? waitLimit.map(Double.init) }

    public init(interactive: Bool = false, waitLimit: Int? = nil) {
      self.interactive = interactive
      self.waitLimit = waitLimit
    }
  }

  public let out: Output
  public var options: Options
  /// The descriptors this session made.
  public internal(set) var table = DescriptorTable()
  /// Every system call it made, as values.
  public internal(set) var calls = CallLog()
  /// Every command that ran, with how it ended: what `save` and `export` replay.
  public private(set) var transcript: [TranscriptEntry] = []
  /// History, lessons, the prompt: what the commands that change the shell reach.
  public let host: Host
  /// The partner's session only: the learner's listener its `wait listening` found (`{listening}`).
  var partnerListening: SocketAddress?
  /// Which resolved addresses this session's lines may use.
  var addressPolicy = AddressResolver.Policy.any
  /// A lesson's partner: its unbound UDP socket is bound to loopback before its first sendto,
  /// where the kernel would give it a port on every address (a partner never binds those).
  var bindsLoopbackFirst = false
  /// True while a line's command runs (a lesson's partner then only takes its turn).
  public private(set) var isRunningCommand = false
  /// Descriptors the running command used.
  var touched: [Int32] = []
  /// The family of the descriptor the running command resolved first.
  var lastFamily: SocketFamily?
  /// Whether the running line's blocking call gave up at the script's wait limit (EINTR from the
  /// limit, not Ctrl-C): for its explanation and for the line's failure message.
  var lastInterruptWasTimeout = false
  /// The timer that ends a script's blocking call at its deadline (made on first use).
  var alarm: AlarmClock?
  /// The last blocking call returned, but cut short by Ctrl-C or the time limit.
  var lastCallCutShort = false
  /// Set when a wait ended because of Ctrl-C (a script goes on after such a line with --keep-going).
  var interruptedWait = false

  /// Told of every line run, with its result and (while `recordsOutput`) what it showed: the
  /// class hears of the instructor's lines and the student's.
  var lineObservers: [(ParsedLine, LineResult, [(text: String, style: Style)]) -> Void] = []
  var recordsOutput = false

  /// The event loop every wait of this shell goes through (shared with the lesson's partner).
  public let loop: EventLoop

  public init(output: Output, options: Options = Options(), loop: EventLoop = EventLoop(), host: Host = Host()) {
    self.out = output
    self.options = options
    self.loop = loop
    self.host = host
    if host.session == nil { host.session = self }
    table.ownerOf = { [weak host] fd in host?.owner(of: fd) }
    // What the loop's handlers print (the partner, during a learner's blocking call) is shown at
    // once; the line editor puts it above the prompt while a line is being typed.
    if loop.afterDispatch == nil { loop.afterDispatch = { [weak output] in output?.flush() } }
  }

  deinit {
    for fd in table.byNumber.keys { _ = Sys.close(fd) }
  }

  /// The descriptors by number.
  public var descriptors: [Int32: Descriptor] { table.byNumber }
  /// Descriptors in numeric order.
  public var openDescriptors: [Descriptor] { table.open }
  /// The calls made, oldest first.
  public var records: [CallRecord] { calls.records }
  /// The last call made, with the addresses its descriptor had after it.
  var lastCall: CallRecord? { calls.records.last }
  /// Past this much data, the oldest calls keep only their first 64 bytes (`CallLog`).
  public static var keptDataLimit: Int { CallLog.keptDataLimit }
  /// The TCP states each descriptor was seen in.
  public var stateHistory: [Int32: [TCPState]] { table.stateHistory }

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

  /// Runs a parsed line and checks its `= EXPECTED`; the line's observers hear of it.
  @discardableResult
  public func execute(_ parsed: ParsedLine) -> LineResult {
    guard !lineObservers.isEmpty else { return runLine(parsed) }
    let outer = out.recording
    if recordsOutput { out.recording = [] }
    let result = runLine(parsed)
    var shown: [(text: String, style: Style)] = []
    if recordsOutput {
      shown = out.recording ?? []
      out.recording = outer.map { $0 + shown }
    }
    for observer in lineObservers { observer(parsed, result, shown) }
    return result
  }

  func runLine(_ parsed: ParsedLine) -> LineResult {
    if let name = parsed.name, let fd = table.named(name) {
      out.line("error: \(name) already names fd \(fd); close it first or choose another name", .error)
      return LineResult(ok: false, failure: "\(name) already names fd \(fd)")
    }
    // Packets that came since the last command belong before this one.
    if host.wire?.isOn == true { showWire() }
    lastFamily = nil
    lastInterruptWasTimeout = false
    lastCallCutShort = false
    // The lesson's partner takes its turns while this command runs (a blocking accept waits for it).
    host.lessonRun?.wake()
    isRunningCommand = true
    let outcome: CommandOutcome
    do {
      outcome = try parsed.command.run(CommandContext(session: self, host: host, name: parsed.name))
    } catch {
      // The one place a refusal is printed.
      out.line("error: \(error.message)", .error)
      outcome = .refused(error.message)
    }
    isRunningCommand = false
    table.recordStates(touched: touched)
    touched.removeAll(keepingCapacity: true)
    // A name given with `name` is part of what save replays (the lines after use it).
    if parsed.command is NameCommand && outcome == .done {
      transcript.append(TranscriptEntry(line: parsed, outcome: outcome))
    } else if parsed.spec.returnsValue, outcome != .done {
      if case .refused = outcome {
      } else {
        var interrupted = lastCallCutShort
        if case .failed(let errno) = outcome, errno.code == EINTR { interrupted = true }
        transcript.append(
          TranscriptEntry(line: parsed, outcome: outcome, family: lastFamily, interrupted: interrupted))
      }
    }
    switch (parsed.expected, outcome) {
    case (_, .refused(let why)):
      return LineResult(ok: false, failure: why, refused: true)
    case (nil, .failed(let errno)):
      if errno.code == EINTR && lastInterruptWasTimeout {
        return LineResult(
          ok: false, failure: "\(parsed.spec.name) gave up after \(options.waitLimit ?? 0) s (--timeout)")
      }
      return LineResult(ok: false, failure: "\(parsed.spec.name) failed: \(errno.name) (\(errno.message))")
    case (nil, _):
      return LineResult(ok: true)
    case (.value(let want), .returned(let got)) where want == got:
      return LineResult(ok: true)
    case (.failure(nil), .failed):
      return LineResult(ok: true)
    case (.failure(let want?), .failed(let got)) where want == got:
      return LineResult(ok: true)
    case (let expected?, .failed(let errno)) where errno.code == EINTR && interruptedWait:
      // Ctrl-C stopped the call: nothing came back to hold the expectation against.
      out.line("  = \(expected) not checked: Ctrl-C stopped the call", .note)
      return LineResult(ok: false, failure: "interrupted by Ctrl-C")
    case (let expected?, _):
      let got: String
      switch outcome {
      case .returned(let value): got = "\(value)"
      case .failed(let errno): got = "-1 \(errno.name)"
      default: got = "nothing"
      }
      var message = "expected = \(expected), but \(parsed.spec.name) returned \(got)"
      if lastInterruptWasTimeout { message += " (it gave up after \(options.waitLimit ?? 0) s, --timeout)" }
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
      // A long line is shown as a window around the problem that fits the terminal, measured in
      // cells (中 takes two), with the caret under the character.
      let room = max(20, out.width - 10)
      var start = caret
      var before = 0
      while start > 0 && before + Cells.width(of: characters[start - 1]) <= room / 2 {
        start -= 1
        before += Cells.width(of: characters[start])
      }
      var end = caret
      var shown = before
      while end < characters.count && shown + Cells.width(of: characters[end]) <= room {
        shown += Cells.width(of: characters[end])
        end += 1
      }
      let prefix = start > 0 ? "..." : ""
      let suffix = end < characters.count ? "..." : ""
      out.line("  " + prefix + String(characters[start..<end]) + suffix, .note, wrap: false)
      out.line("  " + String(repeating: " ", count: before + prefix.count) + "^", .error)
    }
    out.line("error: \(error.message)", .error)
    if let usage = error.usage { out.line("  \(usage)", .note) }
  }

  // MARK: Descriptors

  /// Finds a descriptor of this shell (without printing anything).
  func resolve(_ ref: DescriptorRef) -> Result<Descriptor, CommandRefusal> { table.resolve(ref) }

  /// The descriptor a command names, or the refusal that says why there is none.
  func descriptor(_ ref: DescriptorRef) throws(CommandRefusal) -> Descriptor {
    let found = try table.resolve(ref).get()
    lastFamily = found.family
    touched.append(found.fd)
    return found
  }

  func register(fd: Int32, family: SocketFamily, type: SocketType, name: String?, origin: String) {
    table.register(Descriptor(fd: fd, name: name, family: family, type: type, origin: origin))
    if lastFamily == nil { lastFamily = family }
    touched.append(fd)
  }

  func forget(_ fd: Int32) { table.forget(fd) }

  func update(_ descriptor: Descriptor) { table.update(descriptor) }
  func rename(_ fd: Int32, to name: String) { table.rename(fd, to: name) }

  /// The address rules of bind, connect, sendto and addr.
  var addresses: AddressResolver {
    AddressResolver(out: out, table: table, partnerListening: partnerListening, policy: addressPolicy)
  }

  /// The socket address for a descriptor's call.
  func socketAddress(_ spec: AddressSpec, for descriptor: Descriptor, purpose: AddressResolver.Purpose)
    throws(CommandRefusal) -> SocketAddress
  {
    try addresses.resolve(
      spec, family: descriptor.family, subject: "fd \(descriptor.fd)", purpose: purpose, sender: descriptor.fd
    ).get()
  }

  /// Whether a call of this session is waiting now (for data, a connection...): what a lesson
  /// partner's `wait blocked` waits for.
  public internal(set) var waitingInCall = false

  /// The prompt: with the lesson and step when one is being taken.
  public var prompt: String { host.prompt }

  /// Closes every descriptor the shell made (Ctrl-D, end of input); returns them.
  @discardableResult
  public func closeAll() -> [Descriptor] {
    host.endLesson()
    let open = openDescriptors
    for descriptor in open {
      _ = Sys.close(descriptor.fd)
      forget(descriptor.fd)
    }
    return open
  }

  /// A session as at the start, for a presentation that goes back: every descriptor closed with
  /// a reset (SO_LINGER 0: no port is left in TIME_WAIT to refuse the next bind), the calls and
  /// the transcript forgotten. Returns how many descriptors were closed.
  /// The Unix socket files the closed sockets were bound to are removed (a path stays after
  /// close, and the next bind there would fail): only a socket file, never followed through a
  /// link. Returns how many were closed, how many of them TCP, and the paths removed.
  func startOver() -> (closed: Int, tcp: Int, removed: [String]) {
    host.endLesson()
    let open = openDescriptors
    var tcp = 0
    var removed: [String] = []
    for descriptor in open {
      if descriptor.family != .unix && descriptor.type == .stream {
        tcp += 1
        let abort = linger(l_onoff: 1, l_linger: 0)
        _ = Sys.setsockopt(
          descriptor.fd, level: SOL_SOCKET, name: SO_LINGER, bytes: withUnsafeBytes(of: abort, Array.init))
      }
      // A listener or bound socket's own path (an accepted socket reports its listener's too).
      let path: String? =
        if case .success(.unix(let bytes)) = Sys.getsockname(descriptor.fd), !bytes.isEmpty,
          (try? Sys.getpeername(descriptor.fd).get()) == nil || Sys.isListening(descriptor.fd)
        {
          String(decoding: bytes, as: UTF8.self)
        } else { nil }
      _ = Sys.close(descriptor.fd)
      forget(descriptor.fd)
      var info = stat()
      if let path, !removed.contains(path), lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK,
        unlink(path) == 0
      {
        removed.append(path)
      }
    }
    let observers = calls.observers
    calls = CallLog()
    calls.observers = observers
    transcript.removeAll()
    return (open.count, tcp, removed)
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

  /// Prints a system call and its result, records it, tells the observers, and explains a failure.
  /// `address`: the address the call was given or gave back; `endpoints`: the descriptor's
  /// addresses when they are not to be read after the call (close reads them before).
  func report(
    _ kind: Syscall, fd: Int32?, _ arguments: [CallArgument], _ result: SysResult<Int>, data: [UInt8] = [],
    address: SocketAddress? = nil, how: ShutdownHow? = nil, shownResult: String? = nil, name: String? = nil,
    subject: Int32? = nil, context: ErrorContext? = nil, endpoints: (SocketAddress?, SocketAddress?)? = nil,
    reset: Bool = false
  ) -> CommandOutcome {
    var label: String?
    var local: SocketAddress?
    var peer: SocketAddress?
    var socketType: SocketType?
    var inodes: (UInt64?, UInt64?) = (nil, nil)
    if let fd, kind.drawnInTimeline {
      // `subject`: the descriptor the call made (accept's new one), else `fd`; close passes
      // what it read before closing.
      let subject = subject ?? fd
      label =
        table.byNumber[subject]?.label ?? (subject != fd ? "\(subject)" + (name.map { " (\($0))" } ?? "") : nil)
        ?? table.byNumber[fd]?.label ?? context?.descriptor?.label
      let addresses = endpoints ?? (try? Sys.getsockname(subject).get(), try? Sys.getpeername(subject).get())
      local = addresses.0
      peer = addresses.1
      let descriptor = table.byNumber[subject] ?? table.byNumber[fd] ?? context?.descriptor
      socketType = descriptor?.type
      if descriptor?.family == .unix, descriptor?.type == .stream, let own = try? Sys.inode(subject).get() {
        // A connection not yet accepted has no inode yet: its peer reads 0.
        inodes = (own, (try? Sys.unixPeerInode(subject).get()).flatMap { $0 == 0 ? nil : $0 })
      }
    }
    let value = (try? result.get()) ?? -1
    var errno: Errno?
    if case .failure(let failure) = result { errno = failure }
    // A call that returned after Ctrl-C or the time limit stopped its wait says so in its line.
    let shownResult = shownResult ?? (errno == nil && lastCallCutShort ? "\(value) (cut short)" : nil)
    let record = CallRecord(
      kind: kind, fd: fd, arguments: arguments, result: value, errno: errno, shownResult: shownResult,
      data: errno == nil ? Array(data.prefix(4096)) : [], address: address, how: how, name: name, label: label,
      local: local, peer: peer, reset: errno == nil && reset, socketType: socketType, inode: inodes.0,
      peerInode: inodes.1)
    out.line(CallText.line(record), .call)
    // The packets the call caused, under it.
    if host.wire?.isOn == true { showWire(inCall: true, pending: record) }
    calls.add(record)
    guard let errno else { return .returned(value) }
    let timedOut = errno.code == EINTR && lastInterruptWasTimeout
    for line in Explanations.lines(
      for: errno, context: context ?? ErrorContext(call: kind), timedOut: timedOut, waitLimit: options.waitLimit)
    {
      note(line)
    }
    return .failed(errno)
  }

  /// A plain-language line under a call (Output wraps it to the terminal's width).
  func note(_ text: String) {
    out.line("  " + text, .note)
  }

  /// Runs a call that may block. At a terminal it says what it waits for; in a script it gives up
  /// after the wait limit. Either way Ctrl-C interrupts it with EINTR. When the event loop has
  /// sources to serve (a lesson's partner) or a person may press Ctrl-C, the wait goes through
  /// the loop and the call is made once the descriptor is ready; a call that blocks in the kernel
  /// all the same (connect, a large send) is stopped by Ctrl-C or by the wait's own alarm.
  /// `canWait` is false when the call will fail at once whatever arrives (recv on a listener,
  /// accept on a socket that does not listen): then nothing is announced and nothing waited for.
  func blocking<T>(
    fd: Int32, events: Int16, waitingFor: String, hint: String? = nil, canWait: Bool = true,
    ready: (() -> Bool)? = nil, _ body: () -> SysResult<T>
  ) -> SysResult<T> {
    let nonBlocking = !canWait || ((try? Sys.isNonBlocking(fd).get()) ?? false)
    return blocking(
      fds: [fd], events: events, waitingFor: waitingFor, hint: hint, canWait: !nonBlocking, callTimeout: nil,
      ready: ready
    ) { _ in body() }
  }

  /// The same for several descriptors and a call with a timeout of its own (`poll`, in
  /// seconds, nil: none). `body` is told whether the wait already happened in the loop (poll then
  /// only looks, with timeout 0).
  /// `ready`: when the descriptor being ready is not enough for the call not to block (recv with
  /// waitall wants all its bytes), what must hold first; the loop serves its sources meanwhile.
  func blocking<T>(
    fds: [Int32], events: Int16, waitingFor: String, hint: String? = nil, canWait: Bool, callTimeout: Double?,
    ready: (() -> Bool)? = nil, _ body: (_ waited: Bool) -> SysResult<T>
  ) -> SysResult<T> {
    // This wait's own Ctrl-C: one pressed from now on stops it, whoever else is waiting.
    let interrupt = InterruptWatch()
    lastInterruptWasTimeout = false
    // Said when the call will wait: nothing is ready yet, or not enough (recv waitall).
    let willWait =
      canWait
      && (try? Sys.poll(fds, events: events, timeoutMilliseconds: 0).get()).map {
        $0.allSatisfy { $0 == 0 } || ready.map { !$0() } == true
      } == true
    // A lesson partner's `wait blocked` goes on while this call waits.
    waitingInCall = willWait
    defer { waitingInCall = false }
    if willWait && options.interactive {
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
    // The wait in the event loop ended (Ctrl-C, the time limit) before the call was made: make it
    // all the same, stopped by this thread's alarm, so that what is shown is what the kernel
    // answered (EINTR, a partial count, or a connection that came just then), never a call that
    // was not made.
    func callInterrupted(timedOut: Bool) -> SysResult<T> {
      guard let clock = alarmClock() else { return interrupted(timedOut: timedOut) }
      clock.arm(seconds: 0.005, repeating: 0.02)
      let result = body(false)
      clock.disarm()
      if case .failure(let errno) = result, errno.code == EINTR { return interrupted(timedOut: timedOut) }
      lastCallCutShort = true
      if options.interactive && !timedOut { out.write("\n") }
      return result
    }
    if !canWait { return body(false) }
    let limit = options.interactive ? nil : options.waitSeconds
    let now = EventLoop.now()
    let deadline = limit.map { now + $0 }
    var waited = false
    // With sources to serve (a lesson's partner), or a person who may press Ctrl-C at any
    // moment, wait in the event loop until a descriptor is ready (its wait cannot miss a
    // Ctrl-C); in a script with nothing to serve, the call itself waits (one call fewer a line).
    if !fds.isEmpty && (!loop.isIdle || options.interactive) {
      let callDeadline = callTimeout.map { now + $0 }
      let until = [deadline, callDeadline].compactMap { $0 }.min()
      switch loop.wait(forAny: fds, events: events, deadline: until, interrupt: interrupt) {
      case .interrupted: return callInterrupted(timedOut: false)
      case .timedOut:
        // The call's own timeout ended the wait: the call says what is ready (nothing).
        if let deadline, EventLoop.now() >= deadline { return callInterrupted(timedOut: true) }
      case .ready, .failed: break
      }
      waited = true
      while let ready, !ready() {
        if let deadline, EventLoop.now() >= deadline { return callInterrupted(timedOut: true) }
        if case .interrupted = loop.wait(for: nil, deadline: EventLoop.now() + 0.01, interrupt: interrupt) {
          return callInterrupted(timedOut: false)
        }
      }
    } else if interrupt.pressed {
      return interrupted(timedOut: false)
    }
    // A call that blocks in the kernel all the same is stopped by this wait's alarm.
    let clock = deadline.flatMap { _ in alarmClock() }
    if let deadline, let clock { clock.arm(seconds: max(0.001, deadline - EventLoop.now())) }
    let result = body(waited)
    if case .failure(let errno) = result, errno.code == EINTR {
      let timedOut = !interrupt.pressed && clock?.hasFired == true
      clock?.disarm()
      return interrupted(timedOut: timedOut)
    }
    clock?.disarm()
    // A call that returned all the same, cut short by Ctrl-C or the time limit (a partial send,
    // a recv waitall with part of its bytes).
    if interrupt.pressed || deadline.map({ EventLoop.now() >= $0 }) == true { lastCallCutShort = true }
    if options.interactive && interrupt.pressed { out.write("\n") }
    return result
  }

  /// Runs a line from elsewhere with every call it makes bounded: a call that blocks in the kernel
  /// outside `blocking` (close with SO_LINGER waiting for its data to go) is stopped by this
  /// thread's alarm after `seconds`, and again every `seconds` after.
  @discardableResult
  func executeBounded(_ parsed: ParsedLine, seconds: Double) -> LineResult {
    bounded(seconds: seconds) { execute(parsed) }
  }

  /// Closes every descriptor with each close bounded by this thread's alarm (a socket whose
  /// SO_LINGER waits for its data to go); for sessions whose lines came from elsewhere.
  @discardableResult
  func closeAllBounded(seconds: Double) -> [Descriptor] {
    bounded(seconds: seconds) { closeAll() }
  }

  /// Runs `body` with this thread's alarm going off every `seconds`: any call in it that blocks
  /// in the kernel is interrupted.
  func bounded<T>(seconds: Double, _ body: () -> T) -> T {
    let clock = alarmClock()
    clock?.arm(seconds: seconds, repeating: seconds)
    defer { clock?.disarm() }
    return body()
  }

  /// The session's alarm timer, made for the thread that runs it.
  func alarmClock() -> AlarmClock? {
    if let clock = alarm, clock.isForThisThread { return clock }
    alarm = AlarmClock()
    return alarm
  }

  /// Whether the last line's wait was stopped by Ctrl-C; clears it.
  func takeInterruptedWait() -> Bool {
    defer { interruptedWait = false }
    return interruptedWait
  }

}

/// "1 byte", "2 bytes": a count with its noun.
func counted(_ count: Int, _ noun: String) -> String {
  "\(count) \(noun)\(count == 1 ? "" : "s")"
}
