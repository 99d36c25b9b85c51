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

/// `name FD NAME`: gives a descriptor a name, as `NAME = accept ...` would have (no system call).
struct NameCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "name",
    synopsis: "name FD NAME",
    summary: "give a descriptor a name (when you forgot 'conn =' before accept)",
    example: "name 5 conn",
    details: ["The name is the shell's, not the kernel's: fd 5 stays fd 5, and the name can be used wherever FD is."],
    completion: [.descriptor],
    group: .shell
  )

  var fd: DescriptorRef
  var newName: String

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    let token = try arguments.next("NAME")
    if let problem = DescriptorRef.nameProblem(token) { throw arguments.error(problem, at: token) }
    guard Registry.command(named: token.text) == nil else {
      throw arguments.error("'\(token.text)' is a command: pick another name for the descriptor", at: token)
    }
    newName = token.text
  }

  var arguments: [String] { [fd.description, newName] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    if let other = try? session.descriptor(.name(newName)), other.fd != descriptor.fd {
      throw CommandRefusal("\(newName) already names fd \(other.fd): close it, or choose another name")
    }
    session.rename(descriptor.fd, to: newName)
    session.note("fd \(descriptor.fd) is now called \(newName): use \(newName) wherever a command takes FD.")
    return .done
  }
}

extension NameCommand {
  static var capabilities: Capabilities { [.changesShell] }
}
