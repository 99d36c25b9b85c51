#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// One socket of another process, as `ls PID`, `watch PID` and a lesson's program checks see
/// it: read from /proc/PID/fd and sock_diag (what ss reads), without stopping the process.
struct ProcessSocket: Equatable {
  /// The process that holds it (for a program's family: it, or one of its children).
  var pid: Int32 = 0
  let fd: Int32
  let inode: UInt64
  /// tcp4, udp6, unix-stream, unix-dgram; "socket" for one sock_diag does not list.
  let kind: String
  /// LISTEN, ESTABLISHED...; UNCONN or CONNECTED for UDP and Unix; "?" when unknown.
  let state: String
  let local: String
  let peer: String
  /// For a listener: connections waiting for accept, and the backlog.
  let recvQ: Int?
  let sendQ: Int?
  let inet: DiagSocket?
  let unix: DiagUnixSocket?

  var listening: Bool { state == "LISTEN" }
  /// States after the peer's FIN: sock_diag's RECV-Q counts it as 1 until recv returns 0.
  static let finCounted: Set<String> = ["CLOSE_WAIT", "LAST_ACK", "CLOSING"]
  var isTCP: Bool { kind.hasPrefix("tcp") }
  /// A TCP connection (not a listener): one the program accepted or made.
  var isConnection: Bool { isTCP && !listening && state != "CLOSED" && state != "SYN_SENT" }

  static func == (left: ProcessSocket, right: ProcessSocket) -> Bool {
    left.row == right.row && left.inode == right.inode
  }

  /// The row in `ls PID`'s columns.
  var row: [String] {
    ["\(fd)", kind, state, local, peer, recvQ.map(String.init) ?? "-", sendQ.map(String.init) ?? "-"]
  }

  static let header = ["FD", "KIND", "STATE", "LOCAL", "PEER", "RECV-Q", "SEND-Q"]
}

/// Another process's sockets at one moment, with the connections the kernel keeps for it with no
/// descriptor (TIME_WAIT and the like).
struct ProcessView {
  let pid: Int32
  let sockets: [ProcessSocket]
  /// TCP sockets with no descriptor (inode 0) on this process's ports: its TIME_WAIT leftovers.
  /// The kernel does not record whose they were: these share a local address with one of its
  /// sockets (a listener's port), or an address pair seen earlier among its connections.
  let leftovers: [DiagSocket]

  /// `pid`'s sockets now; `pairs`: address pairs ("local>peer") seen among its connections
  /// before, whose leftovers are its too.
  /// `info`: TCP_INFO for each TCP socket too (inspect's view where the descriptor cannot be copied).
  /// `alsoOf`: other processes whose sockets count as its own (a program's children), read with
  /// the same dumps; a socket several of them share is listed once.
  static func read(_ pid: Int32, pairs: Set<String> = [], info: Bool = false, alsoOf others: [Int32] = [])
    -> Result<ProcessView, CommandRefusal>
  {
    var descriptors: [(pid: Int32, fd: Int32, inode: UInt64)]
    switch ProcessSockets.descriptors(of: pid) {
    case .success(let found): descriptors = found.map { (pid, $0.fd, $0.inode) }
    case .failure(let errno) where errno.code == ENOENT:
      return .failure(CommandRefusal("no process \(pid) (ps lists the processes)"))
    case .failure(let errno) where errno.code == EACCES || errno.code == EPERM:
      return .failure(CommandRefusal(ProcessView.whyNotReadable(pid, errno)))
    case .failure(let errno):
      return .failure(CommandRefusal("cannot read /proc/\(pid)/fd: \(errno.name) (\(errno.message))"))
    }
    var held = Set(descriptors.map(\.inode))
    for other in others where other != pid {
      for found in (try? ProcessSockets.descriptors(of: other).get()) ?? [] where held.insert(found.inode).inserted {
        descriptors.append((other, found.fd, found.inode))
      }
    }
    var inet: [UInt64: (DiagSocket, String)] = [:]
    var orphans: [DiagSocket] = []
    // No socket, nothing to look up; UDP only for sockets TCP's dump did not have.
    for (transport, name) in descriptors.isEmpty ? [] : [(SockDiag.Transport.tcp, "tcp"), (.udp, "udp")] {
      if transport == .udp && !descriptors.contains(where: { inet[$0.inode] == nil }) { continue }
      for family in [SocketFamily.ipv4, .ipv6] {
        for row in (try? SockDiag.dump(transport, family: family, info: info).get()) ?? [] {
          if row.inode != 0 {
            inet[row.inode] = (row, name + (family == .ipv6 ? "6" : "4"))
          } else if transport == .tcp {
            orphans.append(row)
          }
        }
      }
    }
    var unix: [UInt64: DiagUnixSocket] = [:]
    if descriptors.contains(where: { inet[$0.inode] == nil }) {
      for row in (try? SockDiag.dumpUnix().get()) ?? [] { unix[row.inode] = row }
    }
    let fdOfInode = Dictionary(descriptors.map { ($0.inode, $0.fd) }, uniquingKeysWith: { first, _ in first })
    var sockets: [ProcessSocket] = []
    for (owner, fd, inode) in descriptors {
      let before = sockets.count
      defer { if sockets.count > before { sockets[sockets.count - 1].pid = owner } }
      if let (row, kind) = inet[inode] {
        let state = row.state?.name ?? (row.remote.port == 0 ? "UNCONN" : "CONNECTED")
        sockets.append(
          ProcessSocket(
            fd: fd, inode: inode, kind: kind, state: state, local: "\(row.local)",
            peer: row.remote.port == 0 ? "-" : "\(row.remote)", recvQ: row.receiveQueue, sendQ: row.sendQueue,
            inet: row, unix: nil))
      } else if let row = unix[inode] {
        let kind =
          "unix-" + (row.type.map { $0 == .stream ? "stream" : $0 == .datagram ? "dgram" : "seqpacket" } ?? "?")
        let state = row.state == 10 ? "LISTEN" : row.state == 1 ? "CONNECTED" : "UNCONN"
        let peer = row.peer == 0 ? "-" : fdOfInode[row.peer].map { "its fd \($0)" } ?? "inode \(row.peer)"
        sockets.append(
          ProcessSocket(
            fd: fd, inode: inode, kind: kind, state: state, local: row.path.isEmpty ? "-" : row.path, peer: peer,
            recvQ: row.receiveQueue, sendQ: row.sendQueue, inet: nil, unix: row))
      } else {
        // A socket sock_diag does not list here: another network namespace's, or a kind it
        // does not report (netlink, packet).
        sockets.append(
          ProcessSocket(
            fd: fd, inode: inode, kind: "socket", state: "?", local: "-", peer: "-", recvQ: nil, sendQ: nil, inet: nil,
            unix: nil))
      }
    }
    // Leftovers: on a local address of one of its TCP sockets (a listener's port, also when the
    // listener is bound to every address), or a pair it was seen holding.
    let mine = sockets.compactMap { $0.isTCP ? $0.inet : nil }
    // A connection with no descriptor in the accept queue (ESTABLISHED, SYN_RECV, or CLOSE_WAIT
    // when its client left) is not a leftover: accept will still return it.
    let kept: Set<TCPState> = [.timeWait, .finWait1, .finWait2, .lastAck, .closing]
    let leftovers = orphans.filter { orphan in
      guard let state = orphan.state, kept.contains(state) else { return false }
      return pairs.contains("\(orphan.local)>\(orphan.remote)")
        || mine.contains { socket in
          // A listener's port: a client's ephemeral port is soon another program's.
          socket.state == .listen && socket.local.port == orphan.local.port
            && (socket.local == orphan.local || socket.local.isWildcard)
        }
    }
    return .success(ProcessView(pid: pid, sockets: sockets, leftovers: leftovers))
  }

  /// Why another process's descriptors cannot be read, in words.
  static func whyNotReadable(_ pid: Int32, _ errno: Errno) -> String {
    var info = stat()
    let owner =
      stat("/proc/\(pid)", &info) == 0
      ? " (it runs as uid \(info.st_uid), gid \(info.st_gid); you are uid \(geteuid()), gid \(getegid()))" : ""
    let what = "process \(pid)'s descriptors (/proc/\(pid)/fd) cannot be read (\(errno.name))" + owner
    if getuid() == 0 {
      return what
        + ": the kernel refuses even root here (the process is not dumpable, or belongs to another user namespace)"
    }
    return what
      + ": Linux lets only a process with the same user and group IDs as its own, or root, read them; run sockshell as its user and group, or as root"
  }

  /// The address pairs of its connections now, to find their leftovers later.
  var pairs: Set<String> {
    Set(sockets.compactMap { socket in socket.isConnection ? socket.inet.map { "\($0.local)>\($0.remote)" } : nil })
  }

  /// `ls PID`: the table, the leftovers under it, and what the columns mean.
  func show(_ session: any CommandSession, wide: Bool) {
    if sockets.isEmpty {
      session.note("Process \(pid) has no socket open.")
    } else {
      session.out.table([ProcessSocket.header] + sockets.map(\.row), fit: wide ? .whole : .stack(3...4))
      if sockets.contains(where: \.listening) {
        session.note(
          "For a listener, RECV-Q counts connections waiting for accept and SEND-Q is its backlog (Linux lets one more wait)."
        )
      }
      if sockets.contains(where: { ProcessSocket.finCounted.contains($0.state) && ($0.recvQ ?? 0) > 0 }) {
        session.note(
          "After the peer's FIN (CLOSE_WAIT, LAST_ACK, CLOSING), RECV-Q counts 1 for the FIN until the program's recv returns 0, as ss shows it: inspect PID:FD gives the unread bytes."
        )
      }
      if sockets.contains(where: { $0.kind == "socket" }) {
        session.note(
          "KIND socket, STATE ?: a socket sock_diag does not list: a TCP socket that is closed (reset, or never bound), an unbound UDP socket, another network namespace's, or netlink or packet; inspect PID:FD reads it."
        )
      }
    }
    if !leftovers.isEmpty {
      session.out.line("Kept by the kernel with no descriptor, on this process's addresses:", .heading)
      var rows = [["STATE", "LOCAL", "PEER", "TIMER"]]
      for row in leftovers {
        rows.append([
          row.state?.name ?? "?", "\(row.local)", "\(row.remote)",
          row.timer == 0 ? "-" : "\(KernelConnection.timerName(row.timer)), \(Int(row.timerSeconds.rounded())) s left",
        ])
      }
      session.out.table(rows, indent: "  ", header: .plain, fit: wide ? .whole : .stack(1...2))
      session.note(
        "The kernel does not record which process a TIME_WAIT was: these are on this process's addresses (its listener's port, or a connection watch saw it hold)."
      )
    }
  }

  /// The JSON of `ls --json PID`: numbers as numbers, "-" as null.
  var json: JSON {
    let keys = ProcessSocket.header.map { $0.lowercased().replacing("-", with: "_") }
    func socket(_ socket: ProcessSocket) -> JSON {
      JSON.object(
        zip(keys, socket.row).map { key, value in
          (key, Int(value).map(JSON.integer) ?? (value == "-" ? .null : .string(value)))
        })
    }
    let kept = leftovers.map { row in
      JSON.object([
        ("state", .string(row.state?.name ?? "?")), ("local", .string("\(row.local)")),
        ("peer", .string("\(row.remote)")), ("timer", .string(KernelConnection.timerName(row.timer))),
        ("seconds_left", .number(row.timerSeconds)),
      ])
    }
    return JSON.object([
      ("pid", .integer(Int(pid))), ("sockets", .array(sockets.map(socket))), ("kept", .array(kept)),
    ])
  }
}
