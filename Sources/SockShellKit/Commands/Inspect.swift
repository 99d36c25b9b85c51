#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `inspect FD [--json]`: everything the kernel holds about one descriptor.
struct InspectCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "inspect",
    synopsis: "inspect FD|PID:FD [--json]",
    summary: "everything about one descriptor: state, addresses and their structures, queues, options, TCP_INFO",
    example: "inspect conn",
    details: [
      "A pending error (SO_ERROR) is read only when poll shows POLLERR: reading it clears it.",
      "TCP_INFO is Linux's per-connection record: round-trip time, congestion window, bytes and segments.",
      "inspect PID:FD: descriptor FD of another process of yours (ls PID lists them), read without stopping it.",
    ],
    completion: [.descriptor, .words(["--json"])],
    group: .options
  )

  var target: SocketTarget
  var json = false

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    target = try arguments.socketTarget()
    json = try arguments.flags(allowed: ["--json"]).contains("--json")
  }

  var arguments: [String] { [target.description] + (json ? ["--json"] : []) }

  /// Another process's socket is read from outside the session: not for a lesson's lines.
  var effects: Capabilities { if case .process = target { [.readsProcesses] } else { [] } }

  /// Each TCP_INFO field worth showing: name, value with unit, meaning.
  static func tcpFields(_ info: TCPInfo) -> [(String, String, String)] {
    [
      ("state", info.state?.name ?? "?", "the connection's state (tcpi_state)"),
      ("rtt", "\(info.rttMicroseconds) us", "smoothed round-trip time: how long a segment takes to be acknowledged"),
      ("rttvar", "\(info.rttVarMicroseconds) us", "how much the round-trip time varies"),
      info.minRttMicroseconds == UInt32.max
        ? ("min_rtt", "none yet", "the smallest round-trip time seen (no segment has been acknowledged yet)")
        : ("min_rtt", "\(info.minRttMicroseconds) us", "the smallest round-trip time seen"),
      ("rto", "\(info.rtoMicroseconds / 1000) ms", "retransmission timeout: wait this long for an ACK, then resend"),
      ("snd_cwnd", "\(info.sndCwnd) segments", "congestion window: segments that may be in flight unacknowledged"),
      ("snd_mss", "\(info.sndMss) bytes", "the largest segment sent"),
      ("snd_wnd", "\(info.sndWnd) bytes", "the peer's receive window: how much more it can take now"),
      ("retransmits", "\(info.retransmits)", "retransmissions of the current unacknowledged data"),
      ("total_retrans", "\(info.totalRetrans)", "segments resent over the connection's life"),
      ("bytes_sent", "\(info.bytesSent)", "bytes handed to the network (retransmissions counted)"),
      ("bytes_acked", "\(info.bytesAcked)", "bytes the peer has acknowledged (the SYN and FIN count one each)"),
      ("bytes_received", "\(info.bytesReceived)", "bytes received from the peer (its FIN counts one)"),
      ("segs_out", "\(info.segsOut)", "segments sent, ACKs included"),
      ("segs_in", "\(info.segsIn)", "segments received"),
      ("notsent_bytes", "\(info.notsentBytes)", "bytes written but not yet sent"),
    ]
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    switch target {
    case .own(let ref):
      let descriptor = try session.descriptor(ref)
      // A CLOSED TCP socket that the learner did not bind holds no port, whatever getsockname says.
      let created = session.records.lastIndex {
        ($0.kind == .socket || $0.kind == .accept) && $0.errno == nil && $0.result == Int(descriptor.fd)
      }
      let bound = session.records[(created.map { $0 + 1 } ?? 0)...].contains {
        $0.kind == .bind && $0.fd == descriptor.fd && $0.errno == nil
      }
      show(Inspected(descriptor: descriptor, label: descriptor.label, shownFD: descriptor.fd, bound: bound), session)
    case .process(let pid, let fd):
      let view = try ProcessView.read(pid, pairs: context.host.processes.pairs(of: pid), info: true).get()
      context.host.processes.saw(view)
      guard let socket = view.sockets.first(where: { $0.fd == fd }) else {
        let theirs = view.sockets.map { "\($0.fd)" }.joined(separator: ", ")
        throw CommandRefusal(
          "process \(pid) has no socket at fd \(fd): "
            + (theirs.isEmpty ? "it has no socket open" : "its sockets are fds \(theirs) (ls \(pid) lists them)"))
      }
      switch ProcessSockets.borrow(fd, of: pid) {
      case .success(let copy):
        defer { _ = Glibc.close(copy) }
        let domain = (try? Sys.getsockopt(copy, level: SOL_SOCKET, name: SO_DOMAIN).get()) ?? 0
        let rawType = (try? Sys.getsockopt(copy, level: SOL_SOCKET, name: SO_TYPE).get()) ?? 0
        let family: SocketFamily = domain == AF_INET6 ? .ipv6 : domain == AF_UNIX ? .unix : .ipv4
        let shut = socket.inet?.shutdown ?? 0
        var descriptor = Descriptor(
          fd: copy, name: nil, family: family, type: SocketType(rawType: rawType) ?? .stream,
          origin: "process \(pid)")
        descriptor.shutRead = shut & 1 != 0
        descriptor.shutWrite = shut & 2 != 0
        show(
          Inspected(descriptor: descriptor, label: "\(fd) of process \(pid)", shownFD: fd, bound: true, pid: pid),
          session)
      case .failure(let errno):
        InspectCommand.showFromDiag(socket, pid: pid, why: errno, session: session, json: json)
      }
    }
    return .done
  }

  /// What is inspected: a descriptor to read (the shell's own, or a copy of another process's),
  /// and how to name it.
  struct Inspected {
    let descriptor: Descriptor
    let label: String
    /// The number in the process it belongs to.
    let shownFD: Int32
    /// A bind of the learner's succeeded on it (for another process's: not known, so no remark).
    let bound: Bool
    /// The other process's number; nil for the shell's own.
    var pid: Int32? = nil
  }

  func show(_ inspected: Inspected, _ session: any CommandSession) {
    let descriptor = inspected.descriptor
    let snapshot = SocketSnapshot(descriptor)
    let domain = (try? Sys.getsockopt(descriptor.fd, level: SOL_SOCKET, name: SO_DOMAIN).get()) ?? 0
    let protocolNumber = (try? Sys.getsockopt(descriptor.fd, level: SOL_SOCKET, name: SO_PROTOCOL).get()) ?? 0
    // SO_ERROR clears on read: read it only when poll says an error is pending, and never for
    // another process's socket (its own read would then find nothing).
    var pending: Errno?
    let errorPending = snapshot.revents & Int16(POLLERR) != 0
    if inspected.pid == nil, errorPending,
      case .success(let code) = Sys.getsockopt(descriptor.fd, level: SOL_SOCKET, name: SO_ERROR), code != 0
    {
      pending = Errno(code)
    }
    let options = OptionWords.readAll(descriptor, includeError: false)
    if json {
      var pairs: [(String, JSON)] = [
        ("fd", .integer(Int(inspected.shownFD))), ("name", descriptor.name.map(JSON.string) ?? .null),
        ("family", .string(descriptor.family.rawValue)), ("domain", .integer(Int(domain))),
        ("type", .string(snapshot.typeText)), ("protocol", .integer(Int(protocolNumber))),
        ("state", .string(snapshot.state)), ("origin", .string(descriptor.origin)),
        ("local", snapshot.local.map { .string($0.description) } ?? .null),
        ("local_struct", snapshot.local.map { .string($0.cDescription) } ?? .null),
        ("peer", snapshot.peer.map { .string($0.description) } ?? .null),
        ("peer_struct", snapshot.peer.map { .string($0.cDescription) } ?? .null),
        ("recv_q", snapshot.recvQ.map(JSON.integer) ?? .null), ("send_q", snapshot.sendQ.map(JSON.integer) ?? .null),
        ("next_datagram", snapshot.nextDatagram.map(JSON.integer) ?? .null),
        ("ready", .string(snapshot.readiness == "-" ? "" : snapshot.readiness)),
        ("pending_error", pending.map { .string($0.name) } ?? .null),
        ("options", .object(options.map { ($0.0.name, .string($0.1)) })),
      ]
      if let pid = inspected.pid { pairs.insert(("pid", .integer(Int(pid))), at: 0) }
      if let info = snapshot.tcpInfo {
        pairs.append(
          (
            "tcp_info",
            .object([
              ("state", .string(info.state?.name ?? "?")), ("rtt_us", .integer(Int(info.rttMicroseconds))),
              ("rttvar_us", .integer(Int(info.rttVarMicroseconds))), ("snd_cwnd", .integer(Int(info.sndCwnd))),
              ("retransmits", .integer(Int(info.retransmits))), ("total_retrans", .integer(Int(info.totalRetrans))),
              ("bytes_sent", .integer(Int(info.bytesSent))), ("bytes_acked", .integer(Int(info.bytesAcked))),
              ("bytes_received", .integer(Int(info.bytesReceived))), ("segs_out", .integer(Int(info.segsOut))),
              ("segs_in", .integer(Int(info.segsIn))),
            ])
          ))
      }
      session.out.line(JSON.object(pairs).text)
      return
    }
    let out = session.out
    out.line(
      "fd \(inspected.label): \(descriptor.kindText) socket"
        + (inspected.pid == nil ? ", made by \(descriptor.origin)" : " (a copy read with pidfd_getfd, closed at once)"),
      .heading)
    out.line(
      "  family/type   \(descriptor.family.cName) (\(domain)), \(descriptor.type.cName), protocol \(protocolNumber)"
        + (descriptor.family == .unix ? "" : " (\(descriptor.type.protocolCName(in: descriptor.family)))"))
    out.line("  state         \(snapshot.state)" + (snapshot.tcpInfo != nil ? " (from TCP_INFO)" : ""))
    let bound = inspected.bound
    for (label, address) in [("local", snapshot.local), ("peer", snapshot.peer)] {
      if let address, !(label == "local" && snapshot.localText == "-") {
        var remark = ""
        if label == "local" && snapshot.tcpState == .closed && !bound && address.port != 0 {
          remark = " (what getsockname still says: a CLOSED socket that was not bound holds no port)"
        } else if label == "peer" && snapshot.tcpState == .synSent {
          remark = " (where its SYN goes, from the kernel's table: getpeername has none until the handshake)"
        }
        out.field("  \(label.padded(to: 13)) \(address)" + remark, hanging: 16)
        out.field(
          "                \(InspectCommand.structName(address)) \(address.cDescription), \(address.length) bytes",
          hanging: 20)
      } else {
        out.line("  \(label.padded(to: 13)) -" + (label == "local" ? " (not bound)" : " (not connected)"))
      }
    }
    let queues = snapshot.queueMeaning
    out.field("  RECV-Q        " + queues.receive, hanging: 16)
    out.field("  SEND-Q        " + queues.send, hanging: 16)
    let events = PollCommand.names(snapshot.revents)
    out.line("  ready now     \(events.isEmpty ? "nothing" : events.joined(separator: "|")) (poll, timeout 0)")
    out.line("  non-blocking  \(snapshot.nonBlocking ? "yes (O_NONBLOCK)" : "no")")
    if descriptor.shutRead || descriptor.shutWrite {
      out.line(
        "  shut down     "
          + [descriptor.shutRead ? "reading" : nil, descriptor.shutWrite ? "writing" : nil].compactMap { $0 }.joined(
            separator: " and "))
    }
    if let pending {
      out.line("  pending error \(pending.name) (\(pending.message)): reading SO_ERROR has now cleared it")
    } else if inspected.pid != nil {
      out.field(
        "  pending error "
          + (errorPending
            ? "yes (poll shows POLLERR); not read: reading SO_ERROR would clear it for the process"
            : "none (poll shows no POLLERR)"),
        hanging: 16)
    } else {
      out.line("  pending error none (SO_ERROR)")
    }
    out.line("Options (getsockopt)", .heading)
    // Columns as wide as their widest entry (multicast_loop, "0.0.0.0 (not set)"), two apart.
    let nameWidth = (options.map { Cells.width($0.0.name) }.max() ?? 0) + 2
    let valueWidth = (options.map { Cells.width($0.1) }.max() ?? 0) + 2
    for (option, shown) in options {
      out.field(
        "  " + option.name.padded(to: nameWidth) + shown.padded(to: valueWidth) + option.summary,
        hanging: 2 + nameWidth + valueWidth)
    }
    if let info = snapshot.tcpInfo {
      out.line("TCP_INFO (getsockopt IPPROTO_TCP TCP_INFO)", .heading)
      for (name, value, meaning) in InspectCommand.tcpFields(info) {
        out.field("  " + name.padded(to: 15) + value.padded(to: 14) + meaning, hanging: 31)
      }
    }
  }

  /// Another process's socket that this user may not copy (pidfd_getfd refused): what sock_diag
  /// gives (state, addresses, queues, TCP_INFO), and why the options are not shown.
  static func showFromDiag(_ socket: ProcessSocket, pid: Int32, why: Errno, session: any CommandSession, json: Bool) {
    let reason =
      "options not read: pidfd_getfd says \(why.name) (\(why.message))"
      + (why.code == EPERM
        ? ": only the process's own user (with the right to ptrace it) or root may copy its descriptors" : "")
    if json {
      var pairs: [(String, JSON)] = [
        ("pid", .integer(Int(pid))), ("fd", .integer(Int(socket.fd))), ("kind", .string(socket.kind)),
        ("state", .string(socket.state)), ("local", socket.local == "-" ? .null : .string(socket.local)),
        ("peer", socket.peer == "-" ? .null : .string(socket.peer)),
        ("recv_q", socket.recvQ.map(JSON.integer) ?? .null), ("send_q", socket.sendQ.map(JSON.integer) ?? .null),
        ("options", .null), ("why", .string(reason)),
      ]
      if let info = socket.inet?.tcpInfo {
        pairs.append(("tcp_info", .object(tcpFields(info).map { ($0.0, .string($0.1)) })))
      }
      session.out.line(JSON.object(pairs).text)
      return
    }
    let out = session.out
    out.line("fd \(socket.fd) of process \(pid): \(socket.kind) socket (from sock_diag)", .heading)
    out.line("  state         \(socket.state)")
    out.line("  local         \(socket.local)")
    out.line("  peer          \(socket.peer)")
    out.line(
      "  RECV-Q        \(socket.recvQ.map(String.init) ?? "-")" + (socket.listening ? " (waiting for accept)" : ""))
    out.line("  SEND-Q        \(socket.sendQ.map(String.init) ?? "-")" + (socket.listening ? " (the backlog)" : ""))
    out.field("  " + reason, hanging: 2)
    if let info = socket.inet?.tcpInfo {
      out.line("TCP_INFO (from sock_diag)", .heading)
      for (name, value, meaning) in tcpFields(info) {
        out.field("  " + name.padded(to: 15) + value.padded(to: 14) + meaning, hanging: 31)
      }
    }
  }

  static func structName(_ address: SocketAddress) -> String {
    switch address.family {
    case .ipv4: "struct sockaddr_in"
    case .ipv6: "struct sockaddr_in6"
    case .unix: "struct sockaddr_un"
    }
  }
}
