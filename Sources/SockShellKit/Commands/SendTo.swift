#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
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

  func run(_ context: CommandContext) -> CommandOutcome {
    let session = context.session
    guard case .success(let descriptor) = session.descriptor(fd) else { return .refused("unknown descriptor") }
    guard case .success(let target) = session.socketAddress(address, for: descriptor, purpose: .connect) else {
      return .refused("bad address")
    }
    let bytes: [UInt8]
    switch Transfer.bytes(data, session: session) {
    case .success(let read): bytes = read
    case .failure(let refusal): return .refused(refusal.message)
    }
    let (bits, flagText) = Transfer.flags(flags, table: Transfer.sendFlags)
    let result = session.blocking(
      fd: descriptor.fd, events: Int16(POLLOUT), waitingFor: "room in the send buffer"
    ) { Sys.sendto(descriptor.fd, bytes, flags: bits, to: target) }
    let outcome = session.report(
      .sendto, fd: descriptor.fd,
      [
        .number(Int(descriptor.fd)), .bytes(bytes), .number(bytes.count), .symbol(flagText), .address(target),
        .number(Int(target.length)),
      ], result, data: bytes, address: target,
      context: ErrorContext(call: .sendto, descriptor: descriptor, address: target))
    if case .success(let count) = result {
      Transfer.explainSent(count, of: bytes.count, descriptor: descriptor, session: session)
    }
    return outcome
  }
}

/// `recvfrom FD [LENGTH] [FLAGS]`: recvfrom(2).
struct RecvFromCommand: ReceiveCommand {
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

  func run(_ context: CommandContext) -> CommandOutcome {
    let session = context.session
    guard case .success(let descriptor) = session.descriptor(fd) else { return .refused("unknown descriptor") }
    let asked = length ?? Transfer.defaultLength
    let (bits, flagText) = Transfer.flags(flags, table: Transfer.recvFlags)
    let result = session.blocking(
      fd: descriptor.fd, events: Int16(POLLIN), waitingFor: "a datagram",
      canWait: Transfer.carriesData(descriptor) && !flags.contains("dontwait")
    ) { Sys.recvfrom(descriptor.fd, maxLength: asked, flags: bits) }
    let received = try? result.get()
    let from: [CallArgument] =
      received.map { got in
        got.from.map { [.address($0), .writtenLength(Int($0.length))] } ?? [.symbol("NULL"), .writtenLength(0)]
      }
      ?? [.unfilled, .unfilled]
    let outcome = session.report(
      .recvfrom, fd: descriptor.fd,
      [.number(Int(descriptor.fd)), received.map { .bytes($0.bytes) } ?? .unfilled, .number(asked), .symbol(flagText)]
        + from,
      result.map(\.count), data: received?.bytes ?? [], address: received?.from,
      context: ErrorContext(call: .recvfrom, descriptor: descriptor))
    if case .success(let received) = result {
      if let from = received.from, from != .unnamed {
        session.note("From \(from).")
      }
      Transfer.explainReceived(
        received.bytes, count: received.count, flags: flags, descriptor: descriptor, asked: asked, session: session)
    }
    return outcome
  }
}

extension SendToCommand {
  static var capabilities: Capabilities { [.syscall, .blocks, .readsFiles, .namesAddress] }

  func exportC(_ writer: inout CExport) -> [String] {
    let bytes = Export.cData(data)
    guard let statement = writer.address(address) else { return ["  /* skipped */"] }
    return bytes.prepare.map { "  " + $0 } + ["  " + statement]
      + writer.check(
        "sendto",
        "sendto(\(writer.fd(fd)), \(bytes.pointer), \(bytes.count), \(Export.cFlags(flags, Transfer.sendFlags)), (struct sockaddr *)&addr, len)"
      )
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    guard let target = writer.address(address) else { return [] }
    return writer.check(
      "sendto",
      "\(writer.fd(fd)).sendto(\(Export.pyData(data)), \(Export.pyFlags(flags, Transfer.sendFlags)), \(target))")
  }
}
