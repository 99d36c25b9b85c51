#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// A line of a `partner` block: the command language, plus four partner-only commands.
public enum PartnerLine: Sendable, Equatable {
  /// `wait listening ADDR`: until a socket of the learner listens there; `{listening}` is then it.
  case waitListening(String)
  /// `wait readable FD`: until one of the partner's descriptors is readable.
  case waitReadable(DescriptorRef)
  /// `wait blocked`: until a call of the learner's waits (a recv for the rest of its bytes).
  case waitBlocked
  /// `sleep MS`.
  case sleep(Int)
  /// Any command of the language, parsed (`{listening}` is an address resolved when it runs).
  case command(ParsedLine)

  public static func == (a: PartnerLine, b: PartnerLine) -> Bool {
    switch (a, b) {
    case (.waitListening(let x), .waitListening(let y)): x == y
    case (.waitReadable(let x), .waitReadable(let y)): x == y
    case (.waitBlocked, .waitBlocked): true
    case (.sleep(let x), .sleep(let y)): x == y
    case (.command(let x), .command(let y)): x.text == y.text
    default: false
    }
  }

  public static func parse(_ text: String) throws(ParseError) -> PartnerLine {
    let tokens = try Lexer.tokenize(text)
    let words = tokens.map(\.text)
    switch words.first {
    case "wait":
      if words.count == 3 && words[1] == "listening" { return .waitListening(words[2]) }
      if words.count == 3 && words[1] == "readable", let ref = DescriptorRef(word: words[2]) {
        return .waitReadable(ref)
      }
      if words.count == 2 && words[1] == "blocked" { return .waitBlocked }
      throw ParseError("write: wait listening ADDR, wait readable FD, or wait blocked")
    case "sleep":
      guard words.count == 2, let ms = Int(words[1]), ms >= 0, ms <= 60_000 else {
        throw ParseError("write: sleep MS (0 to 60000)")
      }
      return .sleep(ms)
    default:
      guard let parsed = try Parser.parse(text) else { throw ParseError("an empty partner line") }
      return .command(parsed)
    }
  }
}

/// The lesson's own peer: a second session with its own descriptors, run step by step on the
/// shell's thread. It runs each line as soon as it can without blocking, and waits otherwise
/// (for the learner to listen, for data to arrive), so that nothing races and nothing hangs.
public final class Partner {
  public let session: Session
  var queue: [PartnerLine] = []
  var sleepUntil: Double?
  /// Where its output goes, dimmed and prefixed (nil: kept quiet, as in `lesson test`).
  let out: Output?

  init(out: Output?, loop: EventLoop, folder: String? = nil) {
    self.out = out
    var options = Session.Options(interactive: false, waitLimit: 2)
    // A partner's call waits at most 50 ms in the kernel: the learner's prompt stays live.
    options.waitCap = LinePolicy.partnerWait
    session = Session(output: .capture(), options: options, loop: loop)
    // Whatever its lines say, what it resolves is held to the policy (loopback, the run's folder).
    session.addressPolicy = .linesFromElsewhere(folder: folder)
    session.bindsLoopbackFirst = true
  }

  /// The lines of a step's partner block, to run from now on.
  func start(_ lines: [PartnerLine]) {
    queue = lines
    sleepUntil = nil
    receiver = nil
  }

  /// The descriptor the partner last received on in this step: once its lines are done, it goes
  /// on receiving there what arrives (data sent in several pieces, or after a wrong try, still
  /// reaches it), until the stream ends.
  var receiver: Int32?

  /// Receives once more on `receiver` when data waits there; whether it did.
  func receiveMore() -> Bool {
    guard let fd = receiver, case .success(let descriptor) = session.resolve(.number(fd)),
      let events = try? Sys.poll([descriptor.fd], events: Int16(POLLIN), timeoutMilliseconds: 0).get(),
      events.first.map({ $0 != 0 }) == true, let line = try? Parser.parse("recv \(fd)")
    else { return false }
    _ = session.executeBounded(line, seconds: LinePolicy.partnerWait)
    show()
    // The end of the stream (0) or an error: nothing more will come.
    if let last = session.records.last, last.errno != nil || last.result <= 0 { receiver = nil }
    return true
  }

  /// Leaving a step: what was not run yet is dropped.
  func stop() { queue.removeAll() }

  /// True while `advance` runs: a partner line that waits (a large send) waits in the event
  /// loop, whose turn timer must not start the same line again inside it.
  var advancing = false

  /// Runs what can run now; returns whether a line ran.
  @discardableResult
  func advance(learner: Session) -> Bool {
    guard !advancing else { return false }
    advancing = true
    defer { advancing = false }
    let started = EventLoop.now()
    var progressed = false
    while let line = queue.first {
      switch line {
      case .waitListening(let pattern):
        guard
          let found = learner.snapshots().first(where: {
            $0.listening && Check.addressMatches($0.local, pattern: pattern)
          }),
          let local = found.local
        else { return progressed }
        session.partnerListening = local.isWildcard ? .loopback(local.family, port: local.port ?? 0) : local
      case .waitReadable(let ref):
        guard case .success(let descriptor) = session.resolve(ref),
          let events = try? Sys.poll([descriptor.fd], events: Int16(POLLIN), timeoutMilliseconds: 0).get(),
          events.first.map({ $0 != 0 }) == true
        else { return progressed }
      case .waitBlocked:
        guard learner.waitingInCall else { return progressed }
      case .sleep(let ms):
        let now = EventLoop.now()
        if sleepUntil == nil { sleepUntil = now + Double(ms) / 1000 }
        if now < sleepUntil! { return progressed }
        sleepUntil = nil
      case .command(let parsed):
        if !readyToRun(parsed) { return progressed }
        let result = session.executeBounded(parsed, seconds: LinePolicy.partnerWait)
        show()
        if ["recv", "recvfrom"].contains(parsed.spec.name), !result.refused,
          let ref = parsed.command.waitsOn, case .success(let descriptor) = session.resolve(ref)
        {
          receiver = descriptor.fd
        }
        if result.refused {
          // The partner cannot go on (its socket is not there: an earlier step went another
          // way). Its other lines would only fail too: the learner is told how to get back.
          queue.removeAll()
          out?.line(
            "The partner cannot do its part of this step (\(result.failure ?? "refused")): it needs what the earlier steps make, as their solutions do. Type prev to take the step before again, or lesson reset to start the lesson over.",
            .error)
          return true
        }
      }
      queue.removeFirst()
      progressed = true
      // A turn takes at most about 50 ms: the learner's keys are read between turns.
      if EventLoop.now() - started > 0.05 { return true }
    }
    return receiveMore() || progressed
  }

  /// Calls that would block wait for their descriptor to be ready instead.
  func readyToRun(_ line: ParsedLine) -> Bool {
    guard let ref = line.command.waitsOn, case .success(let descriptor) = session.resolve(ref) else { return true }
    let events = (try? Sys.poll([descriptor.fd], events: Int16(POLLIN), timeoutMilliseconds: 0).get().first) ?? 0
    return events != 0
  }

  /// Prints the partner's calls and errors, dimmed and prefixed; the explanations under them are
  /// for the learner's own calls.
  func show() {
    let lines = session.out.takeCapturedLines()
    guard let out else { return }
    for line in lines where line.style == .call || line.style == .error {
      // The column that puts a call's name under the names of the learner's calls is no use
      // after the prefix: the name follows the result.
      var text = line.text
      while text.contains("   ") { text = text.replacing("   ", with: "  ") }
      out.line("  partner> " + text, .note)
    }
  }
}
