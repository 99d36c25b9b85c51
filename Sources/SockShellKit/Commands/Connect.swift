#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `connect FD ADDR`: connect(2).
struct ConnectCommand: DescriptorAddressCommand {
  static let spec = CommandSpec(
    name: "connect",
    synopsis: "connect FD ADDR",
    summary: "connect to a listening address (TCP handshake); for UDP, set the default peer",
    prototype: "int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);",
    example: "connect c 127.0.0.1:8080",
    manPage: "connect(2)",
    details: [
      "ADDR may be a descriptor of this shell: connect c srv connects to the address srv is bound to.",
      "A client needs no bind: the kernel picks an ephemeral local port.",
    ],
    completion: [.descriptor, .address],
    returnsValue: true
  )

  var fd: DescriptorRef
  var address: AddressSpec

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let (descriptor, target) = try resolve(session, purpose: .connect)
    // Bound by the learner (a failed connect leaves a port in getsockname that is not kept).
    let boundBefore = descriptor.bound
    let result = session.blocking(
      fd: descriptor.fd, events: Int16(POLLOUT), waitingFor: "the handshake with \(target)"
    ) { Sys.connect(descriptor.fd, target) }
    let outcome = report(.connect, session, descriptor, target, result.map { 0 })
    guard case .success = result else { return outcome }
    // The report read the local address the kernel chose.
    let local = session.lastCall?.local?.description ?? "?"
    if descriptor.type == .datagram && descriptor.family == .unix {
      session.note("fd \(descriptor.label) now sends to \(target) by default and takes datagrams only from it.")
      session.note("Nothing was sent: a datagram socket has no handshake.")
    } else if descriptor.type == .datagram {
      session.note("fd \(descriptor.label) now sends to \(target) by default and takes datagrams only from it.")
      session.note(
        "No packet was sent: UDP has no handshake. "
          + (boundBefore
            ? "It keeps the address you bound: \(local)." : "The kernel gave it the local address \(local)."))
    } else if descriptor.family == .unix {
      session.note("fd \(descriptor.label) is connected to \(target).")
    } else {
      session.note("fd \(descriptor.label) is connected: \(local) -> \(target) (ESTABLISHED).")
      session.note(
        boundBefore
          ? "It kept the address you bound; the handshake is done."
          : "The kernel picked the local port itself (an ephemeral port); the handshake is done.")
    }
    return outcome
  }
}

extension ConnectCommand {
  static var syscalls: [Syscall] { [.connect] }
  static var capabilities: Capabilities { [.syscall, .blocks, .namesAddress] }

  func exportC(_ writer: inout CExport) -> [String] {
    guard let statement = writer.address(address) else { return ["  /* skipped */"] }
    return ["  " + statement] + writer.check("connect", "connect(\(writer.fd(fd)), (struct sockaddr *)&addr, len)")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    guard let target = writer.address(address) else { return [] }
    return writer.check("connect", "\(writer.fd(fd)).connect(\(target))")
  }
}

extension Syscall {
  static let connect = Syscall("connect", drawnInTimeline: true)
}
