#if canImport(Glibc)
  import Glibc
#endif

/// A socket option that `getsockopt`/`setsockopt` can read or change, by its short name.
public struct SocketOption: Sendable, Hashable {
  /// How the option's value is laid out in memory.
  public enum Kind: Sendable, Hashable {
    /// An `int` used as on/off.
    case flag
    /// An `int` count (bytes, seconds).
    case integer
    /// `struct linger { int l_onoff; int l_linger; }`.
    case linger
    /// `struct timeval`, written and shown in milliseconds.
    case timeval
    /// A pending error number (SO_ERROR): reading it clears it.
    case errno
    /// A socket type number (SO_TYPE).
    case socketType
  }

  public let name: String
  public let cName: String
  public let level: Int32
  public let levelName: String
  public let optname: Int32
  public let kind: Kind
  public let readOnly: Bool
  /// TCP-level options only apply to TCP sockets; v6only only to IPv6.
  public let tcpOnly: Bool
  public let ipv6Only: Bool
  public let summary: String

  init(
    _ name: String, _ cName: String, level: Int32, _ levelName: String, _ optname: Int32, _ kind: Kind,
    readOnly: Bool = false, tcpOnly: Bool = false, ipv6Only: Bool = false, _ summary: String
  ) {
    self.name = name
    self.cName = cName
    self.level = level
    self.levelName = levelName
    self.optname = optname
    self.kind = kind
    self.readOnly = readOnly
    self.tcpOnly = tcpOnly
    self.ipv6Only = ipv6Only
    self.summary = summary
  }

  public static let all: [SocketOption] = [
    .init(
      "reuseaddr", "SO_REUSEADDR", level: SOL_SOCKET, "SOL_SOCKET", SO_REUSEADDR, .flag,
      "bind may reuse a port whose old connections linger in TIME_WAIT"),
    .init(
      "reuseport", "SO_REUSEPORT", level: SOL_SOCKET, "SOL_SOCKET", SO_REUSEPORT, .flag,
      "several sockets (each with this set) may bind the same address and port"),
    .init(
      "keepalive", "SO_KEEPALIVE", level: SOL_SOCKET, "SOL_SOCKET", SO_KEEPALIVE, .flag,
      "probe an idle connection now and then to notice a vanished peer"),
    .init(
      "broadcast", "SO_BROADCAST", level: SOL_SOCKET, "SOL_SOCKET", SO_BROADCAST, .flag,
      "allow sending UDP datagrams to a broadcast address"),
    .init(
      "linger", "SO_LINGER", level: SOL_SOCKET, "SOL_SOCKET", SO_LINGER, .linger,
      "what close does with unsent data: on with 0 s resets the connection at once"),
    .init(
      "rcvbuf", "SO_RCVBUF", level: SOL_SOCKET, "SOL_SOCKET", SO_RCVBUF, .integer,
      "receive buffer size in bytes (the kernel doubles what you set)"),
    .init(
      "sndbuf", "SO_SNDBUF", level: SOL_SOCKET, "SOL_SOCKET", SO_SNDBUF, .integer,
      "send buffer size in bytes (the kernel doubles what you set)"),
    .init(
      "rcvtimeo", "SO_RCVTIMEO", level: SOL_SOCKET, "SOL_SOCKET", SO_RCVTIMEO, .timeval,
      "a blocking receive gives up with EAGAIN after this many milliseconds (0 = wait forever)"),
    .init(
      "sndtimeo", "SO_SNDTIMEO", level: SOL_SOCKET, "SOL_SOCKET", SO_SNDTIMEO, .timeval,
      "a blocking send gives up with EAGAIN after this many milliseconds (0 = wait forever)"),
    .init(
      "rcvlowat", "SO_RCVLOWAT", level: SOL_SOCKET, "SOL_SOCKET", SO_RCVLOWAT, .integer,
      "the fewest bytes that make the socket readable"),
    .init(
      "oobinline", "SO_OOBINLINE", level: SOL_SOCKET, "SOL_SOCKET", SO_OOBINLINE, .flag,
      "urgent (out-of-band) data arrives inline with the normal data"),
    .init(
      "nodelay", "TCP_NODELAY", level: Int32(IPPROTO_TCP), "IPPROTO_TCP", TCP_NODELAY, .flag, tcpOnly: true,
      "send small segments at once instead of waiting to join them (turns Nagle's algorithm off)"),
    .init(
      "cork", "TCP_CORK", level: Int32(IPPROTO_TCP), "IPPROTO_TCP", TCP_CORK, .flag, tcpOnly: true,
      "hold back partial segments until uncorked"),
    .init(
      "maxseg", "TCP_MAXSEG", level: Int32(IPPROTO_TCP), "IPPROTO_TCP", TCP_MAXSEG, .integer, tcpOnly: true,
      "the largest segment this connection sends (MSS), in bytes"),
    .init(
      "keepidle", "TCP_KEEPIDLE", level: Int32(IPPROTO_TCP), "IPPROTO_TCP", TCP_KEEPIDLE, .integer, tcpOnly: true,
      "seconds of silence before the first keepalive probe"),
    .init(
      "keepintvl", "TCP_KEEPINTVL", level: Int32(IPPROTO_TCP), "IPPROTO_TCP", TCP_KEEPINTVL, .integer,
      tcpOnly: true, "seconds between keepalive probes"),
    .init(
      "keepcnt", "TCP_KEEPCNT", level: Int32(IPPROTO_TCP), "IPPROTO_TCP", TCP_KEEPCNT, .integer, tcpOnly: true,
      "unanswered probes before the connection is dropped"),
    .init(
      "v6only", "IPV6_V6ONLY", level: Int32(IPPROTO_IPV6), "IPPROTO_IPV6", IPV6_V6ONLY, .flag, ipv6Only: true,
      "an IPv6 socket accepts IPv6 only, not IPv4 clients as ::ffff:a.b.c.d"),
    .init(
      "error", "SO_ERROR", level: SOL_SOCKET, "SOL_SOCKET", SO_ERROR, .errno, readOnly: true,
      "a pending error, e.g. the result of a non-blocking connect; reading it clears it"),
    .init(
      "type", "SO_TYPE", level: SOL_SOCKET, "SOL_SOCKET", SO_TYPE, .socketType, readOnly: true,
      "the socket type: SOCK_STREAM or SOCK_DGRAM"),
    .init(
      "acceptconn", "SO_ACCEPTCONN", level: SOL_SOCKET, "SOL_SOCKET", SO_ACCEPTCONN, .flag, readOnly: true,
      "1 when the socket is listening"),
  ]

  /// Finds an option by short name (`reuseaddr`) or C name (`SO_REUSEADDR`), any case.
  public static func named(_ text: String) -> SocketOption? {
    let lower = text.lowercased()
    return all.first { $0.name == lower || $0.cName.lowercased() == lower }
  }

  /// Whether the option means anything on a socket of this family and type.
  public func applies(family: SocketFamily, type: SocketType) -> Bool {
    if tcpOnly && (family == .unix || type != .stream) { return false }
    if ipv6Only && family != .ipv6 { return false }
    return true
  }

  /// Reads the option from the kernel.
  public func get(_ fd: Int32) -> SysResult<OptionValue> {
    switch kind {
    case .flag, .integer, .errno, .socketType:
      return Sys.getsockopt(fd, level: level, name: optname).map { .integer($0) }
    case .linger:
      return Sys.getsockopt(fd, level: level, name: optname, capacity: MemoryLayout<Glibc.linger>.size).map { bytes in
        var value = Glibc.linger()
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes) }
        return .linger(on: value.l_onoff != 0, seconds: value.l_linger)
      }
    case .timeval:
      return Sys.getsockopt(fd, level: level, name: optname, capacity: MemoryLayout<timeval>.size).map { bytes in
        var value = timeval()
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes) }
        return .milliseconds(Int(value.tv_sec) * 1000 + Int(value.tv_usec) / 1000)
      }
    }
  }

  /// Writes the option to the kernel.
  public func set(_ fd: Int32, _ value: OptionValue) -> SysResult<Void> {
    Sys.setsockopt(fd, level: level, name: optname, bytes: value.bytes)
  }
}

/// The value of a socket option.
public enum OptionValue: Sendable, Hashable {
  case integer(Int32)
  case linger(on: Bool, seconds: Int32)
  case milliseconds(Int)

  /// The bytes passed to setsockopt.
  public var bytes: [UInt8] {
    switch self {
    case .integer(let value):
      return withUnsafeBytes(of: value) { Array($0) }
    case .linger(let on, let seconds):
      let value = Glibc.linger(l_onoff: on ? 1 : 0, l_linger: seconds)
      return withUnsafeBytes(of: value) { Array($0) }
    case .milliseconds(let ms):
      let value = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
      return withUnsafeBytes(of: value) { Array($0) }
    }
  }

  /// The value as strace shows the argument: `[1]`, `{l_onoff=1, l_linger=0}`, `{tv_sec=0, tv_usec=500000}`.
  public var cDescription: String {
    switch self {
    case .integer(let value): "[\(value)]"
    case .linger(let on, let seconds): "{l_onoff=\(on ? 1 : 0), l_linger=\(seconds)}"
    case .milliseconds(let ms): "{tv_sec=\(ms / 1000), tv_usec=\((ms % 1000) * 1000)}"
    }
  }

  /// The value as the command language writes it: `1`, `on 5`, `off`, `500`.
  public var commandText: String {
    switch self {
    case .integer(let value): "\(value)"
    case .linger(let on, let seconds): on ? "on \(seconds)" : "off"
    case .milliseconds(let ms): "\(ms)"
    }
  }
}
