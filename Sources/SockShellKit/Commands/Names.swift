import SocketLayer

/// `getsockname FD`: getsockname(2).
struct GetSockNameCommand: NameQueryCommand {
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

  static let peer = false
  var fd: DescriptorRef
}

/// `getpeername FD`: getpeername(2).
struct GetPeerNameCommand: NameQueryCommand {
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

  static let peer = true
  var fd: DescriptorRef
}

/// getsockname and getpeername: the same call, for one end or the other.
protocol NameQueryCommand: DescriptorCommand {
  /// getpeername.
  static var peer: Bool { get }
}

extension NameQueryCommand {
  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let peer = Self.peer
    let descriptor = try session.descriptor(fd)
    let syscall: Syscall = peer ? .getpeername : .getsockname
    let result = peer ? Sys.getpeername(descriptor.fd) : Sys.getsockname(descriptor.fd)
    let found = try? result.get()
    let outcome = session.report(
      syscall, fd: descriptor.fd,
      [.number(Int(descriptor.fd))]
        + (found.map { [.address($0), .writtenLength(Int($0.length))] } ?? [.unfilled, .unfilled]),
      result.map { _ in 0 }, address: found, context: ErrorContext(call: syscall, descriptor: descriptor))
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

extension NameQueryCommand {
  static var syscalls: [Syscall] { [peer ? .getpeername : .getsockname] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    let name = Self.syscalls[0].name
    return ["  len = sizeof addr;"] + writer.check(name, "\(name)(\(writer.fd(fd)), (struct sockaddr *)&addr, &len)")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    let name = Self.syscalls[0].name
    return writer.check(name, "\(writer.fd(fd)).\(name)()")
  }
}

extension Syscall {
  static let getsockname = Syscall("getsockname")
  static let getpeername = Syscall("getpeername")
}
