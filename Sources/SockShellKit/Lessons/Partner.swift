#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import SocketLayer

/// A line of a `partner` block: the command language, plus three partner-only commands.
public enum PartnerLine: Sendable, Equatable {
  /// `wait listening ADDR`: until a socket of the learner listens there; `{listening}` is then it.
  case waitListening(String)
  /// `wait readable FD`: until one of the partner's descriptors is readable.
  case waitReadable(DescriptorRef)
  /// `sleep MS`.
  case sleep(Int)
  /// Any command of the language (`{listening}` filled in when it runs).
  case command(String)

  public static func parse(_ text: String) throws(ParseError) -> PartnerLine {
    let tokens = try Lexer.tokenize(text)
    let words = tokens.map(\.text)
    switch words.first {
    case "wait":
      if words.count == 3 && words[1] == "listening" { return .waitListening(words[2]) }
      if words.count == 3 && words[1] == "readable", let ref = DescriptorRef(word: words[2]) {
        return .waitReadable(ref)
      }
      throw ParseError("write: wait listening ADDR, or wait readable FD")
    case "sleep":
      guard words.count == 2, let ms = Int(words[1]), ms >= 0, ms <= 60_000 else {
        throw ParseError("write: sleep MS (0 to 60000)")
      }
      return .sleep(ms)
    default:
      let probe = text.replacing("{listening}", with: "127.0.0.1:1")
      _ = try Parser.parse(probe)
      return .command(text)
    }
  }
}

/// The lesson's own peer: a second session with its own descriptors, run step by step on the
/// shell's thread. It runs each line as soon as it can without blocking, and waits otherwise
/// (for the learner to listen, for data to arrive), so that nothing races and nothing hangs.
public final class Partner {
  public let session: Session
  var queue: [PartnerLine] = []
  var listening: SocketAddress?
  var sleepUntil: Double?
  /// Where its output goes, dimmed and prefixed (nil: kept quiet, as in `lesson test`).
  let out: Output?

  init(out: Output?, loop: EventLoop) {
    self.out = out
    session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 2), loop: loop)
  }

  /// The lines of a step's partner block, to run from now on.
  func start(_ lines: [LessonLine]) {
    queue = lines.compactMap { try? PartnerLine.parse($0.text) }
    sleepUntil = nil
  }

  /// Leaving a step: what was not run yet is dropped.
  func stop() { queue.removeAll() }

  /// Runs what can run now; returns whether a line ran.
  @discardableResult
  func advance(learner: Session) -> Bool {
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
        listening = local.isWildcard ? .loopback(local.family, port: local.port ?? 0) : local
      case .waitReadable(let ref):
        guard case .success(let descriptor) = session.resolve(ref),
          let events = try? Sys.poll([descriptor.fd], events: Int16(POLLIN), timeoutMilliseconds: 0).get(),
          events.first.map({ $0 != 0 }) == true
        else { return progressed }
      case .sleep(let ms):
        let now = EventLoop.now()
        if sleepUntil == nil { sleepUntil = now + Double(ms) / 1000 }
        if now < sleepUntil! { return progressed }
        sleepUntil = nil
      case .command(let text):
        let filled = text.replacing("{listening}", with: listening?.description ?? "127.0.0.1:1")
        guard let parsed = try? Parser.parse(filled) else { break }
        if !readyToRun(parsed) { return progressed }
        session.execute(parsed)
        show()
      }
      queue.removeFirst()
      progressed = true
    }
    return progressed
  }

  /// Calls that would block wait for their descriptor to be ready instead.
  func readyToRun(_ line: ParsedLine) -> Bool {
    let ref: DescriptorRef?
    switch line.command {
    case let accept as AcceptCommand: ref = accept.fd
    case let recv as RecvCommand: ref = recv.fd
    case let recvfrom as RecvFromCommand: ref = recvfrom.fd
    default: ref = nil
    }
    guard let ref, case .success(let descriptor) = session.resolve(ref) else { return true }
    let events = (try? Sys.poll([descriptor.fd], events: Int16(POLLIN), timeoutMilliseconds: 0).get().first) ?? 0
    return events != 0
  }

  /// Prints what the partner's session printed, dimmed and prefixed.
  func show() {
    let text = session.out.takeCaptured()
    guard let out else { return }
    // The calls and their results; the explanations are for the learner's own calls.
    for line in text.split(separator: "\n") where !line.hasPrefix("  ") { out.line("  partner> " + line, .note) }
  }
}
