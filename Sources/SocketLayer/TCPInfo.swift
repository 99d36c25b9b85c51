#if canImport(Glibc)
  import Glibc
#endif

/// A TCP connection state, as the kernel numbers it (`tcpi_state`, `/proc/net/tcp` `st`).
public enum TCPState: UInt8, Sendable, CaseIterable, Codable {
  case established = 1, synSent, synReceived, finWait1, finWait2, timeWait, closed, closeWait, lastAck, listen,
    closing

  /// The name netstat prints (with CLOSED for the kernel's CLOSE, as RFC 793 names it).
  public var name: String {
    switch self {
    case .established: "ESTABLISHED"
    case .synSent: "SYN_SENT"
    case .synReceived: "SYN_RECV"
    case .finWait1: "FIN_WAIT1"
    case .finWait2: "FIN_WAIT2"
    case .timeWait: "TIME_WAIT"
    case .closed: "CLOSED"
    case .closeWait: "CLOSE_WAIT"
    case .lastAck: "LAST_ACK"
    case .listen: "LISTEN"
    case .closing: "CLOSING"
    }
  }

  /// Reads a state name in any common spelling: `ESTABLISHED`, `estab`, `close-wait`, `FIN_WAIT_1`.
  public init?(name: String) {
    let key = name.uppercased().replacing("-", with: "").replacing("_", with: "")
    switch key {
    case "ESTABLISHED", "ESTAB": self = .established
    case "SYNSENT": self = .synSent
    case "SYNRECV", "SYNRECEIVED": self = .synReceived
    case "FINWAIT1": self = .finWait1
    case "FINWAIT2": self = .finWait2
    case "TIMEWAIT": self = .timeWait
    case "CLOSED", "CLOSE": self = .closed
    case "CLOSEWAIT": self = .closeWait
    case "LASTACK": self = .lastAck
    case "LISTEN": self = .listen
    case "CLOSING": self = .closing
    default: return nil
    }
  }
}

/// The useful part of Linux's `struct tcp_info` (getsockopt TCP_INFO). Glibc's struct is 104
/// bytes; the kernel fills 280, so fields are read from a raw buffer at their kernel offsets.
public struct TCPInfo: Sendable, Hashable {
  public var state: TCPState?
  public var retransmits: UInt8 = 0
  public var rtoMicroseconds: UInt32 = 0
  public var sndMss: UInt32 = 0
  /// For a listener: connections waiting in the accept queue.
  public var unacked: UInt32 = 0
  /// For a listener: the backlog (min(backlog, somaxconn)).
  public var sacked: UInt32 = 0
  public var rttMicroseconds: UInt32 = 0
  public var rttVarMicroseconds: UInt32 = 0
  public var sndCwnd: UInt32 = 0
  public var totalRetrans: UInt32 = 0
  public var bytesAcked: UInt64 = 0
  public var bytesReceived: UInt64 = 0
  public var segsOut: UInt32 = 0
  public var segsIn: UInt32 = 0
  public var notsentBytes: UInt32 = 0
  public var minRttMicroseconds: UInt32 = 0
  public var bytesSent: UInt64 = 0
  public var sndWnd: UInt32 = 0

  static let kernelSize = 280

  public init(raw bytes: [UInt8]) {
    func u32(_ offset: Int) -> UInt32 {
      guard offset + 4 <= bytes.count else { return 0 }
      return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
        | UInt32(bytes[offset + 3]) << 24
    }
    func u64(_ offset: Int) -> UInt64 { UInt64(u32(offset)) | UInt64(u32(offset + 4)) << 32 }
    state = bytes.isEmpty ? nil : TCPState(rawValue: bytes[0])
    retransmits = bytes.count > 2 ? bytes[2] : 0
    rtoMicroseconds = u32(8)
    sndMss = u32(16)
    unacked = u32(24)
    sacked = u32(28)
    rttMicroseconds = u32(68)
    rttVarMicroseconds = u32(72)
    sndCwnd = u32(80)
    totalRetrans = u32(100)
    bytesAcked = u64(120)
    bytesReceived = u64(128)
    segsOut = u32(136)
    segsIn = u32(140)
    notsentBytes = u32(144)
    minRttMicroseconds = u32(148)
    bytesSent = u64(200)
    sndWnd = u32(228)
  }
}

extension Sys {
  /// `getsockopt(fd, IPPROTO_TCP, TCP_INFO, ...)` with the kernel's full 280-byte layout.
  public static func tcpInfo(_ fd: Int32) -> SysResult<TCPInfo> {
    getsockopt(fd, level: Int32(IPPROTO_TCP), name: TCP_INFO, capacity: TCPInfo.kernelSize).map(TCPInfo.init(raw:))
  }

  /// The family and type of an open socket (SO_DOMAIN, SO_TYPE).
  public static func socketKind(_ fd: Int32) -> SysResult<(SocketFamily, SocketType)> {
    getsockopt(fd, level: SOL_SOCKET, name: SO_DOMAIN).flatMap { domain in
      getsockopt(fd, level: SOL_SOCKET, name: SO_TYPE).flatMap { type in
        guard let family = SocketFamily(domain: domain), let socketType = SocketType(rawType: type) else {
          return .failure(Errno(EAFNOSUPPORT))
        }
        return .success((family, socketType))
      }
    }
  }
}
