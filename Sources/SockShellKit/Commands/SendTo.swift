#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `sendto FD ADDR DATA [FLAGS]`: sendto(2).
struct SendToCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "sendto",
    synopsis: "sendto FD ADDR DATA [oob|dontwait|nosignal|more]...",
    summary: "send one datagram to an address (UDP)",
    prototype:
      "ssize_t sendto(int sockfd, const void *buf, size_t len, int flags, const struct sockaddr *dest_addr, socklen_t addrlen);",
    example: "sendto u 127.0.0.1:9999 \"hi\"",
    manPage: "sendto(2)",
    details: ["An unbound UDP socket gets an ephemeral port on its first sendto."],
    completion: [.descriptor, .address, .data, .words(Transfer.sendFlagNames)],
    repeatsLast: true,
    returnsValue: true,
    group: .data
  )

  var fd: DescriptorRef
  var address: AddressSpec
  var data: DataSpec
  var flags: [String]

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    address = try arguments.address()
    data = try arguments.data()
    flags = try arguments.flags(allowed: Transfer.sendFlagNames)
  }

  var arguments: [String] { [fd.description, address.word] + data.words + flags }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    let target = try session.socketAddress(address, for: descriptor, purpose: .connect)
    if session.bindsLoopbackFirst, descriptor.family != .unix,
      (try? Sys.getsockname(descriptor.fd).get())?.port == 0
    {
      // Shown as the partner's own call: nothing it does is hidden.
      let loopback = SocketAddress.loopback(descriptor.family, port: 0)
      _ = try BindCommand(fd: fd, address: .host(loopback.host, port: 0)).run(context)
    }
    let outcome = try Transfer.send(data, flags: flags, on: descriptor, to: target, session: session)
    if target.isMulticast, case .returned(let sent) = outcome, sent >= 0 {
      MulticastWords.sayWhereItLeft(target, from: descriptor, session: session)
    }
    return outcome
  }
}

/// What the shell says of a group datagram or a join that reached a network beyond this machine.
enum MulticastWords {
  /// After a datagram to `group`: the interface it left by, when not loopback (the kernel's route).
  static func sayWhereItLeft(_ group: SocketAddress, from descriptor: Descriptor, session: any CommandSession) {
    // In the sandbox every interface leads only to another of its own.
    guard !Sandbox.entered, let source = Sys.multicastSource(to: group, interfaceOf: descriptor.fd), !source.isLoopback
    else { return }
    session.note(
      "It left this machine: with no multicast_if set for loopback, the route took it out by the interface with address \(source.host), to its network. setsockopt FD multicast_if 127.0.0.1 (lo for IPv6) keeps group datagrams here."
    )
  }

  /// After a join with no interface named: the one the kernel picked, when not loopback.
  static func sayWhereItJoined(_ group: SocketAddress, session: any CommandSession) {
    guard !Sandbox.entered, let source = Sys.multicastSource(to: group, interfaceOf: nil), !source.isLoopback else {
      return
    }
    session.note(
      "No interface was named: the kernel joined on the one its route for the group takes, the interface with address \(source.host), and announced the join on that network (\(group.family == .ipv6 ? "MLD" : "IGMP")). The group's datagrams are taken there, not on loopback: join on 127.0.0.1 (lo for IPv6) for this machine's own."
    )
  }
}

/// `recvfrom FD [LENGTH] [FLAGS]`: recvfrom(2).
struct RecvFromCommand: ReceiveCommand {
  static let givesSender = true
  static let spec = CommandSpec(
    name: "recvfrom",
    synopsis: "recvfrom FD [LENGTH] [peek|dontwait|waitall|oob|trunc]...",
    summary: "receive one datagram and the address it came from (default length 1024)",
    prototype:
      "ssize_t recvfrom(int sockfd, void *buf, size_t len, int flags, struct sockaddr *src_addr, socklen_t *addrlen);",
    example: "recvfrom u",
    manPage: "recvfrom(2)",
    details: ["A datagram longer than LENGTH is cut, and the rest is lost: UDP keeps message boundaries."],
    completion: [.descriptor, .words(Transfer.recvFlagNames)],
    repeatsLast: true,
    returnsValue: true,
    group: .data
  )

  var fd: DescriptorRef
  var length: Int?
  var flags: [String]
}

extension SendToCommand {
  func cutShort(to count: Int) -> (any ShellCommand)? {
    guard let prefix = data.prefix(count) else { return nil }
    var command = self
    command.data = prefix
    return command
  }

  static var syscalls: [Syscall] { [.sendto] }
  static var capabilities: Capabilities { [.syscall, .blocks, .readsFiles, .namesAddress] }
  var effects: Capabilities { data.readsFile ? Self.capabilities : Self.capabilities.subtracting(.readsFiles) }
  var namedAddresses: [AddressSpec] { [address] }

  func exportC(_ writer: inout CExport) -> [String] {
    let bytes = Export.cData(data)
    guard let statement = writer.address(address) else { return ["  /* skipped */"] }
    return bytes.prepare.map { "  " + $0 } + ["  " + statement]
      + writer.check(
        "sendto",
        "sendto(\(writer.fd(fd)), \(bytes.pointer), \(bytes.count), \(Export.cFlags(flags, Transfer.sendFlags)), (struct sockaddr *)&addr, len)"
      ) + bytes.release.map { "  " + $0 }
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    guard let target = writer.address(address) else { return [] }
    return writer.check(
      "sendto",
      "\(writer.fd(fd)).sendto(\(Export.pyData(data)), \(Export.pyFlags(flags, Transfer.sendFlags)), \(target))")
  }
}

extension Syscall {
  static let sendto = Syscall("sendto", drawnInTimeline: true, carries: .outgoing)
  static let recvfrom = Syscall("recvfrom", drawnInTimeline: true, carries: .incoming)
}
