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
    /// The interface a socket's multicast datagrams leave by: for IPv4 a `struct in_addr` (an
    /// address of the interface; a `struct ip_mreqn` when named by index), for IPv6 an `int` index.
    case multicastInterface
    /// A group to join or leave on an interface: `struct ip_mreq` (or `ip_mreqn`), `struct ipv6_mreq`.
    /// Set only: the kernel does not say which groups a socket joined.
    case membership
  }

  public let name: String
  public let cName: String
  public let level: Int32
  public let levelName: String
  public let optname: Int32
  public let kind: Kind
  public let readOnly: Bool
  /// TCP-level options only apply to TCP sockets; v6only only to IPv6, IP_MULTICAST_* to IPv4.
  public let tcpOnly: Bool
  public let ipv6Only: Bool
  public let ipv4Only: Bool
  /// Whether Python's socket module names the constant (it lacks IP_MULTICAST_ALL).
  public let inPython: Bool
  public let summary: String

  /// Set only (IP_ADD_MEMBERSHIP): getsockopt refuses it.
  public var writeOnly: Bool { kind == .membership }

  init(
    _ name: String, _ cName: String, level: Int32, _ levelName: String, _ optname: Int32, _ kind: Kind,
    readOnly: Bool = false, tcpOnly: Bool = false, ipv6Only: Bool = false, ipv4Only: Bool = false,
    inPython: Bool = true, _ summary: String
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
    self.ipv4Only = ipv4Only
    self.inPython = inPython
    self.summary = summary
  }

  public static let all: [SocketOption] = [
    .init(
      "reuseaddr", "SO_REUSEADDR", level: SOL_SOCKET, "SOL_SOCKET", SO_REUSEADDR, .flag,
      "bind may reuse a port: TCP's past old connections in TIME_WAIT; UDP's, shared with every socket that set it too"),
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
    // Multicast: an IPv4 and an IPv6 option under one short name, picked by the socket's family.
    .init(
      "multicast_if", "IP_MULTICAST_IF", level: Int32(IPPROTO_IP), "IPPROTO_IP", IP_MULTICAST_IF,
      .multicastInterface, ipv4Only: true,
      "the interface this socket's multicast datagrams leave by, named by one of its addresses (0.0.0.0: the route decides)"
    ),
    .init(
      "multicast_if", "IPV6_MULTICAST_IF", level: Int32(IPPROTO_IPV6), "IPPROTO_IPV6", IPV6_MULTICAST_IF,
      .multicastInterface, ipv6Only: true,
      "the interface this socket's multicast datagrams leave by, by index (0: the route decides)"),
    .init(
      "multicast_ttl", "IP_MULTICAST_TTL", level: Int32(IPPROTO_IP), "IPPROTO_IP", IP_MULTICAST_TTL, .integer,
      ipv4Only: true,
      "how many routers this socket's multicast datagrams may cross (1: this network only; 0: this host)"),
    .init(
      "multicast_ttl", "IPV6_MULTICAST_HOPS", level: Int32(IPPROTO_IPV6), "IPPROTO_IPV6", IPV6_MULTICAST_HOPS,
      .integer, ipv6Only: true,
      "the hop limit of this socket's multicast datagrams (1: this link only; 0: this host)"),
    .init(
      "multicast_loop", "IP_MULTICAST_LOOP", level: Int32(IPPROTO_IP), "IPPROTO_IP", IP_MULTICAST_LOOP, .flag,
      ipv4Only: true, "a copy of each multicast datagram sent is delivered to this host's members too"),
    .init(
      "multicast_loop", "IPV6_MULTICAST_LOOP", level: Int32(IPPROTO_IPV6), "IPPROTO_IPV6", IPV6_MULTICAST_LOOP,
      .flag, ipv6Only: true, "a copy of each multicast datagram sent is delivered to this host's members too"),
    .init(
      "multicast_all", "IP_MULTICAST_ALL", level: Int32(IPPROTO_IP), "IPPROTO_IP", 49, .flag, ipv4Only: true,
      inPython: false,
      "a socket bound to every address receives the datagrams of every group joined on this host, not only its own (Linux)"
    ),
    .init(
      "multicast_all", "IPV6_MULTICAST_ALL", level: Int32(IPPROTO_IPV6), "IPPROTO_IPV6", 29, .flag,
      ipv6Only: true, inPython: false,
      "a socket bound to every address receives the datagrams of every group joined on this host, not only its own (Linux)"
    ),
    .init(
      "add_membership", "IP_ADD_MEMBERSHIP", level: Int32(IPPROTO_IP), "IPPROTO_IP", IP_ADD_MEMBERSHIP,
      .membership, ipv4Only: true, "join a multicast group on an interface: its datagrams are delivered here"),
    .init(
      "add_membership", "IPV6_JOIN_GROUP", level: Int32(IPPROTO_IPV6), "IPPROTO_IPV6", IPV6_JOIN_GROUP,
      .membership, ipv6Only: true, "join a multicast group on an interface: its datagrams are delivered here"),
    .init(
      "drop_membership", "IP_DROP_MEMBERSHIP", level: Int32(IPPROTO_IP), "IPPROTO_IP", IP_DROP_MEMBERSHIP,
      .membership, ipv4Only: true, "leave a multicast group joined on an interface"),
    .init(
      "drop_membership", "IPV6_LEAVE_GROUP", level: Int32(IPPROTO_IPV6), "IPPROTO_IPV6", IPV6_LEAVE_GROUP,
      .membership, ipv6Only: true, "leave a multicast group joined on an interface"),
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

  /// Finds an option by short name (`reuseaddr`) or C name (`SO_REUSEADDR`), any case. A short
  /// name with an IPv4 and an IPv6 option gives the IPv4 one: `matching(family)` picks.
  public static func named(_ text: String) -> SocketOption? {
    let lower = text.lowercased()
    return all.first { $0.name == lower || $0.cName.lowercased() == lower }
  }

  /// The short names, each once.
  public static let names: [String] = all.reduce(into: []) { names, option in
    if !names.contains(option.name) { names.append(option.name) }
  }

  /// This option's twin for a socket of `family` (IPV6_MULTICAST_LOOP for `multicast_loop` on an
  /// IPv6 socket), or itself. A C name asked for by name stays what it is.
  public func matching(_ family: SocketFamily) -> SocketOption {
    guard ipv4Only || ipv6Only else { return self }
    return SocketOption.all.first { $0.name == name && $0.applies(family: family, type: .datagram) } ?? self
  }

  /// Whether the option means anything on a socket of this family and type.
  public func applies(family: SocketFamily, type: SocketType) -> Bool {
    if tcpOnly && (family == .unix || type != .stream) { return false }
    if ipv6Only && family != .ipv6 { return false }
    if ipv4Only && family != .ipv4 { return false }
    return true
  }

  /// Reads the option from the kernel.
  public func get(_ fd: Int32) -> SysResult<OptionValue> {
    switch kind {
    case .membership:
      return .failure(Errno(ENOPROTOOPT))
    case .multicastInterface where level == Int32(IPPROTO_IP):
      return Sys.getsockopt(fd, level: level, name: optname, capacity: 4).map {
        .interface(.address(Array($0.prefix(4)) + [UInt8](repeating: 0, count: max(0, 4 - $0.count))))
      }
    case .multicastInterface:
      return Sys.getsockopt(fd, level: level, name: optname).map {
        .interface(.index(UInt32(bitPattern: $0), name: Interfaces.name(of: UInt32(bitPattern: $0))))
      }
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
  /// A multicast interface (IP_MULTICAST_IF, IPV6_MULTICAST_IF).
  case interface(Interface)
  /// A group and the interface to join it on: 4 (IPv4) or 16 (IPv6) bytes of the group.
  case membership(group: [UInt8], interface: Interface)

  /// An interface as an option names it: by one of its IPv4 addresses, or by index (and the name
  /// it was typed as, or that the index has).
  public enum Interface: Sendable, Hashable {
    case address([UInt8])
    case index(UInt32, name: String?)

    /// As the command language writes it: `127.0.0.1`, `lo`, `2`.
    public var text: String {
      switch self {
      case .address(let bytes): SocketAddress.ipv4(bytes, port: 0).host
      case .index(let index, let name): name ?? "\(index)"
      }
    }

    /// As strace shows it: `inet_addr("127.0.0.1")`, `if_nametoindex("lo")`.
    public var cText: String {
      switch self {
      case .address(let bytes): "inet_addr(\"\(SocketAddress.ipv4(bytes, port: 0).host)\")"
      case .index(let index, let name): name.map { "if_nametoindex(\"\($0)\")" } ?? "\(index)"
      }
    }

    /// Whether it is this host's loopback (127.0.0.0/8, or the interface `lo`).
    public var isLoopback: Bool {
      switch self {
      case .address(let bytes): bytes.first == 127
      case .index(let index, _): index != 0 && index == Interfaces.index(of: "lo")
      }
    }
  }

  /// The bytes passed to setsockopt.
  public var bytes: [UInt8] {
    switch self {
    case .interface(.address(let bytes)):
      return bytes
    case .interface(.index(let index, _)):
      return withUnsafeBytes(of: Int32(bitPattern: index)) { Array($0) }
    case .membership(let group, .address(let interface)):
      return group + interface  // struct ip_mreq
    case .membership(let group, .index(let index, _)):
      // struct ipv6_mreq { in6_addr; unsigned int }, or struct ip_mreqn { in_addr; in_addr; int }.
      return group + (group.count == 4 ? [0, 0, 0, 0] : []) + withUnsafeBytes(of: index) { Array($0) }
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
    case .interface(.address(let bytes)): "[inet_addr(\"\(SocketAddress.ipv4(bytes, port: 0).host)\")]"
    case .interface(let interface): "[\(interface.cText)]"
    case .membership(let group, let interface):
      if group.count == 16 {
        "{inet_pton(AF_INET6, \"\(SocketAddress.ipv6(group, port: 0, scopeID: 0).host)\", &ipv6mr_multiaddr), ipv6mr_interface=\(interface.cText)}"
      } else if case .address = interface {
        "{imr_multiaddr=inet_addr(\"\(SocketAddress.ipv4(group, port: 0).host)\"), imr_interface=\(interface.cText)}"
      } else {
        "{imr_multiaddr=inet_addr(\"\(SocketAddress.ipv4(group, port: 0).host)\"), imr_address=inet_addr(\"0.0.0.0\"), imr_ifindex=\(interface.cText)}"
      }
    case .integer(let value): "[\(value)]"
    case .linger(let on, let seconds): "{l_onoff=\(on ? 1 : 0), l_linger=\(seconds)}"
    case .milliseconds(let ms): "{tv_sec=\(ms / 1000), tv_usec=\((ms % 1000) * 1000)}"
    }
  }

  /// The value as the command language writes it: `1`, `on 5`, `off`, `500`.
  public var commandText: String {
    switch self {
    case .interface(let interface): interface.text
    case .membership(let group, let interface):
      (group.count == 16
        ? SocketAddress.ipv6(group, port: 0, scopeID: 0).host : SocketAddress.ipv4(group, port: 0).host)
        + " " + interface.text
    case .integer(let value): "\(value)"
    case .linger(let on, let seconds): on ? "on \(seconds)" : "off"
    case .milliseconds(let ms): "\(ms)"
    }
  }
}

/// Network interfaces by name and index (if_nametoindex(3), if_indextoname(3)).
public enum Interfaces {
  public static func index(of name: String) -> UInt32? {
    let index = if_nametoindex(name)
    return index == 0 ? nil : index
  }

  public static func name(of index: UInt32) -> String? {
    guard index != 0 else { return nil }
    var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
    guard if_indextoname(index, &buffer) != nil else { return nil }
    return String(cString: buffer)
  }
}

extension Sys {
  /// The address a datagram to `group` from `fd` would leave with, as the kernel's route decides
  /// (with `fd`'s multicast interface, when it has one; `interfaceOf: nil`: the route alone). An
  /// address not on loopback means the datagram leaves by that network. nil: no route (ENETUNREACH).
  public static func multicastSource(to group: SocketAddress, interfaceOf fd: Int32?) -> SocketAddress? {
    guard case .success(let probe) = socket(group.family, .datagram) else { return nil }
    defer { _ = close(probe) }
    if let fd, let option = SocketOption.named("multicast_if")?.matching(group.family),
      case .success(let value) = option.get(fd)
    {
      _ = option.set(probe, value)
    }
    guard case .success = connect(probe, group) else { return nil }
    return try? getsockname(probe).get()
  }
}
