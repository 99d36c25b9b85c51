import SocketLayer

/// `getsockname FD`: getsockname(2).
struct GetSockNameCommand: DescriptorCommand {
  static let spec = CommandSpec(
    name: "getsockname",
    synopsis: "getsockname FD",
    summary: "the local address a socket is bound to",
    prototype: "int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);",
    example: "getsockname srv",
    manPage: "getsockname(2)",
    completion: [.descriptor],
    returnsValue: true,
    group: .options
  )

  var fd: DescriptorRef

  func run(_ context: CommandContext) -> CommandOutcome {
    NameQuery.run(fd, peer: false, session: context.session)
  }
}

/// `getpeername FD`: getpeername(2).
struct GetPeerNameCommand: DescriptorCommand {
  static let spec = CommandSpec(
    name: "getpeername",
    synopsis: "getpeername FD",
    summary: "the address of the other end of a connection",
    prototype: "int getpeername(int sockfd, struct sockaddr *addr, socklen_t *addrlen);",
    example: "getpeername conn",
    manPage: "getpeername(2)",
    completion: [.descriptor],
    returnsValue: true,
    group: .options
  )

  var fd: DescriptorRef

  func run(_ context: CommandContext) -> CommandOutcome {
    NameQuery.run(fd, peer: true, session: context.session)
  }
}

enum NameQuery {
  static func run(_ ref: DescriptorRef, peer: Bool, session: Session) -> CommandOutcome {
    guard case .success(let descriptor) = session.descriptor(ref) else { return .refused("unknown descriptor") }
    let syscall = peer ? "getpeername" : "getsockname"
    let result = peer ? Sys.getpeername(descriptor.fd) : Sys.getsockname(descriptor.fd)
    let call: String
    if case .success(let address) = result {
      call = "\(syscall)(\(descriptor.fd), \(address.cDescription), [\(address.length)])"
    } else {
      call = "\(syscall)(\(descriptor.fd), 0x..., 0x...)"
    }
    let outcome = session.report(
      call, result.map { _ in 0 }, syscall: syscall, fd: descriptor.fd,
      context: ErrorContext(call: syscall, descriptor: descriptor))
    guard case .success(let address) = result else { return outcome }
    if peer {
      session.note("fd \(descriptor.label) is connected to \(address).")
    } else if address == .unnamed || (address.isWildcard && address.port == 0) {
      session.note("fd \(descriptor.label) is not bound yet: no address, port 0.")
    } else {
      session.note("fd \(descriptor.label) is bound to \(address).")
    }
    return outcome
  }
}
