#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `ls PID`: another process's sockets, read without stopping or attaching to it: its
/// descriptors from /proc/PID/fd, each socket's state and queues from sock_diag (what ss reads).
enum ProcessList {
  /// One row per socket descriptor of `pid`, in the columns of `ls`; or why they cannot be read.
  static func rows(of pid: Int32) -> Result<[[String]], CommandRefusal> {
    let descriptors: [(fd: Int32, inode: UInt64)]
    switch ProcessSockets.descriptors(of: pid) {
    case .success(let found): descriptors = found
    case .failure(let errno) where errno.code == ENOENT:
      return .failure(CommandRefusal("no process \(pid) (ps lists the processes)"))
    case .failure(let errno) where errno.code == EACCES || errno.code == EPERM:
      return .failure(
        CommandRefusal(
          "process \(pid) is another user's: its descriptors (/proc/\(pid)/fd) are not yours to read (\(errno.name)); run sockshell as that user, or as root"
        ))
    case .failure(let errno):
      return .failure(CommandRefusal("cannot read /proc/\(pid)/fd: \(errno.name) (\(errno.message))"))
    }
    var inet: [UInt64: (DiagSocket, String)] = [:]
    for (transport, name) in [(SockDiag.Transport.tcp, "tcp"), (.udp, "udp")] {
      for family in [SocketFamily.ipv4, .ipv6] {
        for row in (try? SockDiag.dump(transport, family: family).get()) ?? [] where row.inode != 0 {
          inet[row.inode] = (row, name + (family == .ipv6 ? "6" : "4"))
        }
      }
    }
    var unix: [UInt64: DiagUnixSocket] = [:]
    for row in (try? SockDiag.dumpUnix().get()) ?? [] { unix[row.inode] = row }
    var rows = [["FD", "KIND", "STATE", "LOCAL", "PEER", "RECV-Q", "SEND-Q"]]
    for (fd, inode) in descriptors {
      if let (row, kind) = inet[inode] {
        let state = row.state?.name ?? (row.remote.port == 0 ? "UNCONN" : "CONNECTED")
        rows.append([
          "\(fd)", kind, state, "\(row.local)", row.remote.port == 0 ? "-" : "\(row.remote)", "\(row.receiveQueue)",
          "\(row.sendQueue)",
        ])
      } else if let row = unix[inode] {
        let kind =
          "unix-" + (row.type.map { $0 == .stream ? "stream" : $0 == .datagram ? "dgram" : "seqpacket" } ?? "?")
        let state = row.state == 10 ? "LISTEN" : row.state == 1 ? "CONNECTED" : "UNCONN"
        rows.append([
          "\(fd)", kind, state, row.path.isEmpty ? "-" : row.path, row.peer == 0 ? "-" : "inode \(row.peer)",
          "\(row.receiveQueue)", "\(row.sendQueue)",
        ])
      } else {
        // A socket sock_diag does not list here: another network namespace's, or a kind it
        // does not report (netlink, packet).
        rows.append(["\(fd)", "socket", "?", "-", "-", "-", "-"])
      }
    }
    return .success(rows)
  }
}
