import SocketLayer

/// Argument lists that several commands share, read and written back in one place.

/// `COMMAND FD`: accept, close, getsockname, getpeername.
protocol DescriptorCommand: ShellCommand {
  var fd: DescriptorRef { get }
  init(fd: DescriptorRef)
}

extension DescriptorCommand {
  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    self.init(fd: try arguments.descriptor())
  }

  var arguments: [String] { [fd.description] }
}

/// `COMMAND FD ADDR`: bind, connect.
protocol DescriptorAddressCommand: ShellCommand {
  var fd: DescriptorRef { get }
  var address: AddressSpec { get }
  init(fd: DescriptorRef, address: AddressSpec)
}

extension DescriptorAddressCommand {
  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    let fd = try arguments.descriptor()
    self.init(fd: fd, address: try arguments.address())
  }

  var arguments: [String] { [fd.description, address.word] }
  var namedAddresses: [AddressSpec] { [address] }

  /// The descriptor and the socket address the line names, by the shell's one set of address rules.
  func resolve(_ session: any CommandSession, purpose: AddressResolver.Purpose) throws(CommandRefusal) -> (
    Descriptor, SocketAddress
  ) {
    let descriptor = try session.descriptor(fd)
    return (descriptor, try session.socketAddress(address, for: descriptor, purpose: purpose))
  }

  /// Reports `bind(3, {...}, 16)` or `connect(...)`.
  func report(
    _ kind: Syscall, _ session: any CommandSession, _ descriptor: Descriptor, _ target: SocketAddress,
    _ result: SysResult<Int>
  )
    -> CommandOutcome
  {
    session.report(
      kind, fd: descriptor.fd, [.number(Int(descriptor.fd)), .address(target), .number(Int(target.length))], result,
      address: target, context: ErrorContext(call: kind, descriptor: descriptor, address: target))
  }
}

/// `COMMAND FD [LENGTH] [FLAGS]`: recv, recvfrom.
protocol ReceiveCommand: ShellCommand {
  /// recvfrom: the call also gives the sender's address.
  static var givesSender: Bool { get }
  var fd: DescriptorRef { get }
  var length: Int? { get }
  var flags: [String] { get }
  init(fd: DescriptorRef, length: Int?, flags: [String])
}

extension ReceiveCommand {
  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    let fd = try arguments.descriptor()
    let length = try arguments.optionalInteger("LENGTH", in: 0...Transfer.maximumLength)
    self.init(fd: fd, length: length, flags: try arguments.flags(allowed: Transfer.recvFlagNames))
  }

  var arguments: [String] { [fd.description] + (length.map { ["\($0)"] } ?? []) + flags }

  func cutShort(to count: Int) -> (any ShellCommand)? { Self(fd: fd, length: count, flags: flags) }
}

/// `COMMAND` alone: history, quit, trace, and the lesson commands.
protocol PlainCommand: ShellCommand {
  init()
}

extension PlainCommand {
  init(reading arguments: inout ArgumentReader) throws(ParseError) { self.init() }

  var arguments: [String] { [] }
}
