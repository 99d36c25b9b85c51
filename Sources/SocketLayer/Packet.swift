import CSupport

#if canImport(Glibc)
  import Glibc
#endif

/// One packet seen on loopback, as the wire view needs it: its endpoints and what it carries.
/// Parsed from the frame alone (a zeroed Ethernet header, then IPv4 or IPv6); nothing in it is
/// trusted: a frame too short for what its headers claim is no packet.
public struct Packet: Sendable, Equatable {
  public var source: SocketAddress
  public var destination: SocketAddress
  public var body: Body

  public enum Body: Sendable, Equatable {
    case tcp(TCPSegment)
    case udp(payload: [UInt8])
    /// An ICMP or ICMPv6 error, with the endpoints of the datagram it answers (from the copy of
    /// its headers that it carries) when they could be read.
    case icmp(ICMPError)
  }
}

public struct TCPSegment: Sendable, Equatable {
  public var flags: UInt8
  public var sequence: UInt32
  public var acknowledgement: UInt32
  /// The window field as sent (before scaling).
  public var window: UInt16
  public var options: [TCPOption]
  public var payload: [UInt8]

  public static let fin: UInt8 = 0x01
  public static let syn: UInt8 = 0x02
  public static let rst: UInt8 = 0x04
  public static let psh: UInt8 = 0x08
  public static let ack: UInt8 = 0x10
  public static let urg: UInt8 = 0x20

  public func has(_ flag: UInt8) -> Bool { flags & flag != 0 }

  /// The flags as tcpdump writes them: S F P R U, then `.` for ACK (`S.` is SYN+ACK).
  public var flagText: String {
    var text = ""
    let letters: [(UInt8, String)] = [
      (TCPSegment.syn, "S"), (TCPSegment.fin, "F"), (TCPSegment.psh, "P"), (TCPSegment.rst, "R"), (TCPSegment.urg, "U"),
    ]
    for (flag, letter) in letters where has(flag) {
      text += letter
    }
    if has(TCPSegment.ack) { text += "." }
    return text.isEmpty ? "none" : text
  }
}

public enum TCPOption: Sendable, Equatable {
  case mss(UInt16)
  case sackPermitted
  case timestamp(value: UInt32, echo: UInt32)
  case windowScale(UInt8)
  case sack(blocks: Int)
  case nop
  case other(kind: UInt8)

  /// As tcpdump names them: `mss 65495`, `sackOK`, `TS`, `wscale 7`, `nop`.
  public var text: String {
    switch self {
    case .mss(let size): "mss \(size)"
    case .sackPermitted: "sackOK"
    case .timestamp: "TS"
    case .windowScale(let shift): "wscale \(shift)"
    case .sack(let blocks): "sack \(blocks)"
    case .nop: "nop"
    case .other(let kind): "opt-\(kind)"
    }
  }
}

public struct ICMPError: Sendable, Equatable {
  public var version6: Bool
  public var type: UInt8
  public var code: UInt8
  /// The answered datagram's protocol (17 UDP, 6 TCP) and endpoints.
  public var quotedProtocol: UInt8?
  public var quotedSource: SocketAddress?
  public var quotedDestination: SocketAddress?

  /// What the message means, in words.
  public var meaning: String {
    if version6 {
      switch (type, code) {
      case (1, 4): return "port unreachable"
      case (1, 0): return "no route to host"
      case (1, 1): return "administratively prohibited"
      case (1, 3): return "host unreachable"
      case (1, _): return "destination unreachable (code \(code))"
      case (2, _): return "packet too big"
      case (3, _): return "time exceeded"
      default: return "type \(type) code \(code)"
      }
    }
    switch (type, code) {
    case (3, 3): return "port unreachable"
    case (3, 1): return "host unreachable"
    case (3, 0): return "network unreachable"
    case (3, 4): return "fragmentation needed"
    case (3, 13): return "administratively prohibited"
    case (3, _): return "destination unreachable (code \(code))"
    case (11, _): return "time exceeded"
    default: return "type \(type) code \(code)"
    }
  }
}

extension Packet {
  /// The packet in a loopback frame (14 bytes of Ethernet header, then IP), or nil.
  public init?(frame: [UInt8]) {
    guard frame.count >= 14 else { return nil }
    let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
    self.init(ip: frame[14...], etherType: etherType)
  }

  init?(ip bytes: ArraySlice<UInt8>, etherType: UInt16) {
    let b = Array(bytes)
    var protocolNumber: UInt8
    var source: [UInt8]
    var destination: [UInt8]
    var rest: ArraySlice<UInt8>
    let v6: Bool
    switch etherType {
    case 0x0800:
      guard b.count >= 20, b[0] >> 4 == 4 else { return nil }
      let headerLength = Int(b[0] & 0x0F) * 4
      let total = Int(b[2]) << 8 | Int(b[3])
      guard headerLength >= 20, total >= headerLength, b.count >= total else { return nil }
      // A fragment other than the first has no transport header to read.
      guard (Int(b[6] & 0x1F) << 8 | Int(b[7])) == 0 else { return nil }
      protocolNumber = b[9]
      source = Array(b[12..<16])
      destination = Array(b[16..<20])
      rest = b[headerLength..<total]
      v6 = false
    case 0x86DD:
      guard b.count >= 40, b[0] >> 4 == 6 else { return nil }
      let payload = Int(b[4]) << 8 | Int(b[5])
      guard b.count >= 40 + payload else { return nil }
      protocolNumber = b[6]
      source = Array(b[8..<24])
      destination = Array(b[24..<40])
      rest = b[40..<40 + payload]
      v6 = true
    default:
      return nil
    }
    func address(_ ip: [UInt8], _ port: UInt16) -> SocketAddress {
      v6 ? .ipv6(ip, port: port, scopeID: 0) : .ipv4(ip, port: port)
    }
    let t = Array(rest)
    switch protocolNumber {
    case 6:
      guard t.count >= 20 else { return nil }
      let offset = Int(t[12] >> 4) * 4
      guard offset >= 20, t.count >= offset else { return nil }
      let segment = TCPSegment(
        flags: t[13] & 0x3F,
        sequence: Packet.word(t, 4), acknowledgement: Packet.word(t, 8),
        window: UInt16(t[14]) << 8 | UInt16(t[15]),
        options: Packet.options(t[20..<offset]), payload: Array(t[offset...]))
      self.init(
        source: address(source, Packet.half(t, 0)), destination: address(destination, Packet.half(t, 2)),
        body: .tcp(segment))
    case 17:
      guard t.count >= 8 else { return nil }
      let length = Int(Packet.half(t, 4))
      guard length >= 8, length <= t.count else { return nil }
      self.init(
        source: address(source, Packet.half(t, 0)), destination: address(destination, Packet.half(t, 2)),
        body: .udp(payload: Array(t[8..<length])))
    case 1, 58:
      guard (protocolNumber == 1) != v6, t.count >= 8 else { return nil }
      let type = t[0]
      // Only errors, which quote the packet they answer (echo requests and the like are not a
      // socket's traffic).
      let errors: Set<UInt8> = v6 ? [1, 2, 3, 4] : [3, 4, 5, 11, 12]
      guard errors.contains(type) else { return nil }
      var error = ICMPError(version6: v6, type: type, code: t[1])
      if let quoted = Packet.quotedEndpoints(Array(t[8...]), v6: v6) {
        error.quotedProtocol = quoted.0
        error.quotedSource = quoted.1
        error.quotedDestination = quoted.2
      }
      self.init(source: address(source, 0), destination: address(destination, 0), body: .icmp(error))
    default:
      return nil
    }
  }

  /// The protocol and endpoints of the packet an ICMP error quotes (its IP header and the first
  /// 8 bytes after it: enough for the ports).
  static func quotedEndpoints(_ bytes: [UInt8], v6: Bool) -> (UInt8, SocketAddress, SocketAddress)? {
    if v6 {
      guard bytes.count >= 44, bytes[0] >> 4 == 6 else { return nil }
      let ports = Array(bytes[40..<44])
      return (
        bytes[6], .ipv6(Array(bytes[8..<24]), port: half(ports, 0), scopeID: 0),
        .ipv6(Array(bytes[24..<40]), port: half(ports, 2), scopeID: 0)
      )
    }
    guard bytes.count >= 20, bytes[0] >> 4 == 4 else { return nil }
    let headerLength = Int(bytes[0] & 0x0F) * 4
    guard headerLength >= 20, bytes.count >= headerLength + 4 else { return nil }
    let ports = Array(bytes[headerLength..<headerLength + 4])
    return (
      bytes[9], .ipv4(Array(bytes[12..<16]), port: half(ports, 0)),
      .ipv4(Array(bytes[16..<20]), port: half(ports, 2))
    )
  }

  static func half(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }

  static func word(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
  }

  /// TCP options, as far as they can be read (a length that runs past the header ends them).
  static func options(_ raw: ArraySlice<UInt8>) -> [TCPOption] {
    let bytes = Array(raw)
    var options: [TCPOption] = []
    var index = 0
    while index < bytes.count {
      let kind = bytes[index]
      if kind == 0 { break }
      if kind == 1 {
        options.append(.nop)
        index += 1
        continue
      }
      guard index + 1 < bytes.count else { break }
      let length = Int(bytes[index + 1])
      guard length >= 2, index + length <= bytes.count else { break }
      let value = Array(bytes[index + 2..<index + length])
      switch (kind, value.count) {
      case (2, 2): options.append(.mss(half(value, 0)))
      case (3, 1): options.append(.windowScale(value[0]))
      case (4, 0): options.append(.sackPermitted)
      case (5, _): options.append(.sack(blocks: value.count / 8))
      case (8, 8): options.append(.timestamp(value: word(value, 0), echo: word(value, 4)))
      default: options.append(.other(kind: kind))
      }
      index += length
    }
    return options
  }
}

/// A capture of loopback's frames (an AF_PACKET socket on `lo`).
public enum Capture {
  /// Opens it; fails with the errno that says why (EPERM: no CAP_NET_RAW in this namespace).
  public static func open(interface: String = "lo") -> SysResult<Int32> {
    let fd = interface.withCString { csupport_packet_open($0) }
    guard fd >= 0 else { return .failure(Errno(errno)) }
    // Above 100, apart from the learner's: their sockets are numbered from 3, wire on or not.
    let high = fcntl(fd, F_DUPFD_CLOEXEC, 100)
    if high < 0 { return .success(fd) }
    Glibc.close(fd)
    return .success(high)
  }

  /// Hands each frame waiting to `body`, with when the kernel took it (seconds since the epoch),
  /// one at a time through one buffer (a burst of 64 KiB segments is never all in memory at
  /// once); returns how many there were (at most `limit`).
  @discardableResult
  public static func read(_ fd: Int32, limit: Int = 4096, _ body: ([UInt8], Double) -> Void) -> Int {
    var buffer = [UInt8](repeating: 0, count: 65536 + 128)
    var frames = 0
    while frames < limit {
      var microseconds: Int64 = 0
      let count = buffer.withUnsafeMutableBytes {
        csupport_packet_recv(fd, $0.baseAddress, UInt($0.count), &microseconds)
      }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { break }
      frames += 1
      body(Array(buffer.prefix(count)), Double(microseconds) / 1_000_000)
    }
    return frames
  }
}
