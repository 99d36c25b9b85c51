#if canImport(Glibc)
  import Glibc
#endif
import CSupport

/// Every socket system call of the project, in one place. Each returns a typed result or the
/// errno it failed with, and none retries on EINTR: Ctrl-C comes back to the learner as
/// "interrupted". No other file calls the C socket functions.
public enum Sys {
  /// The corresponding C function is `socket`.
  public static func socket(_ family: SocketFamily, _ type: SocketType) -> SysResult<Int32> {
    valueOrErrno { Glibc.socket(family.rawDomain, type.rawType, type.protocolNumber(in: family)) }
  }

  /// The corresponding C function is `bind`.
  public static func bind(_ fd: Int32, _ address: SocketAddress) -> SysResult<Void> {
    address.withSockaddr { pointer, length in valueOrErrno { Glibc.bind(fd, pointer, length) } }.map { _ in () }
  }

  /// The corresponding C function is `listen`.
  public static func listen(_ fd: Int32, backlog: Int32) -> SysResult<Void> {
    valueOrErrno { Glibc.listen(fd, backlog) }.map { _ in () }
  }

  /// The corresponding C function is `accept`. Returns the new descriptor and the peer's address.
  public static func accept(_ fd: Int32) -> SysResult<(fd: Int32, peer: SocketAddress?)> {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let result = withUnsafeMutablePointer(to: &storage) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
        valueOrErrno { Glibc.accept(fd, address, &length) }
      }
    }
    return result.map { ($0, SocketAddress(storage: storage, length: length)) }
  }

  /// The corresponding C function is `connect`.
  public static func connect(_ fd: Int32, _ address: SocketAddress) -> SysResult<Void> {
    address.withSockaddr { pointer, length in valueOrErrno { Glibc.connect(fd, pointer, length) } }.map { _ in () }
  }

  /// The corresponding C function is `send`.
  public static func send(_ fd: Int32, _ bytes: [UInt8], flags: Int32) -> SysResult<Int> {
    bytes.withUnsafeBytes { raw in valueOrErrno { Glibc.send(fd, raw.baseAddress, raw.count, flags) } }
  }

  /// The corresponding C function is `sendto`.
  public static func sendto(_ fd: Int32, _ bytes: [UInt8], flags: Int32, to address: SocketAddress) -> SysResult<Int> {
    bytes.withUnsafeBytes { raw in
      address.withSockaddr { pointer, length in
        valueOrErrno { Glibc.sendto(fd, raw.baseAddress, raw.count, flags, pointer, length) }
      }
    }
  }

  /// The corresponding C function is `recv`. Returns the bytes received (empty at end of stream).
  /// With `MSG_TRUNC` on a datagram socket the returned count can exceed the bytes kept.
  public static func recv(_ fd: Int32, maxLength: Int, flags: Int32) -> SysResult<(bytes: [UInt8], count: Int)> {
    receive(maxLength: maxLength) { Glibc.recv(fd, $0, maxLength, flags) }
  }

  /// The corresponding C function is `recvfrom`. Returns the bytes and the sender's address.
  public static func recvfrom(_ fd: Int32, maxLength: Int, flags: Int32) -> SysResult<
    (bytes: [UInt8], count: Int, from: SocketAddress?)
  > {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let result = receive(maxLength: maxLength) { buffer in
      withUnsafeMutablePointer(to: &storage) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
          Glibc.recvfrom(fd, buffer, maxLength, flags, address, &length)
        }
      }
    }
    return result.map { ($0.bytes, $0.count, length > 0 ? SocketAddress(storage: storage, length: length) : nil) }
  }

  /// Reads into a new buffer of `maxLength` bytes with `call` (recv or recvfrom), keeping what
  /// fits and the count the kernel returned.
  /// The buffer is allocated with malloc, so that one the process cannot have (a 16 MiB recv
  /// under a memory limit) is ENOMEM before the call, never an abort; only what arrived is kept.
  static func receive(maxLength: Int, _ call: (UnsafeMutableRawPointer?) -> Int) -> SysResult<
    (bytes: [UInt8], count: Int)
  > {
    guard let buffer = malloc(max(maxLength, 1)) else { return .failure(Errno(ENOMEM)) }
    defer { free(buffer) }
    let result = call(buffer)
    if result < 0 { return .failure(.current) }
    let kept = min(result, maxLength)
    return .success((Array(UnsafeRawBufferPointer(start: buffer, count: kept)), result))
  }

  /// The corresponding C function is `close`.
  public static func close(_ fd: Int32) -> SysResult<Void> {
    valueOrErrno { Glibc.close(fd) }.map { _ in () }
  }

  /// The corresponding C function is `shutdown`.
  public static func shutdown(_ fd: Int32, _ how: ShutdownHow) -> SysResult<Void> {
    valueOrErrno { Glibc.shutdown(fd, how.cValue) }.map { _ in () }
  }

  /// The corresponding C function is `getsockname`.
  public static func getsockname(_ fd: Int32) -> SysResult<SocketAddress> {
    nameCall(fd) { Glibc.getsockname($0, $1, $2) }
  }

  /// The corresponding C function is `getpeername`.
  public static func getpeername(_ fd: Int32) -> SysResult<SocketAddress> {
    nameCall(fd) { Glibc.getpeername($0, $1, $2) }
  }

  private static func nameCall(
    _ fd: Int32, _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
  ) -> SysResult<SocketAddress> {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let result = withUnsafeMutablePointer(to: &storage) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
        valueOrErrno { call(fd, address, &length) }
      }
    }
    return result.flatMap { _ in
      guard let address = SocketAddress(storage: storage, length: length) else { return .failure(Errno(EAFNOSUPPORT)) }
      return .success(address)
    }
  }

  /// `getsockopt` into a raw buffer of `capacity` bytes; returns the bytes the kernel wrote.
  public static func getsockopt(_ fd: Int32, level: Int32, name: Int32, capacity: Int) -> SysResult<[UInt8]> {
    var length = socklen_t(capacity)
    var failure: Errno?
    let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
      buffer.initialize(repeating: 0)
      if Glibc.getsockopt(fd, level, name, buffer.baseAddress, &length) == -1 {
        failure = .current
      }
      initialized = failure == nil ? min(Int(length), capacity) : 0
    }
    if let failure { return .failure(failure) }
    return .success(bytes)
  }

  /// `getsockopt` of an `int` option.
  public static func getsockopt(_ fd: Int32, level: Int32, name: Int32) -> SysResult<Int32> {
    getsockopt(fd, level: level, name: name, capacity: 4).map { bytes in
      var value: Int32 = 0
      withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes.prefix(4)) }
      return value
    }
  }

  /// `setsockopt` with raw bytes (an `int`, a `struct linger`, a `struct timeval`).
  public static func setsockopt(_ fd: Int32, level: Int32, name: Int32, bytes: [UInt8]) -> SysResult<Void> {
    bytes.withUnsafeBytes { raw in
      valueOrErrno { Glibc.setsockopt(fd, level, name, raw.baseAddress, socklen_t(raw.count)) }
    }.map { _ in () }
  }

  /// Whether the socket is listening (`SO_ACCEPTCONN`); false when that cannot be read.
  public static func isListening(_ fd: Int32) -> Bool {
    (try? getsockopt(fd, level: SOL_SOCKET, name: SO_ACCEPTCONN).get()) == 1
  }

  /// Reads whether `O_NONBLOCK` is set (`fcntl(fd, F_GETFL)`).
  public static func isNonBlocking(_ fd: Int32) -> SysResult<Bool> {
    fileFlags(fd).map { $0 & O_NONBLOCK != 0 }
  }

  /// The file status flags, as `fcntl(fd, F_GETFL)` returns them (O_RDWR, O_NONBLOCK...).
  public static func fileFlags(_ fd: Int32) -> SysResult<Int32> {
    valueOrErrno { fcntl(fd, F_GETFL) }
  }

  /// Sets or clears `O_NONBLOCK` (`fcntl(fd, F_SETFL, flags | O_NONBLOCK)`); the flags written.
  @discardableResult
  public static func setNonBlocking(_ fd: Int32, _ on: Bool) -> SysResult<Int32> {
    fileFlags(fd).flatMap { flags in
      let updated = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
      return valueOrErrno { fcntl(fd, F_SETFL, updated) }.map { _ in updated }
    }
  }

  /// File status flags as strace names them: `O_RDWR|O_NONBLOCK`.
  public static func flagNames(_ flags: Int32) -> String {
    var names = [flags & O_ACCMODE == O_RDWR ? "O_RDWR" : flags & O_ACCMODE == O_WRONLY ? "O_WRONLY" : "O_RDONLY"]
    let known: [(Int32, String)] = [(O_APPEND, "O_APPEND"), (O_NONBLOCK, "O_NONBLOCK"), (O_ASYNC, "O_ASYNC")]
    for (bit, name) in known where flags & bit != 0 { names.append(name) }
    let rest = flags & ~(O_ACCMODE | O_APPEND | O_NONBLOCK | O_ASYNC)
    if rest != 0 { names.append("0x" + String(rest, radix: 16)) }
    return names.joined(separator: "|")
  }

  /// The corresponding C function is `poll`. Returns each descriptor's `revents`.
  public static func poll(_ fds: [Int32], events: Int16, timeoutMilliseconds: Int32) -> SysResult<[Int16]> {
    var entries = fds.map { pollfd(fd: $0, events: events, revents: 0) }
    let result = entries.withUnsafeMutableBufferPointer { buffer in
      valueOrErrno { Glibc.poll(buffer.baseAddress, nfds_t(buffer.count), timeoutMilliseconds) }
    }
    return result.map { _ in entries.map(\.revents) }
  }

  /// `ioctl(fd, request, &int)`: SIOCINQ (`FIONREAD`) and SIOCOUTQ (`TIOCOUTQ`) queue sizes.
  public static func queueSize(_ fd: Int32, outgoing: Bool) -> SysResult<Int32> {
    var value: Int32 = 0
    let request = outgoing ? UInt(TIOCOUTQ) : UInt(FIONREAD)
    return valueOrErrno { ioctl(fd, request, &value) }.map { _ in value }
  }

  /// The inode of a descriptor (`fstat`), which `/proc/net/tcp` and sock_diag name sockets by.
  public static func inode(_ fd: Int32) -> SysResult<UInt64> {
    var info = stat()
    return valueOrErrno { fstat(fd, &info) }.map { _ in UInt64(info.st_ino) }
  }

  /// The queues `ss` shows for a Unix socket (sock_diag UNIX_DIAG_RQLEN): for a listener the
  /// connections waiting and its backlog; otherwise unread bytes (stream) or the next datagram's
  /// size (datagram), and the send buffer's memory in use.
  public static func unixQueues(_ fd: Int32) -> SysResult<(receive: Int, send: Int)> {
    inode(fd).flatMap { inode in
      var receive: UInt32 = 0
      var send: UInt32 = 0
      return valueOrErrno { csupport_unix_queues(UInt32(truncatingIfNeeded: inode), &receive, &send) }.map { _ in
        (Int(receive), Int(send))
      }
    }
  }

  /// The inode of a connected Unix socket's peer (sock_diag UNIX_DIAG_PEER).
  public static func unixPeerInode(_ fd: Int32) -> SysResult<UInt64> {
    inode(fd).flatMap { inode in
      var peer: UInt32 = 0
      return valueOrErrno { csupport_unix_peer(UInt32(truncatingIfNeeded: inode), &peer) }.map { _ in UInt64(peer) }
    }
  }

  /// True when `fd` is an open descriptor of this process.
  public static func isOpen(_ fd: Int32) -> Bool {
    fcntl(fd, F_GETFD) != -1
  }
}

/// The `how` argument of shutdown(2).
public enum ShutdownHow: String, Sendable, CaseIterable {
  case read, write, both

  /// The C value: `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`.
  public var cValue: Int32 {
    switch self {
    case .read: Int32(SHUT_RD)
    case .write: Int32(SHUT_WR)
    case .both: Int32(SHUT_RDWR)
    }
  }

  public var cName: String {
    switch self {
    case .read: "SHUT_RD"
    case .write: "SHUT_WR"
    case .both: "SHUT_RDWR"
    }
  }
}
