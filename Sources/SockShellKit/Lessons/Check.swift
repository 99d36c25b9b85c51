#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// One assertion of a lesson step, in the check language:
/// `socket [FD] KEY=VALUE...`, `no socket ...`, `sockets ... = N`, `called SYSCALL [ok|failed|errno=NAME]`,
/// `received [FD] "TEXT"`, `sent [FD] "TEXT"`, `partner received "TEXT"`, `partner connected`, `partner closed`.
public enum Check: Sendable, Equatable {
  public enum Comparison: String, Sendable, Equatable {
    case equal = "=", less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="

    func holds(_ left: Int, _ right: Int) -> Bool {
      switch self {
      case .equal: left == right
      case .less: left < right
      case .greater: left > right
      case .lessOrEqual: left <= right
      case .greaterOrEqual: left >= right
      }
    }
  }

  /// `KEY=VALUE` (or `KEY>=VALUE`...).
  public struct Condition: Sendable, Equatable {
    public var key: String
    public var comparison: Comparison
    public var value: String
  }

  public enum CallOutcome: Sendable, Equatable {
    case any, ok, failed
    case errno(Errno)
    /// `result=N`: returned exactly N (recv returning 0 at end of stream).
    case result(Int)
    /// `result<N`, `result>=N`...: returned a number that compares so (a send that sent less
    /// than it was asked to).
    case resultCompared(Comparison, Int)
  }

  case socket(DescriptorRef?, [Condition])
  case noSocket([Condition])
  case count([Condition], Comparison, Int)
  case called(Syscall, CallOutcome, address: String? = nil)
  case received(DescriptorRef?, [UInt8])
  case sent(DescriptorRef?, [UInt8])
  case partnerReceived([UInt8])
  case partnerConnected
  case partnerClosed
  /// `kept state=TIME_WAIT`: the kernel keeps a connection of the learner's with no descriptor
  /// (what `ls` lists under its table).
  case kept(TCPState)
  /// `segment FROM > TO flags=S`, `segments flags=R >= 1`, `no segment flags=R`: the packets the
  /// wire showed in this step (see WireFilter).
  case segments(WireFilter, Comparison, Int)
  /// `program socket ...`, `program sockets ... = N`, `program accepted >= N`...: what the kernel
  /// showed of the learner's program in the step's last verification.
  case program(ProgramClaim)

  public enum ProgramClaim: Sendable, Equatable {
    /// Among its sockets after the clients left.
    case socket([Condition])
    case noSocket([Condition])
    case count([Condition], Comparison, Int)
    /// Distinct connections it held while the clients ran.
    case accepted(Comparison, Int)
    /// The most connections it held at once.
    case concurrent(Comparison, Int)
    /// Still running when the verification stopped it.
    case running
    /// `clients served`: every client got back what it should (or `>= N` of them).
    case served(Comparison?, Int?)
  }

  /// The keys a program's sockets are checked by (read with sock_diag: no options).
  static let programKeys: Set<String> = ["family", "type", "state", "local", "peer", "backlog", "recvq", "sendq"]

  /// Which packets of the wire a check counts: from and to (names as the wire shows them; `*`
  /// any, `partner` any of the partner's), and what they are: `flags=S.` (TCP flags exactly, as
  /// tcpdump writes them), `udp`, `icmp` or `icmp=port-unreachable`, `zero-window`, `retransmission`.
  public struct WireFilter: Sendable, Equatable {
    public var from = "*"
    public var to = "*"
    public var flags: String?
    public var kind: String?
    public var icmp: String?
    public var zeroWindow = false
    public var retransmission = false

    var text: String {
      var parts = from == "*" && to == "*" ? [] : ["\(from) > \(to)"]
      if let flags { parts.append("flags=\(flags)") }
      if let kind { parts.append(kind) }
      if let icmp { parts.append("icmp=\(icmp)") }
      if zeroWindow { parts.append("zero-window") }
      if retransmission { parts.append("retransmission") }
      return parts.joined(separator: " ")
    }

    func matches(_ record: WireRecord) -> Bool {
      func named(_ pattern: String, _ name: String) -> Bool {
        pattern == "*" || pattern == name || (pattern == "partner" && name.hasPrefix("partner:"))
      }
      guard named(from, record.from), named(to, record.to) else { return false }
      if let flags, record.kind != .tcp || record.flags != flags { return false }
      if kind == "udp" && record.kind != .udp { return false }
      if kind == "icmp" && record.kind != .icmp { return false }
      if let icmp, record.meaning?.replacing(" ", with: "-") != icmp { return false }
      if zeroWindow && !record.zeroWindow { return false }
      if retransmission && !record.retransmission { return false }
      return true
    }

    static func parse(_ tokens: ArraySlice<Token>) throws(ParseError) -> WireFilter {
      var filter = WireFilter()
      var rest = tokens
      if rest.count >= 3, rest[rest.startIndex + 1].text == ">" {
        filter.from = rest[rest.startIndex].text
        filter.to = rest[rest.startIndex + 2].text
        rest = rest.dropFirst(3)
      }
      for token in rest {
        let word = token.text
        if word.hasPrefix("flags=") {
          let flags = String(word.dropFirst(6))
          guard !flags.isEmpty, flags.allSatisfy({ "SFPRU.".contains($0) }) else {
            throw ParseError(
              "flags= takes TCP flags as tcpdump writes them: S, S., ., P., F., R, R.", column: token.column)
          }
          filter.flags = flags
        } else if word == "udp" || word == "icmp" {
          filter.kind = word
        } else if word.hasPrefix("icmp=") {
          filter.kind = "icmp"
          filter.icmp = String(word.dropFirst(5))
        } else if word == "zero-window" {
          filter.zeroWindow = true
        } else if word == "retransmission" {
          filter.retransmission = true
        } else {
          throw ParseError(
            "'\(word)' is not part of a segment check: write FROM > TO, then flags=S., udp, icmp=port-unreachable, zero-window or retransmission",
            column: token.column)
        }
      }
      return filter
    }
  }

  static let keys: Set<String> = [
    "family", "type", "state", "local", "peer", "backlog", "nonblocking", "recvq", "sendq",
  ]
  static let numericKeys: Set<String> = ["backlog", "recvq", "sendq"]

  public static func parse(_ line: String) throws(ParseError) -> Check {
    let tokens = try Lexer.tokenize(line)
    guard let first = tokens.first else { throw ParseError("an empty check") }
    let words = tokens.map(\.text)
    func conditions(_ tokens: ArraySlice<Token>) throws(ParseError) -> [Condition] {
      var result: [Condition] = []
      for token in tokens {
        let text = token.text
        guard let condition = condition(text) else {
          throw ParseError(
            "'\(text)' is not KEY=VALUE (keys: \(keys.sorted().joined(separator: ", ")), or an option name)",
            column: token.column)
        }
        let key = condition.key
        guard keys.contains(key) || SocketOption.named(key) != nil else {
          throw ParseError(
            "unknown key '\(key)': use \(keys.sorted().joined(separator: ", ")) or an option name", column: token.column
          )
        }
        if condition.comparison != .equal && !numericKeys.contains(key) {
          throw ParseError("\(key) compares with = only", column: token.column)
        }
        if numericKeys.contains(key) && Int(condition.value) == nil {
          throw ParseError("\(key) takes a number", column: token.column)
        }
        if key == "state" && TCPState(name: condition.value) == nil
          && !["CONNECTED", "UNCONN"].contains(condition.value.uppercased())
        {
          throw ParseError(
            "'\(condition.value)' is not a TCP state (LISTEN, ESTABLISHED, CLOSE_WAIT...)", column: token.column)
        }
        result.append(condition)
      }
      return result
    }
    func fdAndRest(_ tokens: ArraySlice<Token>) -> (DescriptorRef?, ArraySlice<Token>) {
      if let token = tokens.first, token.isBare, !token.text.contains("="), !token.text.contains("<"),
        !token.text.contains(">"), let ref = DescriptorRef(word: token.text)
      {
        return (ref, tokens.dropFirst())
      }
      return (nil, tokens)
    }
    func comparisonAtEnd(_ what: String) throws(ParseError) -> (Comparison, Int) {
      guard words.count >= 2, let last = Int(words[words.count - 1]),
        let comparison = Comparison(rawValue: words[words.count - 2])
      else { throw ParseError("write: \(what) = N (or >= N, <= N...)", column: first.column) }
      return (comparison, last)
    }
    func programConditions(_ tokens: ArraySlice<Token>) throws(ParseError) -> [Condition] {
      let found = try conditions(tokens)
      if let other = found.first(where: { !programKeys.contains($0.key) }) {
        throw ParseError(
          "a program's sockets are read with sock_diag: keys are \(programKeys.sorted().joined(separator: ", ")), not \(other.key)"
        )
      }
      return found
    }
    switch words[0] {
    case "program":
      let usage =
        "write: program socket KEY=VALUE..., program no socket ..., program sockets ... = N, program accepted >= N, program concurrent >= N or program running"
      guard words.count >= 2 else { throw ParseError(usage, column: first.column) }
      switch words[1] {
      case "socket": return .program(.socket(try programConditions(tokens.dropFirst(2))))
      case "no" where words.count >= 3 && words[2] == "socket":
        return .program(.noSocket(try programConditions(tokens.dropFirst(3))))
      case "sockets":
        let (comparison, number) = try comparisonAtEnd("program sockets KEY=VALUE...")
        return .program(.count(try programConditions(tokens.dropFirst(2).dropLast(2)), comparison, number))
      case "accepted" where words.count == 4:
        let (comparison, number) = try comparisonAtEnd("program accepted")
        return .program(.accepted(comparison, number))
      case "concurrent" where words.count == 4:
        let (comparison, number) = try comparisonAtEnd("program concurrent")
        return .program(.concurrent(comparison, number))
      case "running" where words.count == 2: return .program(.running)
      default: throw ParseError(usage, column: tokens[1].column)
      }
    case "clients":
      guard words.count >= 2, words[1] == "served", words.count == 2 || words.count == 4 else {
        throw ParseError("write: clients served (or clients served >= N)", column: first.column)
      }
      if words.count == 2 { return .program(.served(nil, nil)) }
      let (comparison, number) = try comparisonAtEnd("clients served")
      return .program(.served(comparison, number))
    case "socket":
      let (fd, rest) = fdAndRest(tokens.dropFirst())
      return .socket(fd, try conditions(rest))
    case "segment":
      return .segments(try WireFilter.parse(tokens.dropFirst()), .greaterOrEqual, 1)
    case "segments":
      guard tokens.count >= 3, let last = Int(words[words.count - 1]),
        let comparison = Comparison(rawValue: words[words.count - 2])
      else {
        throw ParseError("write: segments [FROM > TO] flags=R... >= N (or = N, <= N...)", column: first.column)
      }
      return .segments(try WireFilter.parse(tokens.dropFirst().dropLast(2)), comparison, last)
    case "no" where words.count >= 2 && words[1] == "segment":
      return .segments(try WireFilter.parse(tokens.dropFirst(2)), .equal, 0)
    case "no":
      guard words.count >= 2, words[1] == "socket" else {
        throw ParseError("write: no socket KEY=VALUE... (or no segment ...)", column: first.column)
      }
      return .noSocket(try conditions(tokens.dropFirst(2)))
    case "sockets":
      guard tokens.count >= 3, let last = Int(words[words.count - 1]),
        let comparison = Comparison(rawValue: words[words.count - 2])
      else {
        throw ParseError("write: sockets KEY=VALUE... = N (or >= N, <= N...)", column: first.column)
      }
      return .count(try conditions(tokens.dropFirst().dropLast(2)), comparison, last)
    case "called":
      guard words.count >= 2, let syscall = Syscall.named(words[1]) else {
        throw ParseError(
          "called takes a system call: \(Syscall.all.map(\.name).sorted().joined(separator: ", "))",
          column: first.column)
      }
      // `address=PATTERN` (the address the call was given: bind's, connect's) may come last.
      var rest = Array(words.dropFirst(2))
      var address: String?
      if let last = rest.last, last.hasPrefix("address=") {
        address = String(last.dropFirst(8))
        rest.removeLast()
      }
      guard rest.count <= 1 else {
        throw ParseError("write: called SYSCALL [ok|failed|errno=NAME|result=N] [address=PATTERN]")
      }
      guard let word = rest.first else { return .called(syscall, .any, address: address) }
      switch word {
      case "ok": return .called(syscall, .ok, address: address)
      case "failed": return .called(syscall, .failed, address: address)
      default:
        if word.hasPrefix("result="), let value = Int(word.dropFirst(7)) {
          return .called(syscall, .result(value), address: address)
        }
        if word.hasPrefix("result"), let condition = condition(word), condition.key == "result",
          let value = Int(condition.value)
        {
          return .called(syscall, .resultCompared(condition.comparison, value), address: address)
        }
        guard word.hasPrefix("errno="), let errno = Errno(named: String(word.dropFirst(6))) else {
          throw ParseError(
            "after called \(words[1]): ok, failed, errno=NAME, result=N (or result<N, result>=N...), then address=PATTERN",
            column: tokens[2].column)
        }
        return .called(syscall, .errno(errno), address: address)
      }
    case "received", "sent":
      let (fd, rest) = fdAndRest(tokens.dropFirst())
      guard rest.count == 1, let text = rest.first, !text.isBare || text.text.isEmpty == false else {
        throw ParseError("write: \(words[0]) [FD] \"TEXT\"", column: first.column)
      }
      return words[0] == "received" ? .received(fd, text.bytes) : .sent(fd, text.bytes)
    case "partner":
      guard words.count >= 2 else {
        throw ParseError("write: partner received \"TEXT\", partner connected or partner closed")
      }
      switch words[1] {
      case "received" where words.count == 3: return .partnerReceived(tokens[2].bytes)
      case "connected" where words.count == 2: return .partnerConnected
      case "closed" where words.count == 2: return .partnerClosed
      default:
        throw ParseError(
          "write: partner received \"TEXT\", partner connected or partner closed", column: tokens[1].column)
      }
    case "kept":
      guard words.count == 2, words[1].hasPrefix("state="), let state = TCPState(name: String(words[1].dropFirst(6)))
      else { throw ParseError("write: kept state=STATE (TIME_WAIT, FIN_WAIT2...)", column: first.column) }
      return .kept(state)
    default:
      throw ParseError(
        "unknown check '\(words[0])': use socket, no socket, sockets, called, received, sent, kept, partner, segment, segments, no segment, program or clients",
        column: first.column)
    }
  }

  /// Splits `key>=value` at its comparison.
  static func condition(_ text: String) -> Condition? {
    for symbol in [">=", "<=", "=", ">", "<"] {
      if let range = text.firstRange(of: symbol) {
        let key = String(text[..<range.lowerBound]).lowercased()
        let value = String(text[range.upperBound...])
        guard !key.isEmpty, !value.isEmpty, let comparison = Comparison(rawValue: symbol) else { return nil }
        return Condition(key: key, comparison: comparison, value: value)
      }
    }
    return nil
  }
}

/// What checks look at: the learner's session (its descriptors, read from the kernel, and its
/// calls since the step began) and the partner's calls.
extension Check {
  var readsTheWire: Bool {
    if case .segments = self { return true }
    return false
  }
}

struct CheckContext {
  let session: Session
  let stepStart: Int
  let partner: Session?
  let partnerStart: Int
  /// The wire's packet count when the step began, and whether it was on then.
  var wireStart: Int? = nil
  var wireOnAtStart = true
  /// The step's last verification of the learner's program (nil: not run yet).
  var program: ProgramReport? = nil
}

extension Check {
  /// Whether the check holds now, and if not, why, from the difference between expected and actual.
  func evaluate(_ context: CheckContext) -> (holds: Bool, why: String) {
    let session = context.session
    switch self {
    case .socket(let ref, let conditions):
      var snapshots = session.snapshots()
      if let ref {
        guard case .success(let descriptor) = session.resolve(ref) else {
          // A learner who forgot `conn =` has the socket, unnamed: say how to name it.
          if case .name(let name) = ref,
            let fits = snapshots.first(where: { $0.descriptor.name == nil && Check.matches($0, conditions).isEmpty })
          {
            return (
              false,
              "there is no descriptor named \(name); fd \(fits.descriptor.fd) fits: name it with 'name \(fits.descriptor.fd) \(name)'"
            )
          }
          // Closed by mistake, a socket of the lesson's cannot come back by itself.
          return (
            false,
            "there is no descriptor \(ref) now (if you closed it, lesson retry makes the earlier steps' sockets again and starts this step afresh)"
          )
        }
        snapshots = snapshots.filter { $0.descriptor.fd == descriptor.fd }
      }
      if snapshots.contains(where: { Check.matches($0, conditions).isEmpty }) { return (true, "") }
      let wanted =
        "expected a socket with "
        + conditions.map { "\($0.key)\($0.comparison.rawValue)\($0.value)" }.joined(separator: ", ")
      guard
        let closest = snapshots.min(by: { Check.matches($0, conditions).count < Check.matches($1, conditions).count })
      else {
        return (false, wanted + "; you have no socket yet")
      }
      let misses = Check.matches(closest, conditions).joined(separator: ", ")
      return (false, "\(wanted); the closest, fd \(closest.descriptor.label), has \(misses)")
    case .noSocket(let conditions):
      if let found = session.snapshots().first(where: { Check.matches($0, conditions).isEmpty }) {
        return (false, "expected no such socket, but fd \(found.descriptor.label) is one")
      }
      return (true, "")
    case .count(let conditions, let comparison, let number):
      let count = session.snapshots().filter { Check.matches($0, conditions).isEmpty }.count
      return comparison.holds(count, number)
        ? (true, "") : (false, "expected \(comparison.rawValue) \(number) such sockets, found \(count)")
    case .called(let syscall, let outcome, let address):
      let calls = session.records.dropFirst(context.stepStart).filter { record in
        record.kind == syscall && (address.map { Check.addressMatches(record.address, pattern: $0) } ?? true)
      }
      let found = calls.contains { record in
        switch outcome {
        case .any: true
        case .ok: record.errno == nil
        case .failed: record.errno != nil
        case .errno(let errno): record.errno == errno
        case .result(let value): record.errno == nil && record.result == value
        case .resultCompared(let comparison, let value): record.errno == nil && comparison.holds(record.result, value)
        }
      }
      if found { return (true, "") }
      if calls.isEmpty {
        return (
          false,
          "expected a call to \(syscall)\(address.map { " with the address \($0)" } ?? "") in this step; there was none yet"
        )
      }
      let seen = calls.map { $0.errno.map { "-1 \($0.name)" } ?? "\($0.result)" }.joined(separator: ", ")
      return (false, "expected \(syscall) to \(outcome.text); it returned \(seen)")
    case .received(let ref, let text), .sent(let ref, let text):
      let receiving = { if case .received = self { return true } else { return false } }()
      let fd = ref.flatMap { try? session.resolve($0).get().fd }
      let records = session.records.dropFirst(context.stepStart).filter {
        (receiving ? $0.kind.receives : $0.kind.sends) && $0.errno == nil && (fd == nil || $0.fd == fd)
      }
      let joined = records.flatMap(\.data)
      if Check.exactly(records.map(\.data), text) { return (true, "") }
      return (
        false,
        "expected to have \(receiving ? "received" : "sent") \(ByteText.quoted(text)) in this step; "
          + (joined.isEmpty ? "nothing yet" : "so far: \(ByteText.quoted(joined, limit: 40))")
      )
    case .partnerReceived(let text):
      let pieces = (context.partner?.records ?? []).dropFirst(context.partnerStart).filter {
        $0.kind.receives && $0.errno == nil
      }.map(\.data)
      let data = pieces.flatMap { $0 }
      return Check.exactly(pieces, text)
        ? (true, "")
        : (
          false,
          "the partner has not received \(ByteText.quoted(text)) yet (it got \(ByteText.quoted(data, limit: 40)))"
        )
    case .segments(let filter, let comparison, let wanted):
      // Without the wire (off when the step began, and still off) the packets cannot be seen:
      // the check stands aside, and says why.
      let wire = session.host.wire
      guard let wire, let start = context.wireStart, context.wireOnAtStart || wire.isOn else {
        return (
          true,
          "not checked: the wire is off (sockshell --wire, or wire on, shows the packets this step is about)"
        )
      }
      let since = wire.shown.dropFirst(max(0, start - wire.shownBefore))
      let count = since.filter { filter.matches($0) }.count
      if comparison.holds(count, wanted) { return (true, "") }
      let what = filter.text.isEmpty ? "packets" : "packets \(filter.text)"
      var why = "the wire showed \(count) \(what) in this step; the step wants \(comparison.rawValue) \(wanted)"
      if !context.wireOnAtStart {
        why +=
          " (the wire was turned on during the step: what went before was not seen; lesson retry takes the step again with it on)"
      } else if !wire.isOn {
        why += " (the wire was turned off during the step: wire on, then lesson retry)"
      }
      return (false, why)
    case .kept(let state):
      let kept = session.lingeringConnections()
      if kept.contains(where: { $0.1.state == state }) { return (true, "") }
      let seen = kept.map { $0.1.state?.name ?? "?" }
      return (
        false,
        "expected the kernel to keep a connection in \(state.name) with no descriptor; "
          + (seen.isEmpty ? "it keeps none" : "it keeps: \(seen.joined(separator: ", "))")
      )
    case .program(let claim):
      guard let report = context.program else {
        return (false, "your program has not been tried yet: type check to build it, run it and try it")
      }
      return claim.evaluate(report)
    case .partnerConnected:
      let ok = (context.partner?.records ?? []).contains {
        ($0.kind == .connect || $0.kind == .accept) && $0.errno == nil
      }
      return ok ? (true, "") : (false, "the partner is not connected yet")
    case .partnerClosed:
      let ok = (context.partner?.records ?? []).dropFirst(context.partnerStart).contains {
        ($0.kind == .close && $0.errno == nil) || ($0.kind == .recv && $0.result == 0)
      }
      return ok
        ? (true, "")
        : (false, "in this step the partner has not closed a socket, nor seen your side end (its recv returning 0)")
    }
  }

  /// Byte for byte: the step's data, all of it joined, is `expected`, or one call's data is (a
  /// learner who sent it twice has still sent it). `PONG\n` typed bare is a backslash and an n,
  /// not a newline: it is not `"PONG\n"`.
  static func exactly(_ pieces: [[UInt8]], _ expected: [UInt8]) -> Bool {
    pieces.flatMap { $0 } == expected || pieces.contains(expected)
  }

  /// The conditions a snapshot misses, described ("state CLOSED", "local 0.0.0.0:8080"); empty when all hold.
  static func matches(_ snapshot: SocketSnapshot, _ conditions: [Condition]) -> [String] {
    var misses: [String] = []
    for condition in conditions {
      let value = condition.value
      switch condition.key {
      case "family":
        if snapshot.descriptor.family.rawValue != value.lowercased() {
          misses.append("family \(snapshot.descriptor.family.rawValue)")
        }
      case "type":
        let type = snapshot.descriptor.type == .stream ? ["tcp", "stream"] : ["udp", "dgram", "datagram"]
        if !type.contains(value.lowercased()) { misses.append("type \(snapshot.typeText)") }
      case "state":
        let wanted = TCPState(name: value)?.name ?? value.uppercased()
        if snapshot.state != wanted {
          misses.append(
            "state \(snapshot.state)" + (wanted == "LISTEN" && snapshot.state != "LISTEN" ? " (not listening)" : ""))
        }
      case "local":
        if !addressMatches(snapshot.local, pattern: value) {
          misses.append(
            snapshot.local == nil || snapshot.local?.port == 0
              ? "no address (not bound)" : "local \(snapshot.localText)")
        }
      case "peer":
        if !addressMatches(snapshot.peer, pattern: value) {
          misses.append(snapshot.peer == nil ? "no peer (not connected)" : "peer \(snapshot.peerText)")
        }
      case "backlog":
        let backlog = snapshot.listening ? snapshot.sendQ ?? -1 : -1
        if !condition.comparison.holds(backlog, Int(value) ?? 0) {
          misses.append(snapshot.listening ? "backlog \(backlog)" : "no backlog (not listening)")
        }
      case "recvq", "sendq":
        let actual = (condition.key == "recvq" ? snapshot.recvQ : snapshot.sendQ) ?? -1
        if !condition.comparison.holds(actual, Int(value) ?? 0) { misses.append("\(condition.key) \(actual)") }
      case "nonblocking":
        let wanted = OptionWords.flag(value) ?? false
        if snapshot.nonBlocking != wanted { misses.append(snapshot.nonBlocking ? "non-blocking" : "blocking") }
      default:
        guard let option = SocketOption.named(condition.key)?.matching(snapshot.descriptor.family) else { continue }
        let actual: Int32
        switch option.get(snapshot.descriptor.fd) {
        case .success(.integer(let number)): actual = number
        case .success(.linger(let on, _)): actual = on ? 1 : 0
        case .success(.milliseconds(let ms)): actual = Int32(ms)
        case .success(.interface(let interface)):
          // multicast_if=127.0.0.1, multicast_if=lo (or its index).
          var names = [interface.text]
          if case .index(let index, _) = interface { names.append("\(index)") }
          if !names.contains(value) { misses.append("\(option.name)=\(interface.text)") }
          continue
        case .success(.membership), .failure: actual = -1
        }
        let wanted = OptionWords.flag(value).map { $0 ? Int32(1) : 0 } ?? Int32(value) ?? -1
        if (option.kind == .flag ? (actual != 0 ? 1 : 0) : actual) != wanted {
          misses.append("\(option.name)=\(actual)")
        }
      }
    }
    return misses
  }

  /// `127.0.0.1:*`, `*:8080`, `*:*`, `[::1]:*`, a path: `*` stands for any host or port.
  /// The host (without IPv6 brackets) and port (`*` when absent) of an address pattern.
  static func patternParts(_ pattern: String) -> (host: String, port: String) {
    var host = pattern
    var port = "*"
    if let colon = pattern.lastIndex(of: ":") {
      host = String(pattern[..<colon])
      port = String(pattern[pattern.index(after: colon)...])
    }
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host, port)
  }

  static func addressMatches(_ address: SocketAddress?, pattern: String) -> Bool {
    if pattern == "*" { return address != nil }
    guard let address else { return pattern == "-" }
    if address.family == .unix {
      // `@*`: any abstract name; `/tmp/*`: any path under /tmp.
      if pattern.hasSuffix("*") { return address.host.hasPrefix(pattern.dropLast()) }
      return pattern == address.host
    }
    let (host, port) = patternParts(pattern)
    let hostOK = host == "*" || host == address.host || (host == "0.0.0.0" && address.isWildcard)
    let portOK = port == "*" || UInt16(port) == address.port
    return hostOK && portOK
  }
}

extension Check.CallOutcome {
  var text: String {
    switch self {
    case .any: "be made"
    case .ok: "succeed"
    case .failed: "fail"
    case .errno(let errno): "fail with \(errno.name)"
    case .result(let value): "return \(value)"
    case .resultCompared(let comparison, let value): "return \(comparison.rawValue) \(value)"
    }
  }
}

extension Check.ProgramClaim {
  /// Whether the claim holds for a verification's report, and if not, what the kernel showed.
  func evaluate(_ report: ProgramReport) -> (holds: Bool, why: String) {
    if let problem = report.problem { return (false, problem) }
    if report.interrupted { return (false, "the last try was interrupted: type check to try again") }
    guard report.listenedAfter != nil else {
      return (false, "your program never listened on 127.0.0.1:\(report.port) (nor on every address)")
    }
    func sockets() -> [ProcessSocket]? { report.end?.sockets }
    let ended = report.ending.map { $0.hasPrefix("killed") ? "was " + $0 : $0 } ?? "ended"
    let gone = "your program was not running when the clients had left (it \(ended))"
    switch self {
    case .socket(let conditions):
      guard let sockets = sockets() else { return (false, gone) }
      if sockets.contains(where: { Check.matches($0, conditions).isEmpty }) { return (true, "") }
      let wanted = conditions.map { "\($0.key)\($0.comparison.rawValue)\($0.value)" }.joined(separator: ", ")
      guard let closest = sockets.min(by: { Check.matches($0, conditions).count < Check.matches($1, conditions).count })
      else { return (false, "expected a socket of your program with \(wanted); it had none open") }
      return (
        false,
        "expected a socket of your program with \(wanted); the closest, its fd \(closest.fd), has "
          + Check.matches(closest, conditions).joined(separator: ", ")
      )
    case .noSocket(let conditions):
      guard let sockets = sockets() else { return (false, gone) }
      if let found = sockets.first(where: { Check.matches($0, conditions).isEmpty }) {
        return (false, "expected no such socket of your program; its fd \(found.fd) is one (\(found.state))")
      }
      return (true, "")
    case .count(let conditions, let comparison, let number):
      guard let sockets = sockets() else { return (false, gone) }
      let matching = sockets.filter { Check.matches($0, conditions).isEmpty }
      if comparison.holds(matching.count, number) { return (true, "") }
      return (
        false,
        "expected \(comparison.rawValue) \(number) such sockets of your program after the clients left; it had \(matching.count)"
          + (matching.isEmpty ? "" : " (fds " + matching.map { "\($0.fd)" }.joined(separator: ", ") + ")")
      )
    case .accepted(let comparison, let number):
      return comparison.holds(report.accepted, number)
        ? (true, "")
        : (
          false,
          "your program accepted at least \(report.accepted) connections (\(report.acceptedInodes.count) seen in its sockets, read every 10 ms; \(report.answered) clients answered); the step wants \(comparison.rawValue) \(number)"
        )
    case .concurrent(let comparison, let number):
      return comparison.holds(report.mostHeld, number)
        ? (true, "")
        : (
          false,
          "your program held at most \(report.mostHeld) connection\(report.mostHeld == 1 ? "" : "s") at once; the step wants \(comparison.rawValue) \(number)"
        )
    case .running:
      return report.running
        ? (true, "")
        : (false, "your program \(ended)" + (report.endedDuring.map { " while \($0)" } ?? ""))
    case .served(let comparison, let number):
      let all = report.everyClient
      let served = report.served
      if let comparison, let number {
        return comparison.holds(served, number)
          ? (true, "")
          : (false, "\(served) of \(all.count) clients were served; the step wants \(comparison.rawValue) \(number)")
      }
      if served == all.count && !all.isEmpty { return (true, "") }
      return (false, "\(served) of \(all.count) clients got back what they should")
    }
  }
}

extension Check {
  /// The conditions a program's socket misses, described; empty when all hold.
  static func matches(_ socket: ProcessSocket, _ conditions: [Condition]) -> [String] {
    var misses: [String] = []
    for condition in conditions {
      let value = condition.value
      switch condition.key {
      case "family":
        let family = socket.kind.hasPrefix("unix") ? "unix" : socket.kind.hasSuffix("6") ? "ipv6" : "ipv4"
        if family != value.lowercased() { misses.append("family \(family)") }
      case "type":
        let stream = socket.isTCP || socket.kind == "unix-stream"
        let names = stream ? ["tcp", "stream"] : ["udp", "dgram", "datagram"]
        if !names.contains(value.lowercased()) { misses.append("type \(socket.kind)") }
      case "state":
        let wanted = TCPState(name: value)?.name ?? value.uppercased()
        if socket.state != wanted { misses.append("state \(socket.state)") }
      case "local":
        let address = socket.inet?.local
        if !(address.map { addressMatches($0, pattern: value) } ?? (value == socket.local)) {
          misses.append("local \(socket.local)")
        }
      case "peer":
        let address = socket.inet.flatMap { $0.remote.port == 0 ? nil : $0.remote }
        if !addressMatches(address, pattern: value) { misses.append("peer \(socket.peer)") }
      case "backlog":
        let backlog = socket.listening ? socket.sendQ ?? -1 : -1
        if !condition.comparison.holds(backlog, Int(value) ?? 0) {
          misses.append(socket.listening ? "backlog \(backlog)" : "no backlog (not listening)")
        }
      case "recvq", "sendq":
        let actual = (condition.key == "recvq" ? socket.recvQ : socket.sendQ) ?? -1
        if !condition.comparison.holds(actual, Int(value) ?? 0) { misses.append("\(condition.key) \(actual)") }
      default:
        misses.append("\(condition.key) (not read for a program)")
      }
    }
    return misses
  }
}
