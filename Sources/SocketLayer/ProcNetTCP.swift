import CSupport

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP connection as the kernel lists it in /proc/net/tcp and /proc/net/tcp6, whether or not a
/// descriptor still holds it (TIME_WAIT belongs to none).
public struct KernelConnection: Sendable, Equatable {
  public let local: SocketAddress
  public let remote: SocketAddress
  public let state: TCPState?
  public let sendQueue: Int
  public let receiveQueue: Int
  /// Timer kind: 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT (or orphan FIN_WAIT2), 4 zero-window probe.
  public let timer: Int
  /// Time left on the timer, in seconds.
  public let timerSeconds: Double
  public let inode: UInt64

  public var timerName: String { KernelConnection.timerName(timer) }

  /// The name of a kernel socket timer, as /proc/net/tcp and sock_diag number it.
  public static func timerName(_ timer: Int) -> String {
    switch timer {
    case 1: "retransmit"
    case 2: "keepalive"
    case 3: "timewait"
    case 4: "probe"
    default: "none"
    }
  }
}

/// Reads /proc/net/tcp and /proc/net/tcp6.
public enum ProcNetTCP {
  /// Every TCP connection of the machine's network namespace.
  public static func connections() -> [KernelConnection] {
    parse(readFile("/proc/net/tcp"), ipv6: false) + parse(readFile("/proc/net/tcp6"), ipv6: true)
  }

  /// Every UDP socket, from /proc/net/udp and /proc/net/udp6 (the same columns as for TCP).
  public static func udpSockets() -> [KernelConnection] {
    parse(readFile("/proc/net/udp"), ipv6: false) + parse(readFile("/proc/net/udp6"), ipv6: true)
  }

  static func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count <= 0 { break }
      bytes += chunk.prefix(count)
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Parses the table's text (one connection a line after the header).
  public static func parse(_ text: String, ipv6: Bool) -> [KernelConnection] {
    // USER_HZ: the unit of the tm->when column.
    let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
    var result: [KernelConnection] = []
    for line in text.split(separator: "\n").dropFirst() {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 10,
        let local = address(fields[1], ipv6: ipv6), let remote = address(fields[2], ipv6: ipv6),
        let stateNumber = UInt8(fields[3], radix: 16)
      else { continue }
      let queues = fields[4].split(separator: ":")
      let timers = fields[5].split(separator: ":")
      guard queues.count == 2, timers.count == 2 else { continue }
      result.append(
        KernelConnection(
          local: local, remote: remote, state: TCPState(rawValue: stateNumber),
          sendQueue: Int(queues[0], radix: 16) ?? 0, receiveQueue: Int(queues[1], radix: 16) ?? 0,
          timer: Int(timers[0], radix: 16) ?? 0,
          timerSeconds: Double(Int(timers[1], radix: 16) ?? 0) / ticksPerSecond,
          inode: UInt64(fields[9]) ?? 0))
    }
    return result
  }

  /// `0100007F:1F90` -> 127.0.0.1:8080. Each 4-byte word is printed from network order on a
  /// little-endian machine, so its bytes are reversed; the port is plain hex.
  static func address(_ field: Substring, ipv6: Bool) -> SocketAddress? {
    let parts = field.split(separator: ":")
    guard parts.count == 2, let port = UInt16(parts[1], radix: 16) else { return nil }
    let hex = Array(parts[0].utf8)
    guard hex.count == (ipv6 ? 32 : 8) else { return nil }
    var bytes: [UInt8] = []
    for word in stride(from: 0, to: hex.count, by: 8) {
      var wordBytes: [UInt8] = []
      for index in stride(from: word, to: word + 8, by: 2) {
        guard let byte = UInt8(String(decoding: hex[index..<index + 2], as: UTF8.self), radix: 16) else {
          return nil
        }
        wordBytes.append(byte)
      }
      bytes += isLittleEndian ? wordBytes.reversed() : wordBytes
    }
    return ipv6 ? .ipv6(bytes, port: port, scopeID: 0) : .ipv4(bytes, port: port)
  }

  static let isLittleEndian = 1.littleEndian == 1
}

/// sock_diag's exact lookup: the one TCP or UDP socket with an address pair, found by a hash
/// lookup in the kernel. Reading /proc/net/tcp walks every bucket of the connection table, which
/// takes milliseconds on a machine with much memory even when it holds a few sockets (13 ms a
/// read on a 24 GiB machine); a lookup takes microseconds.
public enum SockDiag {
  public enum Transport { case tcp, udp }

  /// The socket whose local address is `local` and whose peer is `remote` (nil: a listener or
  /// an unconnected UDP socket), a TIME_WAIT leftover included; nil when the kernel has none.
  public static func lookup(_ transport: Transport, local: SocketAddress, remote: SocketAddress?)
    -> KernelConnection?
  {
    guard local.family != .unix else { return nil }
    let far =
      remote
      ?? (local.family == .ipv4
        ? .ipv4([0, 0, 0, 0], port: 0) : .ipv6([UInt8](repeating: 0, count: 16), port: 0, scopeID: 0))
    guard far.family == local.family else { return nil }
    var row = csupport_inet_row()
    let found = local.withSockaddr { mine, _ in
      far.withSockaddr { theirs, _ in
        csupport_inet_lookup(transport == .tcp ? Int32(IPPROTO_TCP) : Int32(IPPROTO_UDP), mine, theirs, &row)
      }
    }
    guard found == 0 else { return nil }
    return KernelConnection(
      local: local, remote: far, state: TCPState(rawValue: row.state), sendQueue: Int(row.wqueue),
      receiveQueue: Int(row.rqueue), timer: Int(row.timer), timerSeconds: Double(row.expires_ms) / 1000,
      inode: UInt64(row.inode))
  }
}
