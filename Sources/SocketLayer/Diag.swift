#if canImport(Glibc)
  import Glibc
#endif
import CSupport

/// One TCP or UDP socket of the namespace as sock_diag's dump gives it (what `ss` shows): any
/// process's, read without touching the process.
public struct DiagSocket: Sendable {
  public let inode: UInt64
  public let family: SocketFamily
  public let state: TCPState?
  public let local: SocketAddress
  public let remote: SocketAddress
  /// For a listener: connections waiting in the accept queue, and the backlog; otherwise the
  /// bytes ss shows as Recv-Q and Send-Q.
  public let receiveQueue: Int
  public let sendQueue: Int
  public let uid: UInt32
  /// The kernel's timer (1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero window probe) and when
  /// it fires.
  public let timer: Int
  public let timerSeconds: Double
  /// shutdown: this side will receive no more (bit 0), send no more (bit 1).
  public let shutdown: UInt8
  /// TCP_INFO, for TCP sockets the kernel gives it for.
  public let tcpInfo: TCPInfo?
}

/// One Unix socket of the namespace (unix_diag).
public struct DiagUnixSocket: Sendable {
  public let inode: UInt64
  public let type: SocketType?
  /// TCP_LISTEN (10) for a listener, TCP_ESTABLISHED (1) when connected, TCP_CLOSE (7) otherwise.
  public let state: UInt8
  public let peer: UInt64
  /// For a listener: connections waiting, and the backlog; otherwise unread bytes (a stream)
  /// and send buffer memory in use.
  public let receiveQueue: Int
  public let sendQueue: Int
  /// The path; "@name" for an abstract name; "" when unnamed.
  public let path: String
}

extension SockDiag {
  /// Every TCP or UDP socket of `family` (`.ipv4`, `.ipv6`) in this network namespace.
  /// `info`: with TCP_INFO for each TCP socket (the kernel's work for every socket: left out when
  /// only states and queues are wanted).
  public static func dump(_ transport: Transport, family: SocketFamily, info: Bool = true) -> SysResult<[DiagSocket]> {
    let domain = family == .ipv6 ? AF_INET6 : AF_INET
    let protocolNumber = transport == .tcp ? Int32(IPPROTO_TCP) : Int32(IPPROTO_UDP)
    return rows(csupport_inet_socket()) { csupport_inet_dump(domain, protocolNumber, info ? 1 : 0, $0, $1) }
      .map { $0.map { DiagSocket($0, transport: transport) } }
  }

  /// Every Unix socket of this network namespace.
  public static func dumpUnix() -> SysResult<[DiagUnixSocket]> {
    rows(csupport_unix_socket()) { csupport_unix_dump($0, $1) }.map { $0.map(DiagUnixSocket.init) }
  }

  /// A dump's rows: with room for 256 first, and again with room for them all when there were
  /// more (or more came meanwhile).
  static func rows<Row>(_ empty: Row, _ fill: (UnsafeMutablePointer<Row>?, Int32) -> Int32) -> SysResult<[Row]> {
    var capacity = 256
    while true {
      var rows = [Row](repeating: empty, count: capacity)
      let count = rows.withUnsafeMutableBufferPointer { fill($0.baseAddress, Int32($0.count)) }
      if count < 0 { return .failure(Errno(errno)) }
      if Int(count) <= capacity { return .success(Array(rows.prefix(Int(count)))) }
      capacity = Int(count) + 64
    }
  }
}

extension DiagSocket {
  init(_ row: csupport_inet_socket, transport: SockDiag.Transport) {
    inode = UInt64(row.inode)
    family = row.family == UInt8(AF_INET6) ? .ipv6 : .ipv4
    state = transport == .tcp ? TCPState(rawValue: row.state) : nil
    let v6 = row.family == UInt8(AF_INET6)
    func address(_ all: [UInt8], port: UInt16) -> SocketAddress {
      v6 ? .ipv6(all, port: port, scopeID: 0) : .ipv4(Array(all.prefix(4)), port: port)
    }
    local = address(withUnsafeBytes(of: row.local) { Array($0) }, port: row.local_port)
    remote = address(withUnsafeBytes(of: row.remote) { Array($0) }, port: row.remote_port)
    receiveQueue = Int(row.rqueue)
    sendQueue = Int(row.wqueue)
    uid = row.uid
    timer = Int(row.timer)
    timerSeconds = Double(row.expires_ms) / 1000
    shutdown = row.shutdown
    tcpInfo =
      row.has_info != 0
      ? withUnsafeBytes(of: row.info) { TCPInfo(raw: Array($0.prefix(Int(row.info_length)))) } : nil
  }
}

extension DiagUnixSocket {
  init(_ row: csupport_unix_socket) {
    inode = UInt64(row.inode)
    type = SocketType(rawType: Int32(row.type))
    state = row.state
    peer = UInt64(row.peer)
    receiveQueue = Int(row.rqueue)
    sendQueue = Int(row.wqueue)
    let bytes = withUnsafeBytes(of: row.name) { Array($0.prefix(Int(row.name_length))) }
    if bytes.first == 0 {
      path = "@" + String(decoding: bytes.dropFirst(), as: UTF8.self)
    } else {
      path = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
  }
}

/// The sockets a process holds: its descriptors that are sockets, read from /proc/PID/fd
/// without stopping or attaching to it. Another user's process: EACCES (its descriptors are not
/// ours to list), said by the caller.
public enum ProcessSockets {
  public static func descriptors(of pid: Int32) -> SysResult<[(fd: Int32, inode: UInt64)]> {
    let folder = "/proc/\(pid)/fd"
    guard let handle = opendir(folder) else { return .failure(Errno(errno)) }
    defer { closedir(handle) }
    var found: [(fd: Int32, inode: UInt64)] = []
    var target = [CChar](repeating: 0, count: 64)
    while let entry = readdir(handle) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard let fd = Int32(name) else { continue }
      // Relative to the open folder: no path walked again for each of thousands of descriptors.
      let length = readlinkat(dirfd(handle), name, &target, target.count - 1)
      // Listing the folder may be allowed where reading its links is not (the same user, in
      // another group): that is not "no socket".
      if length < 0 && (errno == EACCES || errno == EPERM) { return .failure(Errno(errno)) }
      guard length > 0 else { continue }
      // "socket:[12345]"
      let text = String(decoding: target.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      guard text.hasPrefix("socket:["), text.hasSuffix("]"), let inode = UInt64(text.dropFirst(8).dropLast()) else {
        continue
      }
      found.append((fd, inode))
    }
    return .success(found.sorted { $0.fd < $1.fd })
  }

  /// Every process with its parent and process group, from /proc/PID/stat.
  public static func processes() -> [(pid: Int32, parent: Int32, group: Int32)] {
    guard let handle = opendir("/proc") else { return [] }
    defer { closedir(handle) }
    var found: [(pid: Int32, parent: Int32, group: Int32)] = []
    while let entry = readdir(handle) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard let pid = Int32(name), let fields = statFields(of: pid), fields.count > 2,
        let parent = Int32(fields[1]), let group = Int32(fields[2])
      else { continue }
      found.append((pid, parent, group))
    }
    return found
  }

  /// The fields of /proc/PID/stat after the command name ("PID (name) STATE PPID PGRP ..."): the
  /// state first. The name may hold spaces and parentheses, so the fields start after the last ')'.
  static func statFields(of pid: Int32) -> [Substring]? {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 512)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].split(separator: " ")
  }

  /// A process's environment (NUL-separated, as /proc/PID/environ has it); nil when it is not
  /// ours to read.
  public static func environment(of pid: Int32) -> [UInt8]? {
    let fd = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 8192)
    while bytes.count < 1 << 20 {
      let count = read(fd, &buffer, buffer.count)
      guard count > 0 else { break }
      bytes += buffer.prefix(count)
    }
    return bytes
  }

  /// A process's command name (/proc/PID/comm).
  public static func command(of pid: Int32) -> String? {
    guard let file = fopen("/proc/\(pid)/comm", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 64)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
    let text = String(decoding: buffer.prefix { $0 != 0 && $0 != 0x0A }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return ByteText.sanitized(text)
  }

  /// Whether process `pid` exists (its /proc folder is there).
  /// A zombie (ended, not yet waited for) does not count: it has no descriptors left.
  public static func exists(_ pid: Int32) -> Bool {
    guard let state = statFields(of: pid)?.first else { return false }
    return state != "Z" && state != "X"
  }

  /// Descriptor `fd` of process `pid`, copied into this process (pidfd_getfd): the same socket,
  /// for getsockopt. The caller closes it at once: while the copy is open, the process's own
  /// close would not end the connection. EPERM for a process this user may not ptrace.
  public static func borrow(_ fd: Int32, of pid: Int32) -> SysResult<Int32> {
    let copy = csupport_pidfd_getfd(pid, fd)
    return copy < 0 ? .failure(Errno(errno)) : .success(copy)
  }
}
