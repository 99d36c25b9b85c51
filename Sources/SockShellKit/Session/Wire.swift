import CSupport
import SocketLayer

#if canImport(Glibc)
  import Glibc
#endif

/// The wire: every segment and datagram that the shell's sockets (and a lesson partner's) send
/// or receive on loopback, one line each, under the call that caused it (`Session.report`
/// drains the capture right after printing a call) or at the prompt when it arrives later (the
/// capture is a source of the event loop). Only packets of the shell's own endpoints are shown:
/// as root on a shared machine, other programs' loopback traffic is not the learner's.
final class Wire {
  /// The capture; nil once `wire off` closed it (what it saw is kept, for export pcap).
  private(set) var fd: Int32?
  /// Frames kept for `export pcap`: the newest, within `keptBytes`; how many older ones went.
  private var keptFrames = Newest<(seconds: Double, bytes: [UInt8], length: Int)>()
  var frames: ArraySlice<(seconds: Double, bytes: [UInt8], length: Int)> { keptFrames.items }
  var droppedFrames: Int { keptFrames.dropped }
  private var keptSize = 0
  static let keptBytes = 4 << 20
  /// Every packet shown, as a light record (for lesson checks and the timeline): the newest
  /// `keptPackets`, and how many went before them.
  private var keptRecords = Newest<WireRecord>()
  var shown: ArraySlice<WireRecord> { keptRecords.items }
  var shownBefore: Int { keptRecords.dropped }
  static let keptPackets = 10_000
  /// The index of the next packet to be shown (counting those let go).
  var shownCount: Int { shownBefore + shown.count }
  /// The event loop's source id.
  var source: Int?

  /// What each TCP connection's lines need: each side's first sequence number (numbers are
  /// shown relative to it) and the window scale it offered on its SYN.
  private struct Side {
    var base: UInt32?
    var scale: UInt8?
    var sawSYN = false
    /// The end of the data sent so far (relative): data that starts before it is sent again.
    var sent: UInt32 = 0
  }
  private var sides: [Endpoint: [Endpoint: Side]] = [:]

  /// A TCP or UDP endpoint (`proto` 6 or 17), IPv4 and its v4-mapped IPv6 form alike; an empty
  /// address for a wildcard one, which keeps its family (an IPv6 socket with v6only set on [::]
  /// is no endpoint of IPv4 packets).
  struct Endpoint: Hashable {
    var address: [UInt8]
    var port: UInt16
    var ipv4: Bool
    var proto: UInt8

    init?(_ address: SocketAddress, proto: UInt8) {
      switch address {
      case .ipv4(let bytes, let port):
        self.address = bytes
        self.port = port
        ipv4 = true
      case .ipv6(let bytes, let port, _):
        let mapped = bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        self.address = mapped ? Array(bytes.suffix(4)) : bytes
        self.port = port
        ipv4 = mapped
      default:
        return nil
      }
      self.proto = proto
      if self.address.allSatisfy({ $0 == 0 }) { self.address = [] }
    }

    var wildcard: Endpoint {
      var copy = self
      copy.address = []
      return copy
    }
  }

  /// One descriptor as the wire names it.
  struct Named {
    let local: SocketAddress?
    let peer: SocketAddress?
    let name: String
    /// 6 (TCP) or 17 (UDP).
    let proto: UInt8
    /// Whether packets from its address are its own: a TCP socket that is bound but has neither
    /// listened nor sent sends nothing (the kernel answers a SYN there with a reset).
    let sends: Bool
    /// An IPv6 socket with IPV6_V6ONLY: on [::] it is no endpoint of IPv4.
    let v6only: Bool
  }

  /// The shell's endpoints and their names, learned from its descriptors before each drain and
  /// kept after they close (a FIN or the last ACK comes after the descriptor is gone).
  private var connectionNames: [Endpoint: [Endpoint: String]] = [:]
  private var localNames: [Endpoint: String] = [:]

  init(fd: Int32, keeping earlier: Wire? = nil) {
    self.fd = fd
    if let earlier {
      keptFrames = earlier.keptFrames
      keptSize = earlier.keptSize
      keptRecords = earlier.keptRecords
      // The numbering goes on: each side's SYN and window scale are still known (the kernel's
      // numbers went on while the wire was off), and so are the names.
      sides = earlier.sides
      connectionNames = earlier.connectionNames
      localNames = earlier.localNames
    }
  }

  deinit { close() }

  var isOn: Bool { fd != nil }

  func close() {
    if let fd { _ = Glibc.close(fd) }
    fd = nil
  }

  /// Learns the names of the descriptors open now.
  func learn(_ endpoints: [Named]) {
    for named in endpoints {
      guard let local = named.local, let mine = Endpoint(local, proto: named.proto), mine.port != 0 else { continue }
      if let peer = named.peer, let theirs = Endpoint(peer, proto: named.proto), theirs.port != 0 {
        connectionNames[mine, default: [:]][theirs] = named.name
      } else if named.sends {
        localNames[mine] = named.name
        // A dual-stack socket on [::] is the endpoint of IPv4 packets to its port too.
        if mine.address.isEmpty && !mine.ipv4 && !named.v6only {
          var both = mine
          both.ipv4 = true
          localNames[both] = named.name
        }
      } else {
        localNames[mine] = nil
      }
    }
  }

  /// 255.255.255.255, or an address ending in .255 (a /24's broadcast, loopback's 127.255.255.255).
  static func isBroadcast(_ address: SocketAddress) -> Bool {
    guard case .ipv4(let bytes, _) = address else { return false }
    return bytes.last == 255
  }

  /// The name of the shell's socket at `endpoint` talking to `other`, or nil when it is not one.
  func name(_ endpoint: Endpoint, talkingTo other: Endpoint?) -> String? {
    if let other, let name = connectionNames[endpoint]?[other] { return name }
    return localNames[endpoint] ?? localNames[endpoint.wildcard]
  }

  /// Past this many packets at once (a large send), the plain ones are summed up per direction;
  /// SYN, FIN, RST, zero windows, retransmissions and ICMP are always shown one by one.
  static let shownOneByOne = 12
  static let notableAtMost = 40

  /// Reads what arrived and returns the lines for the shell's own packets.
  func drain(calls: Int) -> [String] {
    guard let fd else { return [] }
    var seen: [(text: String, record: WireRecord)] = []
    while true {
      // Each frame keeps the time the kernel took it (the pcap's timestamps), not when it was read.
      let frames = Capture.read(fd) { frame, when in
        guard let packet = Packet(frame: frame), let line = line(for: packet) else { return }
        keep(frame, at: when)
        var record = line.record
        record.calls = calls
        seen.append((line.text, record))
        remember(record)
      }
      if frames < 4096 { break }
    }
    var lines: [String]
    if seen.count <= Wire.shownOneByOne {
      lines = seen.map(\.text)
    } else {
      lines = Array(seen.prefix(Wire.shownOneByOne / 2).map(\.text))
      let rest = seen.dropFirst(Wire.shownOneByOne / 2)
      let notable = rest.filter(\.record.notable)
      lines += notable.prefix(Wire.notableAtMost).map(\.text)
      if notable.count > Wire.notableAtMost {
        lines.append("wire  ... and \(notable.count - Wire.notableAtMost) more like these")
      }
      lines += Wire.summary(rest.filter { !$0.record.notable })
    }
    let drops = Int(csupport_packet_drops(fd))
    if drops > 0 {
      lines.append("wire  \(counted(drops, "packet")) not captured: they came faster than the capture was read")
    }
    return lines
  }

  /// The plain packets of a burst, one line per direction: how many, the bytes of data, the
  /// largest window offered.
  static func summary(_ packets: [(text: String, record: WireRecord)]) -> [String] {
    var order: [String] = []
    var totals: [String: (count: Int, bytes: Int, window: Int?, text: String)] = [:]
    for (text, record) in packets {
      let key = "\(record.from) > \(record.to)"
      if totals[key] == nil { order.append(key) }
      var total = totals[key] ?? (0, 0, nil, text)
      total.count += 1
      total.bytes += record.length
      if let window = record.window { total.window = max(total.window ?? 0, window) }
      totals[key] = total
    }
    return order.map { key in
      let total = totals[key]!
      // One packet is shown as itself.
      if total.count == 1 { return total.text }
      return "wire  \(key)  and \(total.count) more packets: \(total.bytes) bytes of data"
        + (total.window.map { ", largest window \($0)" } ?? "")
    }
  }

  private func remember(_ record: WireRecord) {
    keptRecords.append(record)
    if keptRecords.count > Wire.keptPackets { _ = keptRecords.dropOldest() }
  }

  /// A frame's first bytes, for the pcap (as tcpdump's snap length): every header and the start
  /// of the data, so that many more packets fit the memory kept.
  static let snapLength = 256

  private func keep(_ frame: [UInt8], at seconds: Double) {
    let kept = Array(frame.prefix(Wire.snapLength))
    keptFrames.append((seconds, kept, frame.count))
    keptSize += kept.count
    while keptSize > Wire.keptBytes, keptFrames.count > 0 { keptSize -= keptFrames.dropOldest().bytes.count }
  }

  /// The line for a packet of the shell's, and its record; nil for another program's.
  func line(for packet: Packet) -> (text: String, record: WireRecord)? {
    // TCP and UDP: shown when one end is the shell's, each end by its name.
    func ends() -> (from: String, to: String, source: Endpoint, destination: Endpoint)? {
      let proto: UInt8 = if case .tcp = packet.body { 6 } else { 17 }
      guard let source = Endpoint(packet.source, proto: proto),
        let destination = Endpoint(packet.destination, proto: proto)
      else { return nil }
      let from = name(source, talkingTo: destination)
      // A group or broadcast datagram goes to whoever takes it (several sockets, or none): it is
      // shown to its address, never as one socket's.
      let toMany = packet.destination.isMulticast || Wire.isBroadcast(packet.destination)
      let to = toMany ? nil : name(destination, talkingTo: source)
      guard from != nil || to != nil else { return nil }
      return (from ?? packet.source.description, to ?? packet.destination.description, source, destination)
    }
    switch packet.body {
    case .tcp(let segment):
      guard let (from, to, source, destination) = ends() else { return nil }
      var record = WireRecord(
        from: from, to: to, source: packet.source, destination: packet.destination, kind: .tcp,
        flags: segment.flagText, length: segment.payload.count)
      let text = describe(segment, from: source, to: destination, record: &record)
      return ("wire  \(from) > \(to)  " + text, record)
    case .udp(let payload):
      guard let (from, to, _, _) = ends() else { return nil }
      let record = WireRecord(
        from: from, to: to, source: packet.source, destination: packet.destination, kind: .udp, flags: "",
        length: payload.count)
      return ("wire  \(from) > \(to)  UDP len \(payload.count)" + preview(payload), record)
    case .icmp(let error):
      // An error about a datagram the shell sent: named after the socket that sent it.
      guard let quotedSource = error.quotedSource, let quotedDestination = error.quotedDestination,
        let quoted = error.quotedProtocol,
        let mine = Endpoint(quotedSource, proto: quoted), let theirs = Endpoint(quotedDestination, proto: quoted),
        let owner = name(mine, talkingTo: theirs)
      else { return nil }
      let proto = error.quotedProtocol == 6 ? "TCP" : error.quotedProtocol == 17 ? "UDP" : "IP"
      let host = packet.source.host
      var record = WireRecord(
        from: host, to: owner, source: quotedDestination, destination: quotedSource, kind: .icmp, flags: "",
        length: 0)
      record.meaning = error.meaning
      record.notable = true
      return (
        "wire  \(host) > \(owner)  ICMP\(error.version6 ? "v6" : "") \(error.meaning) "
          + "(for \(proto) \(owner) > \(quotedDestination))", record
      )
    }
  }

  /// A segment as tcpdump and packetdrill write it, with numbers relative to each side's first
  /// sequence number: `S seq 0 win 65495 <mss 65495,sackOK,TS,nop,wscale 7>`, `P. seq 1:6 ack 1
  /// win 65536 len 5 "hello"`, `. ack 6 win 65536` (a pure ACK has no seq). A zero window and
  /// data sent again are said.
  func describe(_ segment: TCPSegment, from source: Endpoint, to destination: Endpoint, record: inout WireRecord)
    -> String
  {
    var side = sides[source]?[destination] ?? Side()
    if segment.has(TCPSegment.syn) {
      side.base = segment.sequence
      side.sawSYN = true
      side.sent = 1
      side.scale =
        segment.options.lazy.compactMap { option -> UInt8? in
          if case .windowScale(let shift) = option { return shift }
          return nil
        }.first
    } else if side.base == nil {
      // No SYN seen from this side (capture began later; a RST answering a SYN): as Wireshark
      // numbers it, the first segment seen is 1, as if just after a SYN.
      side.base = segment.sequence &- 1
      side.sent = 1
    }
    let other = sides[destination]?[source]
    var parts = [segment.flagText]
    let length = segment.payload.count
    let start = segment.sequence &- (side.base ?? segment.sequence)
    let end = start &+ UInt32(length)
    // A probe of a closed window: no data (or one byte) at the byte before the next one, as
    // Wireshark's keep-alive; data that starts before what was sent already is sent again
    // (sequence space compared modulo 2^32).
    let plain = !segment.has(TCPSegment.syn) && !segment.has(TCPSegment.fin) && !segment.has(TCPSegment.rst)
    let probe = plain && length <= 1 && side.sent > 1 && start &+ 1 == side.sent
    let again = !probe && length > 0 && Int32(bitPattern: start &- side.sent) < 0
    if length > 0 && Int32(bitPattern: end &- side.sent) > 0 { side.sent = end }
    if segment.has(TCPSegment.fin) { side.sent = max(side.sent, end &+ 1) }
    sides[source, default: [:]][destination] = side
    let pureACK = segment.flags == TCPSegment.ack && length == 0 && !probe
    if !pureACK {
      parts.append(length > 0 ? "seq \(start):\(end)" : "seq \(start)")
    }
    if segment.has(TCPSegment.ack) {
      // The other side not seen yet (the wire turned on mid-connection): as Wireshark does, the
      // byte this ACK asks for next is that side's 1.
      var base = other?.base
      if base == nil {
        base = segment.acknowledgement &- 1
        var theirs = other ?? Side()
        theirs.base = base
        theirs.sent = 1
        sides[destination, default: [:]][source] = theirs
      }
      parts.append("ack \(segment.acknowledgement &- base!)")
    }
    // The window: a SYN's is never scaled; after it, by the shift this side offered, when both
    // SYNs offered one (RFC 7323). Without the handshake seen, the scale is not known.
    let window = Int(segment.window)
    if segment.has(TCPSegment.syn) {
      parts.append("win \(window)")
      record.window = window
    } else if side.sawSYN, other?.sawSYN == true {
      let shift = side.scale != nil && other?.scale != nil ? Int(side.scale!) : 0
      parts.append("win \(window << shift)")
      record.window = window << shift
    } else if segment.has(TCPSegment.rst) {
      parts.append("win \(window)")
    } else {
      parts.append("win \(window) (scale unknown)")
    }
    if length > 0 { parts.append("len \(length)") }
    if segment.has(TCPSegment.syn) || !segment.options.filter({ $0 != .nop && !isTimestamp($0) }).isEmpty {
      let options = segment.options.map(\.text)
      if !options.isEmpty { parts.append("<" + options.joined(separator: ",") + ">") }
    }
    let zero = window == 0 && !segment.has(TCPSegment.rst)
    if zero { parts.append("(zero window: the receiver's buffer is full)") }
    if again { parts.append("(retransmission)") }
    if probe { parts.append("(window probe: is the peer's window still closed?)") }
    record.zeroWindow = zero
    record.retransmission = again
    record.notable =
      zero || again || probe || segment.has(TCPSegment.syn) || segment.has(TCPSegment.fin)
      || segment.has(TCPSegment.rst)
    return parts.joined(separator: " ") + preview(segment.payload)
  }

  private func isTimestamp(_ option: TCPOption) -> Bool {
    if case .timestamp = option { return true }
    return false
  }

  /// The first bytes of data, as the byte renderer shows them.
  private func preview(_ payload: [UInt8]) -> String {
    payload.isEmpty ? "" : "  " + ByteText.quoted(payload, limit: 20)
  }
}

/// The newest items of a list that lets its oldest go, with a count of how many went: an
/// append and a drop take constant time (what was dropped leaves the storage in batches), so a
/// long capture costs the same per packet at its end as at its start.
struct Newest<Item> {
  private var storage: [Item] = []
  private var head = 0
  private(set) var dropped = 0

  var items: ArraySlice<Item> { storage[head...] }
  var count: Int { storage.count - head }

  mutating func append(_ item: Item) { storage.append(item) }

  mutating func dropOldest() -> Item {
    let item = storage[head]
    head += 1
    dropped += 1
    if head >= 1024 && head * 2 >= storage.count {
      storage.removeFirst(head)
      head = 0
    }
    return item
  }
}

/// One packet the wire showed, without its data: what lesson checks and the timeline read.
struct WireRecord: Equatable {
  enum Kind: Equatable { case tcp, udp, icmp }
  var from: String
  var to: String
  /// The packet's addresses (the timeline finds its columns by them).
  var source: SocketAddress
  var destination: SocketAddress
  /// How many of the session's calls came before it, the one that caused it included.
  var calls = 0
  var kind: Kind
  /// The TCP flags as tcpdump writes them (`S.`); empty for UDP and ICMP.
  var flags: String
  var length: Int
  var window: Int?
  var zeroWindow = false
  var retransmission = false
  /// An ICMP error's meaning ("port unreachable").
  var meaning: String?
  /// Shown one by one even in a burst.
  var notable = false
}

extension Session {
  /// Whether the wire is being shown.
  public var wireOn: Bool { host.wire?.isOn == true }

  /// The frames the wire kept (for export pcap), and how many older ones it let go; nil when
  /// it was never on.
  var wireFrames: (kept: [(seconds: Double, bytes: [UInt8], length: Int)], dropped: Int)? {
    host.wire.map { (Array($0.frames), $0.droppedFrames) }
  }

  /// Starts showing the wire; the reason when it cannot be.
  func startWire() -> Result<Void, CommandRefusal> {
    if wireOn { return .success(()) }
    switch Capture.open() {
    case .failure(let errno):
      return .failure(CommandRefusal(Wire.refusal(errno)))
    case .success(let fd):
      // What an earlier `wire on` saw stays (for export pcap); the numbering starts again.
      let wire = Wire(fd: fd, keeping: host.wire)
      host.wire = wire
      wire.source = loop.watch(fd: fd, events: Int16(POLLIN)) { [weak self] _ in self?.showWire() }
      learnWireNames()
      return .success(())
    }
  }

  func stopWire() {
    guard let wire = host.wire, wire.isOn else { return }
    showWire()
    if let source = wire.source { loop.cancel(source) }
    wire.source = nil
    wire.close()
  }

  /// Teaches the wire the names of every open descriptor, the partner's too.
  /// Whether the descriptor now numbered `fd` called connect, listen or send since it was made
  /// (a TCP socket in CLOSE that did sent its SYN; one that was only bound sent nothing).
  static let talking: Set<String> = ["connect", "listen", "send", "sendto"]

  func hasTriedToTalk(_ fd: Int32) -> Bool {
    for record in records.reversed() {
      if record.fd == fd && Session.talking.contains(record.kind.name) { return true }
      if (record.kind.name == "socket" || record.kind.name == "accept") && record.result == Int(fd) { return false }
    }
    return false
  }

  /// `pending`: the call being shown now, not in the records yet.
  func learnWireNames(pending: CallRecord? = nil) {
    guard let wire = host.wire else { return }
    func endpoints(_ session: Session, prefix: String) -> [Wire.Named] {
      session.openDescriptors.filter { $0.family != .unix }.map { descriptor in
        let tcp = descriptor.type == .stream
        let info = tcp ? try? Sys.tcpInfo(descriptor.fd).get() : nil
        let v6only =
          descriptor.family == .ipv6
          && (try? Sys.getsockopt(descriptor.fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY).get()) == 1
        return Wire.Named(
          local: try? Sys.getsockname(descriptor.fd).get(), peer: try? Sys.getpeername(descriptor.fd).get(),
          name: prefix + (descriptor.name ?? "\(descriptor.fd)"), proto: tcp ? 6 : 17,
          // Bound, and never listened nor connected: what comes from its address is not its.
          sends: !tcp || info.map { $0.state != .closed } ?? true || session.hasTriedToTalk(descriptor.fd)
            || (session === self
              && pending.map { $0.fd == descriptor.fd && Session.talking.contains($0.kind.name) }
                == true),
          v6only: v6only)
      }
    }
    wire.learn(endpoints(self, prefix: ""))
    if let partner = host.lessonRun?.partner.session { wire.learn(endpoints(partner, prefix: "partner:")) }
  }

  /// Prints what the wire carried since it was last looked at; `inCall`: right after a call's
  /// line, whose packets these are (the timeline draws them after it).
  func showWire(inCall: Bool = false, pending: CallRecord? = nil) {
    guard let wire = host.wire, wire.isOn else { return }
    learnWireNames(pending: pending)
    for line in wire.drain(calls: records.count + (inCall ? 1 : 0)) { out.line("  " + line, .wire) }
  }

  /// The packets the wire showed, for the timeline.
  var wireRecords: [WireRecord] { host.wire.map { Array($0.shown) } ?? [] }
}

extension Wire {
  /// Why the capture could not start, and what to do instead.
  static func refusal(_ errno: Errno) -> String {
    let why: String
    switch errno.name {
    case "EPERM", "EACCES":
      why = "capturing needs CAP_NET_RAW, which this user does not have here"
    case "EAFNOSUPPORT":
      why = "this kernel has no packet sockets (AF_PACKET)"
    case "ENODEV", "ENXIO":
      why = "there is no loopback interface (lo) in this network namespace"
    default:
      why = "the capture socket failed: \(errno.name) (\(errno.message))"
    }
    if Sandbox.entered || Sandbox.refused != nil {
      return "The wire cannot be shown: \(why). Run sockshell as root to capture on loopback."
    }
    return "The wire cannot be shown: \(why). Start sockshell --sandbox to capture in a private network namespace "
      + "of your own (no root needed), or run it as root."
  }
}
