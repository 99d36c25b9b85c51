#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// A descriptor this shell created, with what the kernel cannot tell us afterwards.
public struct Descriptor: Sendable, Equatable {
  public let fd: Int32
  public var name: String?
  public let family: SocketFamily
  public let type: SocketType
  /// `socket`, or `accept` with the listener's number.
  public let origin: String
  /// The shell's own shutdown() calls (the kernel mixes SHUT_RD with a received FIN).
  public var shutRead = false
  public var shutWrite = false
  /// A bind of the learner's succeeded on it.
  public var bound = false

  /// "3 (srv)" or "4".
  public var label: String { name.map { "\(fd) (\($0))" } ?? "\(fd)" }
  public var kindText: String { "\(type.displayName(in: family)) \(family.displayName)" }
}

/// The descriptors this shell made, by number and by name, with what they were seen doing.
/// Nothing else in the shell may touch a descriptor: a number that is not here is refused.
public struct DescriptorTable {
  public private(set) var byNumber: [Int32: Descriptor] = [:]
  var names: [String: Int32] = [:]
  /// The TCP states each descriptor was seen in, in order (read from TCP_INFO after each command).
  public private(set) var stateHistory: [Int32: [TCPState]] = [:]
  /// TCP connections this shell closed, to find again in TIME_WAIT and the like.
  var closedConnections: [ClosedConnection] = []
  /// The last peer the kernel gave for each TCP descriptor: once a connection ends, getpeername
  /// fails, but its TIME_WAIT still carries that address pair.
  var lastPeers: [Int32: SocketAddress] = [:]

  /// Descriptors in numeric order.
  public var open: [Descriptor] { byNumber.values.sorted { $0.fd < $1.fd } }

  /// The descriptor a name gives, if any.
  func named(_ name: String) -> Int32? { names[name] }

  /// Finds a descriptor of this shell; refuses anything else with a message that says what to do.
  func resolve(_ ref: DescriptorRef) -> Result<Descriptor, CommandRefusal> {
    switch ref {
    case .name(let name):
      if let fd = names[name], let descriptor = byNumber[fd] { return .success(descriptor) }
      return .failure(CommandRefusal(message: "no descriptor is named '\(name)'. \(yours)"))
    case .number(let fd):
      if let descriptor = byNumber[fd] { return .success(descriptor) }
      let what: String
      switch fd {
      case 0: what = "fd 0 is standard input, not a socket this shell made"
      case 1: what = "fd 1 is standard output, not a socket this shell made"
      case 2: what = "fd 2 is standard error, not a socket this shell made"
      default:
        if let owner = ownerOf?(fd) {
          what = "fd \(fd) is \(owner), not yours"
        } else {
          what =
            Sys.isOpen(fd)
            ? "fd \(fd) belongs to the shell itself, not to you: it was not made by socket or accept here"
            : "fd \(fd) is not open (closed already, or never made)"
        }
      }
      return .failure(CommandRefusal(message: "\(what); the shell refuses to touch it. \(yours)"))
    }
  }

  /// Whose a descriptor of this process is when it is not the learner's (the lesson partner's
  /// socket, the wire's capture), for refusals.
  var ownerOf: ((Int32) -> String?)?

  /// "Yours: 3 (srv), 4." for refusals.
  var yours: String {
    let all = open
    if all.isEmpty { return "You have no descriptors yet: make one with socket." }
    return "Yours: " + all.map(\.label).joined(separator: ", ") + "."
  }

  mutating func register(_ descriptor: Descriptor) {
    byNumber[descriptor.fd] = descriptor
    if let name = descriptor.name { names[name] = descriptor.fd }
    stateHistory[descriptor.fd] = []
  }

  mutating func forget(_ fd: Int32) {
    if let name = byNumber[fd]?.name { names[name] = nil }
    byNumber[fd] = nil
    stateHistory[fd] = nil
    lastPeers[fd] = nil
  }

  mutating func update(_ descriptor: Descriptor) {
    byNumber[descriptor.fd] = descriptor
  }

  /// Gives a descriptor a name (replacing the one it had); the name must be free.
  mutating func rename(_ fd: Int32, to name: String) {
    guard var descriptor = byNumber[fd] else { return }
    if let old = descriptor.name { names[old] = nil }
    descriptor.name = name
    names[name] = fd
    byNumber[fd] = descriptor
  }

  /// Notes each TCP descriptor's state when it changed. With many descriptors open, only those
  /// in `touched` are read, so that a command stays cheap.
  mutating func recordStates(touched: [Int32]) {
    let candidates = byNumber.count <= 64 ? Array(byNumber.keys) : touched.filter { byNumber[$0] != nil }
    for fd in candidates {
      guard let descriptor = byNumber[fd], descriptor.family != .unix, descriptor.type == .stream,
        let state = try? Sys.tcpInfo(fd).get().state
      else { continue }
      if stateHistory[fd]?.last != state { stateHistory[fd, default: []].append(state) }
      if let peer = try? Sys.getpeername(fd).get() { lastPeers[fd] = peer }
    }
  }

  mutating func remember(closed connection: ClosedConnection) { closedConnections.append(connection) }

  mutating func keepClosed(_ connections: [ClosedConnection]) { closedConnections = connections }
}
