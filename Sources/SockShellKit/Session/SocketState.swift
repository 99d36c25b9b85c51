#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// What the kernel says about one descriptor now. Read, never guessed from the commands typed.
public struct SocketSnapshot: Sendable {
  public let descriptor: Descriptor
  /// TCP state, or for other sockets LISTEN / CONNECTED / UNCONN.
  public let state: String
  public let tcpState: TCPState?
  public let tcpInfo: TCPInfo?
  public let local: SocketAddress?
  public let peer: SocketAddress?
  public let listening: Bool
  /// What ss shows as Recv-Q (see `queueMeaning`): unread bytes of a stream; for a listener,
  /// connections waiting in the accept queue; for UDP, the memory its queued datagrams take.
  public let recvQ: Int?
  /// What ss shows as Send-Q: unsent or unacknowledged bytes (TCP); for a listener, its backlog;
  /// for UDP and Unix sockets, send buffer memory in use.
  public let sendQ: Int?
  /// A datagram socket's next datagram: its payload size (SIOCINQ), 0 when none waits.
  public let nextDatagram: Int?
  /// A TCP connection's data bytes (SIOCINQ, SIOCOUTQ), where ss's figures also count a SYN or
  /// FIN as one byte (CLOSE_WAIT before the end is read: RECV-Q 1, 0 bytes of data).
  public let dataQueues: (receive: Int, send: Int)?
  public let nonBlocking: Bool
  /// poll(2) revents of a zero-timeout poll (POLLIN|POLLOUT|POLLPRI|POLLRDHUP).
  public let revents: Int16
  /// Options that are on, and the shell's own shutdowns: nonblock, shut-rd, reuseaddr...
  public let flags: [String]

  static let flagOptions = ["reuseaddr", "reuseport", "keepalive", "broadcast", "nodelay"].compactMap(
    SocketOption.named)

  /// Reads the kernel's view of a descriptor (TCP_INFO, getsockname, getpeername, SO_ACCEPTCONN,
  /// SIOCINQ/SIOCOUTQ, fcntl, options). `revents` comes from one poll over every descriptor.
  /// `kernelRows`: the rows of /proc/net/tcp and /proc/net/udp by inode, when the caller read
  /// them once for many descriptors (`ls`); read here otherwise.
  public init(_ descriptor: Descriptor, revents: Int16? = nil, kernelRows: [UInt64: KernelConnection]? = nil) {
    self.descriptor = descriptor
    let fd = descriptor.fd
    local = try? Sys.getsockname(fd).get()
    var peer = try? Sys.getpeername(fd).get()
    let isTCP = descriptor.family != .unix && descriptor.type == .stream
    tcpInfo = isTCP ? try? Sys.tcpInfo(fd).get() : nil
    tcpState = tcpInfo?.state
    if isTCP {
      listening = tcpState == .listen
      state = tcpState?.name ?? "?"
    } else {
      listening =
        descriptor.type == .stream && Sys.isListening(fd)
      state = listening ? "LISTEN" : peer != nil ? "CONNECTED" : "UNCONN"
    }
    // The figures ss shows, read where ss reads them.
    nextDatagram = descriptor.type == .datagram ? (try? Sys.queueSize(fd, outgoing: false).get()).map(Int.init) : nil
    // An IP socket's row in the kernel's table (UDP: buffer memory; TCP: sequence-number queues).
    let (mine, theirs, known) = (local, peer, tcpState)
    let row =
      descriptor.family == .unix || listening
      ? nil
      : (try? Sys.inode(fd).get()).flatMap { inode in
        kernelRows.map { $0[inode] }
          ?? SocketSnapshot.kernelRow(inode: inode, tcp: isTCP, state: known, local: mine, peer: theirs)
      }
    if isTCP && listening {
      dataQueues = nil
      // For a listener TCP_INFO's unacked is the accept queue and sacked the backlog (as ss shows).
      recvQ = tcpInfo.map { Int($0.unacked) }
      sendQ = tcpInfo.map { Int($0.sacked) }
    } else if descriptor.family == .unix {
      dataQueues = nil
      let queues = try? Sys.unixQueues(fd).get()
      recvQ = queues?.receive
      sendQ = queues?.send
    } else if descriptor.type == .datagram {
      // ss's figures: the memory the queued datagrams take, and that of datagrams being sent.
      dataQueues = nil
      recvQ = row?.receiveQueue
      sendQ = row?.sendQueue
    } else {
      // ss's figures (sequence numbers: rcv_nxt - copied_seq, write_seq - snd_una), from the
      // connection's row in /proc/net/tcp; the data bytes from the ioctls.
      let inq = (try? Sys.queueSize(fd, outgoing: false).get()).map(Int.init)
      let outq = (try? Sys.queueSize(fd, outgoing: true).get()).map(Int.init)
      // A connect still waiting for its handshake has no peer for getpeername; the kernel's row
      // (and ss) show where its SYN goes.
      if peer == nil, tcpState == .synSent, let remote = row?.remote, remote.port != 0 { peer = remote }
      recvQ = row?.receiveQueue ?? inq
      sendQ = row?.sendQueue ?? outq
      dataQueues = inq.flatMap { inq in outq.map { (inq, $0) } }
    }

    self.peer = peer
    nonBlocking = (try? Sys.isNonBlocking(fd).get()) ?? false
    self.revents =
      revents ?? (try? Sys.poll([fd], events: PollCommand.requested, timeoutMilliseconds: 0).get().first ?? 0) ?? 0
    var flags: [String] = []
    if nonBlocking { flags.append("nonblock") }
    if descriptor.shutRead { flags.append("shut-rd") }
    if descriptor.shutWrite { flags.append("shut-wr") }
    for option in SocketSnapshot.flagOptions where option.applies(family: descriptor.family, type: descriptor.type) {
      if case .success(.integer(let value)) = option.get(fd), value != 0 { flags.append(option.name) }
    }
    self.flags = flags
  }

  /// One socket's row: found by its address pair (sock_diag's exact lookup), and only when that
  /// cannot tell (a connect still in SYN_SENT has no peer to look up by; another socket answers
  /// for the address), from the whole table. A socket in no table (TCP in CLOSED, a socket with
  /// no port) has no row.
  static func kernelRow(
    inode: UInt64, tcp: Bool, state: TCPState?, local: SocketAddress?, peer: SocketAddress?
  ) -> KernelConnection? {
    guard let local, local.port != 0, !(tcp && state == .closed) else { return nil }
    if let found = SockDiag.lookup(tcp ? .tcp : .udp, local: local, remote: peer) {
      if found.inode == inode { return found }
      // Another socket answered for the address pair: the table tells them apart.
    } else {
      // Not found: only a connect still in SYN_SENT (no peer to look up by) or an unconnected
      // UDP socket may be in the table all the same.
      let lookupCannotTell = peer == nil && (!tcp || state == .synSent)
      if !lookupCannotTell { return nil }
    }
    return kernelRows(tcp: tcp, udp: !tcp)[inode]
  }

  /// Past this many IP sockets, one read of the whole table (/proc/net/tcp, /proc/net/udp) costs
  /// less than a lookup for each.
  static let lookupsBeforeTable = 32

  /// Every TCP connection and UDP socket of the namespace by socket inode (read once for all of
  /// `ls`).
  static func kernelRows(tcp: Bool, udp: Bool) -> [UInt64: KernelConnection] {
    var rows: [UInt64: KernelConnection] = [:]
    let table = (tcp ? ProcNetTCP.connections() : []) + (udp ? ProcNetTCP.udpSockets() : [])
    for row in table where row.inode != 0 { rows[row.inode] = row }
    return rows
  }

  /// What RECV-Q and SEND-Q mean for this kind of socket, in words, for inspect.
  public var queueMeaning: (receive: String, send: String) {
    let receive = recvQ.map(String.init) ?? "?"
    let send = sendQ.map(String.init) ?? "?"
    if listening {
      return (
        "\(receive) finished connections waiting for accept",
        "backlog \(send) (up to \(sendQ.map { "\($0 + 1)" } ?? "?") can wait)"
      )
    }
    let next =
      nextDatagram.map {
        $0 == 0
          ? "no datagram waits (or an empty one: poll says which)" : "the next datagram has \(counted(Int($0), "byte"))"
      } ?? ""
    switch (descriptor.family, descriptor.type) {
    case (.unix, .stream):
      return (
        "\(receive) bytes unread", "\(send) bytes of send buffer memory in use (not bytes unsent: the peer has them)"
      )
    case (.unix, _):
      return (next + " (a Unix datagram socket's RECV-Q)", "\(send) bytes of send buffer memory in use")
    case (_, .datagram):
      return (
        "\(receive) bytes of buffer memory hold the queued datagrams (more than their payload); \(next); how many wait, the kernel does not say",
        "\(send) bytes of send buffer memory in use"
      )
    default:
      // ss counts a SYN or FIN in flight as one byte; the ioctls count data alone.
      let data = dataQueues
      let unread =
        data.map {
          $0.receive == recvQ
            ? "" : " (ss's figure: the peer's FIN counts one; \($0.receive) bytes of data unread, SIOCINQ)"
        } ?? ""
      var unsent =
        data.map {
          $0.send == sendQ
            ? "" : " (ss's figure: a SYN or FIN not yet acknowledged counts one; \($0.send) bytes of data, SIOCOUTQ)"
        } ?? ""
      if tcpState == .closed && (sendQ ?? 0) > 0 {
        unsent = " (SIOCOUTQ's count left from a connection that failed or ended: a CLOSED socket sends nothing)"
      }
      let bytes = { (count: Int?) in count.map { counted($0, "byte") } ?? "? bytes" }
      return (bytes(recvQ) + " unread" + unread, bytes(sendQ) + " unsent or unacknowledged" + unsent)
    }
  }

  /// R (readable), W (writable), E (error or urgent data), as select's three sets.
  public var readiness: String {
    var text = ""
    if revents & Int16(POLLIN) != 0 { text += "R" }
    if revents & Int16(POLLOUT) != 0 { text += "W" }
    if revents & (Int16(POLLERR) | Int16(POLLPRI)) != 0 { text += "E" }
    return text.isEmpty ? "-" : text
  }

  /// The local address as a person reads it: "-" when not bound.
  public var localText: String {
    guard let local else { return "-" }
    if local == .unnamed || (local.isWildcard && local.port == 0) { return "-" }
    return local.description
  }

  public var peerText: String { peer.map(\.description) ?? "-" }

  /// "tcp", "udp", "stream", "dgram".
  public var typeText: String {
    let descriptor = self.descriptor
    if descriptor.family == .unix { return descriptor.type == .stream ? "stream" : "dgram" }
    return descriptor.type == .stream ? "tcp" : "udp"
  }

  public var json: JSON {
    var pairs: [(String, JSON)] = [
      ("fd", .integer(Int(descriptor.fd))),
      ("name", descriptor.name.map(JSON.string) ?? .null),
      ("family", .string(descriptor.family.rawValue)),
      ("type", .string(typeText)),
      ("state", .string(state)),
      ("local", local.map { .string($0.description) } ?? .null),
      ("peer", peer.map { .string($0.description) } ?? .null),
      ("recv_q", recvQ.map(JSON.integer) ?? .null),
      ("send_q", sendQ.map(JSON.integer) ?? .null),
    ]
    if listening {
      pairs.append(("accept_queue", recvQ.map(JSON.integer) ?? .null))
      pairs.append(("backlog", sendQ.map(JSON.integer) ?? .null))
    }
    pairs.append(("ready", .string(readiness == "-" ? "" : readiness)))
    pairs.append(("nonblocking", .bool(nonBlocking)))
    pairs.append(("flags", .array(flags.map(JSON.string))))
    return .object(pairs)
  }
}

/// A connection this shell closed, looked for again in the kernel's tables (TIME_WAIT has no fd).
public struct ClosedConnection: Sendable {
  public let local: SocketAddress
  public let peer: SocketAddress
  /// "4 (c)": what the learner called it.
  public let label: String
}

extension Session {
  /// A snapshot of every descriptor, with one poll for all of them.
  public func snapshots() -> [SocketSnapshot] {
    let open = openDescriptors
    let revents =
      (try? Sys.poll(open.map(\.fd), events: PollCommand.requested, timeoutMilliseconds: 0).get())
      ?? [Int16](repeating: 0, count: open.count)
    let inet = open.filter { $0.family != .unix }
    let rows =
      inet.count > SocketSnapshot.lookupsBeforeTable
      ? SocketSnapshot.kernelRows(
        tcp: inet.contains { $0.type == .stream }, udp: inet.contains { $0.type == .datagram })
      : nil
    return zip(open, revents).map { SocketSnapshot($0, revents: $1, kernelRows: rows) }
  }

  /// Connections this shell closed that the kernel still keeps (TIME_WAIT, FIN_WAIT2, LAST_ACK...),
  /// found by their address pair. Ones the kernel has let go are forgotten.
  public func lingeringConnections() -> [(ClosedConnection, KernelConnection)] {
    // An open descriptor whose connection ended (FIN_WAIT2 got the peer's FIN) reads CLOSED: the
    // kernel moved the connection to a TIME_WAIT entry of its own, which no descriptor holds.
    let ended = table.open.compactMap { descriptor -> ClosedConnection? in
      guard descriptor.family != .unix, descriptor.type == .stream, let peer = table.lastPeers[descriptor.fd],
        (try? Sys.tcpInfo(descriptor.fd).get().state) == .closed, let local = try? Sys.getsockname(descriptor.fd).get()
      else { return nil }
      return ClosedConnection(local: local, peer: peer, label: descriptor.label + " (open, reads CLOSED)")
    }
    let candidates = table.closedConnections + ended
    guard !candidates.isEmpty else { return [] }
    // Each found by its address pair; many at once from one read of the whole table.
    let kernel = candidates.count > SocketSnapshot.lookupsBeforeTable ? ProcNetTCP.connections() : nil
    var found: [(ClosedConnection, KernelConnection)] = []
    var stillThere: [ClosedConnection] = []
    for closed in candidates {
      // A socket with an fd of ours has an inode; the leftover has none. The exact lookup
      // answers with the listener when the connection is gone: that is no leftover.
      func leftover(_ row: KernelConnection) -> Bool {
        row.state != .listen && (row.inode == 0 || row.state != .established)
      }
      let entry =
        kernel.map { rows in
          rows.first {
            Session.sameEndpoint($0.local, closed.local) && Session.sameEndpoint($0.remote, closed.peer) && leftover($0)
          }
        } ?? SockDiag.lookup(.tcp, local: closed.local, remote: closed.peer).flatMap { leftover($0) ? $0 : nil }
      if let entry {
        found.append((closed, entry))
        if !ended.contains(where: { $0.label == closed.label }) { stillThere.append(closed) }
      }
    }
    table.keepClosed(stillThere)
    return found
  }

  /// Whether a descriptor of this session is bound to `address` (for one bound to every address,
  /// its port on any local address).
  func hasBound(_ address: SocketAddress) -> Bool {
    table.byNumber.keys.contains { fd in
      guard let local = try? Sys.getsockname(fd).get() else { return false }
      if Session.sameEndpoint(local, address) { return true }
      // Bound to every address: its port on loopback (and a broadcast there), or on a group.
      return local.isWildcard && local.port != 0 && local.port == address.port
        && (address.isLoopback || address.isMulticast)
    }
  }

  /// Equal addresses, with IPv4 and its v4-mapped IPv6 form counted as the same.
  static func sameEndpoint(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
    func normal(_ address: SocketAddress) -> SocketAddress {
      if case .ipv6(let bytes, let port, _) = address, bytes.prefix(10).allSatisfy({ $0 == 0 }),
        bytes[10] == 0xFF, bytes[11] == 0xFF
      {
        return .ipv4(Array(bytes.suffix(4)), port: port)
      }
      if case .ipv6(let bytes, let port, _) = address { return .ipv6(bytes, port: port, scopeID: 0) }
      return address
    }
    return normal(a) == normal(b)
  }
}
