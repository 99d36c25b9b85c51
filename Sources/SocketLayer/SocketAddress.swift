#if canImport(Glibc)
  import Glibc
#endif

/// The address families this shell speaks.
public enum SocketFamily: String, Sendable, CaseIterable, Codable {
  case ipv4, ipv6, unix

  /// The corresponding C constant: `AF_INET`, `AF_INET6`, `AF_UNIX`.
  public var cName: String {
    switch self {
    case .ipv4: "AF_INET"
    case .ipv6: "AF_INET6"
    case .unix: "AF_UNIX"
    }
  }

  public var rawDomain: Int32 {
    switch self {
    case .ipv4: AF_INET
    case .ipv6: AF_INET6
    case .unix: AF_UNIX
    }
  }

  public init?(domain: Int32) {
    switch domain {
    case AF_INET: self = .ipv4
    case AF_INET6: self = .ipv6
    case AF_UNIX: self = .unix
    default: return nil
    }
  }

  /// How a person calls it: "IPv4", "IPv6", "Unix domain".
  public var displayName: String {
    switch self {
    case .ipv4: "IPv4"
    case .ipv6: "IPv6"
    case .unix: "Unix domain"
    }
  }
}

/// Stream (TCP) or datagram (UDP) sockets.
public enum SocketType: String, Sendable, CaseIterable, Codable {
  case stream, datagram

  public var cName: String { self == .stream ? "SOCK_STREAM" : "SOCK_DGRAM" }

  public var rawType: Int32 {
    self == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
  }

  public init?(rawType: Int32) {
    switch rawType {
    case Int32(SOCK_STREAM.rawValue): self = .stream
    case Int32(SOCK_DGRAM.rawValue): self = .datagram
    default: return nil
    }
  }

  /// The protocol argument of socket(2) for this type in a family.
  public func protocolNumber(in family: SocketFamily) -> Int32 {
    if family == .unix { return 0 }
    return self == .stream ? Int32(IPPROTO_TCP) : Int32(IPPROTO_UDP)
  }

  public func protocolCName(in family: SocketFamily) -> String {
    if family == .unix { return "0" }
    return self == .stream ? "IPPROTO_TCP" : "IPPROTO_UDP"
  }

  /// "TCP", "UDP", or for Unix sockets "stream"/"datagram".
  public func displayName(in family: SocketFamily) -> String {
    if family == .unix { return self == .stream ? "stream" : "datagram" }
    return self == .stream ? "TCP" : "UDP"
  }
}

/// A socket address: what `struct sockaddr_in`, `sockaddr_in6` or `sockaddr_un` hold.
public enum SocketAddress: Hashable, Sendable, CustomStringConvertible {
  /// IPv4 address bytes in network order, and the port in host order.
  case ipv4([UInt8], port: UInt16)
  /// IPv6 address bytes in network order, the port in host order, and the scope (interface) id.
  case ipv6([UInt8], port: UInt16, scopeID: UInt32)
  /// A Unix domain socket bound to a path in the file system.
  case unix(path: [UInt8])
  /// A Linux abstract Unix socket name (no file; written `@name`).
  case abstract(name: [UInt8])
  /// A Unix socket with no name (autobound or never bound).
  case unnamed

  public var family: SocketFamily {
    switch self {
    case .ipv4: .ipv4
    case .ipv6: .ipv6
    case .unix, .abstract, .unnamed: .unix
    }
  }

  public var port: UInt16? {
    switch self {
    case .ipv4(_, let port), .ipv6(_, let port, _): port
    default: nil
    }
  }

  /// Parses a numeric IPv4 or IPv6 address (`inet_pton`).
  public static func numeric(_ host: String, port: UInt16) -> SocketAddress? {
    var v4 = in_addr()
    if inet_pton(AF_INET, host, &v4) == 1 {
      return .ipv4(withUnsafeBytes(of: &v4) { Array($0) }, port: port)
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, host, &v6) == 1 {
      return .ipv6(withUnsafeBytes(of: &v6) { Array($0) }, port: port, scopeID: 0)
    }
    return nil
  }

  /// The wildcard address of a family (`INADDR_ANY`, `in6addr_any`).
  public static func any(_ family: SocketFamily, port: UInt16) -> SocketAddress {
    family == .ipv6 ? .ipv6([UInt8](repeating: 0, count: 16), port: port, scopeID: 0) : .ipv4([0, 0, 0, 0], port: port)
  }

  /// The loopback address of a family.
  public static func loopback(_ family: SocketFamily, port: UInt16) -> SocketAddress {
    family == .ipv6
      ? .ipv6([UInt8](repeating: 0, count: 15) + [1], port: port, scopeID: 0)
      : .ipv4([127, 0, 0, 1], port: port)
  }

  /// 127.0.0.0/8, ::1, or an IPv4 loopback address written as IPv6 (::ffff:127.x.x.x).
  public var isLoopback: Bool {
    switch self {
    case .ipv4(let bytes, _): return bytes.first == 127
    case .ipv6(let bytes, _, _):
      if bytes.prefix(15).allSatisfy({ $0 == 0 }) && bytes.last == 1 { return true }
      return bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    default: return false
    }
  }

  /// A multicast group: 224.0.0.0/4, ff00::/8.
  public var isMulticast: Bool {
    switch self {
    case .ipv4(let bytes, _): return (224...239).contains(bytes.first ?? 0)
    case .ipv6(let bytes, _, _): return bytes.first == 0xFF
    default: return false
    }
  }

  /// True for 0.0.0.0 and ::.
  /// (And ::ffff:0.0.0.0, IPv4's every address written as IPv6, which binds it too.)
  public var isWildcard: Bool {
    switch self {
    case .ipv4(let bytes, _): bytes.allSatisfy { $0 == 0 }
    case .ipv6(let bytes, _, _):
      bytes.allSatisfy { $0 == 0 }
        || (bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
          && bytes.suffix(4).allSatisfy { $0 == 0 })
    default: false
    }
  }

  /// The host part as text: "127.0.0.1", "::1"; the path for Unix sockets.
  public var host: String {
    switch self {
    case .ipv4(let bytes, _): return SocketAddress.ntop(AF_INET, bytes)
    case .ipv6(let bytes, _, _): return SocketAddress.ntop(AF_INET6, bytes)
    case .unix(let path): return SocketAddress.shown(path)
    case .abstract(let name): return "@" + SocketAddress.shown(name)
    case .unnamed: return "(unnamed)"
    }
  }

  /// A path or name as it is when it is printable text, else quoted with the renderer's escapes
  /// (`"/tmp/\xff.sock"`): never a lossy decoding, and what is shown can be typed back.
  static func shown(_ bytes: [UInt8]) -> String {
    let plain = !bytes.isEmpty && !bytes.contains(0x20) && ByteText.showsAsItself(bytes)
    return plain ? String(decoding: bytes, as: UTF8.self) : ByteText.quoted(bytes)
  }

  /// "127.0.0.1:8080", "[::1]:8080", "/tmp/s.sock", "@name".
  public var description: String {
    switch self {
    case .ipv4(_, let port): "\(host):\(port)"
    case .ipv6(_, let port, _): "[\(host)]:\(port)"
    default: host
    }
  }

  private static func ntop(_ family: Int32, _ bytes: [UInt8]) -> String {
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
    let ok = bytes.withUnsafeBytes { raw in
      inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
    }
    guard ok else { return "?" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// `offsetof(struct sockaddr_un, sun_path)`.
  static let sunPathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
  /// The room in `sun_path`, including the terminating zero of a path.
  public static let sunPathCapacity = MemoryLayout<sockaddr_un>.size - sunPathOffset

  /// The length passed to bind/connect: 16 for IPv4, 28 for IPv6, for Unix the path's end.
  public var length: socklen_t {
    switch self {
    case .ipv4: socklen_t(MemoryLayout<sockaddr_in>.size)
    case .ipv6: socklen_t(MemoryLayout<sockaddr_in6>.size)
    case .unix(let path): socklen_t(SocketAddress.sunPathOffset + path.count + 1)
    case .abstract(let name): socklen_t(SocketAddress.sunPathOffset + 1 + name.count)
    case .unnamed: socklen_t(SocketAddress.sunPathOffset)
    }
  }

  /// Calls `body` with this address as a C `struct sockaddr *` and its length
  /// (the NIO way: one `sockaddr_storage`, rebound once, in one helper).
  public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var storage = sockaddr_storage()
    let length = self.length
    withUnsafeMutableBytes(of: &storage) { raw in
      switch self {
      case .ipv4(let bytes, let port):
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: bytes.prefix(4)) }
        withUnsafeBytes(of: sin) { raw.copyMemory(from: $0) }
      case .ipv6(let bytes, let port, let scope):
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        sin6.sin6_scope_id = scope
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: bytes.prefix(16)) }
        withUnsafeBytes(of: sin6) { raw.copyMemory(from: $0) }
      case .unix(let path):
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: path.prefix(SocketAddress.sunPathCapacity - 1)) }
        withUnsafeBytes(of: sun) { raw.copyMemory(from: $0) }
      case .abstract(let name):
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) {
          $0.copyBytes(from: ([0] + name).prefix(SocketAddress.sunPathCapacity))
        }
        withUnsafeBytes(of: sun) { raw.copyMemory(from: $0) }
      case .unnamed:
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeBytes(of: sun) { raw.copyMemory(from: $0) }
      }
    }
    return withUnsafePointer(to: &storage) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
    }
  }

  /// Reads an address the kernel filled in (accept, recvfrom, getsockname, getpeername).
  public init?(storage: sockaddr_storage, length: socklen_t) {
    var storage = storage
    let family = Int32(storage.ss_family)
    let result: SocketAddress? = withUnsafeBytes(of: &storage) { raw in
      switch family {
      case AF_INET:
        let sin = raw.load(as: sockaddr_in.self)
        let bytes = withUnsafeBytes(of: sin.sin_addr) { Array($0) }
        return .ipv4(bytes, port: UInt16(bigEndian: sin.sin_port))
      case AF_INET6:
        let sin6 = raw.load(as: sockaddr_in6.self)
        let bytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
        return .ipv6(bytes, port: UInt16(bigEndian: sin6.sin6_port), scopeID: sin6.sin6_scope_id)
      case AF_UNIX:
        let pathLength = Int(length) - SocketAddress.sunPathOffset
        if pathLength <= 0 { return .unnamed }
        let path = Array(
          raw[
            SocketAddress.sunPathOffset..<(SocketAddress.sunPathOffset + min(pathLength, SocketAddress.sunPathCapacity))
          ])
        if path.first == 0 { return .abstract(name: Array(path.dropFirst())) }
        return .unix(path: Array(path.prefix { $0 != 0 }))
      default:
        return nil
      }
    }
    guard let result else { return nil }
    self = result
  }
}

/// Host-name resolution (getaddrinfo) failed.
public struct ResolveError: Error, Sendable, CustomStringConvertible {
  public let host: String
  public let message: String
  public var description: String { "cannot resolve \(host): \(message)" }
}

extension SocketAddress {
  /// Resolves a host name with getaddrinfo to the addresses of one family (each once).
  public static func resolve(host: String, port: UInt16, family: SocketFamily) -> Result<[SocketAddress], ResolveError>
  {
    lookup(host: host, service: String(port), family: family, type: .stream).map { entries in
      var found: [SocketAddress] = []
      for entry in entries where !found.contains(entry.address) { found.append(entry.address) }
      return found
    }
  }
}

/// One entry of getaddrinfo's list, as a C program walks it.
public struct AddressInfo: Sendable {
  public let family: SocketFamily
  public let type: SocketType?
  /// ai_socktype and ai_protocol as the list gives them (SOCK_RAW is 3; 0 is "any").
  public let rawType: Int32
  public let protocolNumber: Int32
  public let address: SocketAddress

  /// ai_socktype as C names it.
  public var typeCName: String {
    switch rawType {
    case 1: "SOCK_STREAM"
    case 2: "SOCK_DGRAM"
    case 3: "SOCK_RAW"
    case 5: "SOCK_SEQPACKET"
    default: "\(rawType)"
    }
  }

  /// ai_protocol as C names it.
  public var protocolCName: String {
    switch protocolNumber {
    case 0: "0"
    case 6: "IPPROTO_TCP"
    case 17: "IPPROTO_UDP"
    case 132: "IPPROTO_SCTP"
    case 136: "IPPROTO_UDPLITE"
    default: "\(protocolNumber)"
    }
  }
}

extension SocketAddress {
  /// getaddrinfo(3) with the hints given (nil: AF_UNSPEC, any type): every entry of the list in
  /// its order, repeats kept; or the EAI error's name and message.
  public static func lookup(host: String, service: String?, family: SocketFamily?, type: SocketType?)
    -> Result<[AddressInfo], ResolveError>
  {
    var hints = addrinfo()
    hints.ai_family = family?.rawDomain ?? AF_UNSPEC
    hints.ai_socktype = type?.rawType ?? 0
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, service, &hints, &list)
    guard status == 0 else {
      return .failure(ResolveError(host: host, message: String(cString: gai_strerror(status))))
    }
    defer { freeaddrinfo(list) }
    var found: [AddressInfo] = []
    var entry = list
    while let info = entry {
      if let addr = info.pointee.ai_addr {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { raw in
          raw.copyMemory(from: UnsafeRawBufferPointer(start: addr, count: Int(info.pointee.ai_addrlen)))
        }
        if let address = SocketAddress(storage: storage, length: info.pointee.ai_addrlen) {
          found.append(
            AddressInfo(
              family: address.family, type: SocketType(rawType: info.pointee.ai_socktype),
              rawType: info.pointee.ai_socktype, protocolNumber: info.pointee.ai_protocol, address: address))
        }
      }
      entry = info.pointee.ai_next
    }
    return .success(found)
  }
}
