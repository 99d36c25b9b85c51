#if canImport(Glibc)
  import Glibc
#endif
import FoundationEssentials
import SocketLayer

/// One message of the class protocol: a JSON object on a line of its own, over TCP. `type` says
/// which; the other fields are there when the type uses them (README lists them).
struct ClassMessage: Codable, Sendable, Equatable {
  var type: String
  /// hello: the join code; welcome: the class's code.
  var code: String?
  /// hello: the student's name and host name.
  var name: String?
  var host: String?
  /// hello (when reconnecting) and welcome: who the student is to the class.
  var token: String?
  /// command: its number in the class; hello: the last one the student saw (reconnecting).
  var seq: Int?
  /// command, status: the line, as typed.
  var line: String?
  /// command: what the instructor saw under it.
  var output: [String]?
  /// command, status: whether the line went as it should.
  var ok: Bool?
  /// status: the lesson being taken and its step.
  var lesson: String?
  var step: Int?
  /// hand: up or down.
  var up: Bool?
  /// share: the address of a listening socket the student shares (nil: none any more).
  var address: String?
  /// peers: every shared listener of the class.
  var peers: [Peer]?
  /// welcome: commands run before the student joined; resync: commands dropped.
  var missed: Int?
  /// refused, bye: why.
  var why: String?
  /// command: sent for `class replay` (run at once), not live.
  var replay: Bool?
  /// refused: the class cannot take the student now (full, busy): try again later.
  var again: Bool?

  struct Peer: Codable, Sendable, Equatable {
    var name: String
    var address: String
  }

  init(_ type: String) { self.type = type }

  /// The message as one line of JSON with its newline.
  var encoded: [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var bytes = (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
    bytes.append(0x0A)
    return bytes
  }

  /// A line of JSON as a message; nil when it is not one.
  static func decode(_ line: [UInt8]) -> ClassMessage? {
    try? JSONDecoder().decode(ClassMessage.self, from: Data(line))
  }
}

/// The limits of the protocol: what a peer may send before its connection is closed.
enum ClassLimits {
  /// A message is at most this many bytes (its line included).
  static let maxMessage = 16 << 10
  /// A connection keeps at most this much to send before it stops taking more (the rest waits
  /// in the class's log, or is dropped with a resync).
  static let sendBuffer = 32 << 10
  /// A command's output is at most this many lines of this many characters.
  static let outputLines = 40
  static let outputLineLength = 240
  /// Names, host names, lines: at most this many characters.
  static let nameLength = 32
  static let lineLength = 2000
  /// The class keeps this many commands (older ones are dropped, and said to be).
  static let logSize = 1000
  /// A connection must say hello within this many seconds.
  static let helloSeconds = 5.0
  /// At most this many students.
  static let students = 1000
}

/// A nonblocking TCP connection of the class, with what was read but not yet a whole line and
/// what waits to be sent. Its descriptor is above 100, apart from the learner's.
final class ClassConnection {
  let fd: Int32
  var inbound: [UInt8] = []
  var outbound: [UInt8] = []
  var sentOffset = 0
  /// Why it ended, once it did.
  var ended: String?
  /// The loop's source id.
  var source = 0
  /// The peer's address (host part), as accepted.
  var peerHost = ""

  init(fd: Int32) {
    self.fd = fd
  }

  /// Moves a descriptor above 100 and makes it nonblocking (and close-on-exec).
  static func adopt(_ fd: Int32) -> Int32 {
    let high = fcntl(fd, F_DUPFD_CLOEXEC, 100)
    if high >= 0 { Glibc.close(fd) }
    let moved = high >= 0 ? high : fd
    _ = Sys.setNonBlocking(moved, true)
    return moved
  }

  var waiting: Int { outbound.count - sentOffset }

  /// Queues a message; false when the buffer is over its limit (nothing queued).
  @discardableResult
  func send(_ message: ClassMessage, force: Bool = false) -> Bool {
    guard ended == nil else { return false }
    if !force && waiting >= ClassLimits.sendBuffer { return false }
    outbound += message.encoded
    flush()
    return true
  }

  /// Writes what it can without blocking.
  func flush() {
    while ended == nil && sentOffset < outbound.count {
      let count = outbound.withUnsafeBytes { raw in
        Glibc.send(fd, raw.baseAddress! + sentOffset, raw.count - sentOffset, Int32(MSG_NOSIGNAL))
      }
      if count < 0 {
        if errno == EINTR { continue }
        if errno != EAGAIN && errno != EWOULDBLOCK { ended = String(cString: strerror(errno)) }
        break
      }
      sentOffset += count
    }
    if sentOffset == outbound.count {
      outbound.removeAll()
      sentOffset = 0
    } else if sentOffset > 1 << 14 {
      outbound.removeFirst(sentOffset)
      sentOffset = 0
    }
  }

  /// Reads what arrived and returns the whole lines in it; ends the connection at end of
  /// stream, on an error, or when a line is longer than a message may be.
  func receive() -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var chunk = [UInt8](repeating: 0, count: 16 << 10)
    for _ in 0..<4 {
      let count = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
      if count == 0 {
        ended = "the other side closed the connection"
        break
      }
      if count < 0 {
        if errno == EINTR { continue }
        if errno != EAGAIN && errno != EWOULDBLOCK { ended = String(cString: strerror(errno)) }
        break
      }
      inbound += chunk[0..<count]
      var start = 0
      while let newline = inbound[start...].firstIndex(of: 0x0A) {
        lines.append(Array(inbound[start..<newline]))
        start = newline + 1
      }
      inbound.removeFirst(start)
      if inbound.count > ClassLimits.maxMessage || lines.contains(where: { $0.count > ClassLimits.maxMessage }) {
        ended = "a message over \(ClassLimits.maxMessage / 1024) KiB"
        return []
      }
      if count < chunk.count { break }
    }
    return lines
  }

  func close() {
    if ended == nil { ended = "closed" }
    Glibc.close(fd)
  }
}

/// Text from the other side of a class, made safe to keep: printable (escaped), and cut.
func classText(_ text: String?, limit: Int) -> String? {
  guard let text else { return nil }
  let safe = ByteText.sanitized(text)
  return safe.count > limit ? String(safe.prefix(limit)) + "..." : safe
}

/// `HOST:PORT` or `[V6]:PORT`, numeric: the address a class is served or joined at.
func classAddress(_ text: String) -> SocketAddress? {
  var host = Substring(text)
  var portText: Substring
  if host.hasPrefix("[") {
    guard let close = host.firstIndex(of: "]"), host[host.index(after: close)...].hasPrefix(":") else { return nil }
    portText = host[host.index(close, offsetBy: 2)...]
    host = host[host.index(after: host.startIndex)..<close]
  } else {
    guard let colon = host.lastIndex(of: ":") else { return nil }
    portText = host[host.index(after: colon)...]
    host = host[..<colon]
  }
  guard let port = UInt16(portText) else { return nil }
  if host.lowercased() == "localhost" { return .loopback(.ipv4, port: port) }
  return SocketAddress.numeric(String(host), port: port)
}
