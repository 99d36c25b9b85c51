#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `poll FD... [--timeout MS]`: poll(2).
struct PollCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "poll",
    synopsis: "poll FD... [--in|--out] [--timeout MS]",
    summary: "which descriptors are ready: readable, writable, hung up, in error (default: look now, timeout 0)",
    prototype: "int poll(struct pollfd *fds, nfds_t nfds, int timeout);",
    example: "poll srv c --timeout 1000",
    manPage: "poll(2)",
    details: [
      "--timeout -1 waits until one is ready (Ctrl-C stops it).",
      "By default poll asks for POLLIN|POLLOUT|POLLPRI|POLLRDHUP; --in asks only for reading (POLLIN|POLLPRI|POLLRDHUP), --out only for writing (POLLOUT): a connected socket is nearly always writable, so a server that waits for data polls --in.",
    ],
    completion: [.descriptor],
    repeatsLast: true,
    returnsValue: true,
    group: .options
  )

  static let pollRDHUP: Int16 = 0x2000
  static let requested = Int16(POLLIN) | Int16(POLLOUT) | Int16(POLLPRI) | pollRDHUP

  var fds: [DescriptorRef] = []
  var timeout: Int32 = 0
  /// `--in` or `--out`: the events asked for; nil for all of them.
  var only: String?

  /// The events asked for, as a number and as C writes them.
  var events: Int16 {
    switch only {
    case "--in": Int16(POLLIN) | Int16(POLLPRI) | PollCommand.pollRDHUP
    case "--out": Int16(POLLOUT)
    default: PollCommand.requested
    }
  }
  var eventsC: String {
    switch only {
    case "--in": "POLLIN | POLLPRI | POLLRDHUP"
    case "--out": "POLLOUT"
    default: "POLLIN | POLLOUT | POLLPRI | POLLRDHUP"
    }
  }

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    while let token = arguments.peek {
      if token.isBare && token.text == "--timeout" {
        arguments.index += 1
        timeout = Int32(try arguments.integer("timeout in milliseconds", in: -1...86_400_000))
        continue
      }
      if token.isBare && (token.text == "--in" || token.text == "--out") {
        guard only == nil || only == token.text else {
          throw arguments.error("give --in or --out, not both", at: token)
        }
        only = token.text
        arguments.index += 1
        continue
      }
      fds.append(try arguments.descriptor())
    }
    if fds.isEmpty { throw arguments.error("missing FD: name at least one descriptor") }
  }

  var arguments: [String] {
    fds.map(\.description) + (only.map { [$0] } ?? []) + (timeout != 0 ? ["--timeout", "\(timeout)"] : [])
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    var descriptors: [Descriptor] = []
    for ref in fds {
      let descriptor = try session.descriptor(ref)
      descriptors.append(descriptor)
    }
    let numbers = descriptors.map(\.fd)
    // With a timeout, the wait goes through the event loop (a lesson's partner acts meanwhile).
    let result = session.blocking(
      fds: numbers, events: events, waitingFor: "a descriptor to become ready", canWait: timeout != 0,
      callTimeout: timeout < 0 ? nil : Double(timeout) / 1000
    ) { waited in Sys.poll(numbers, events: self.events, timeoutMilliseconds: waited ? 0 : self.timeout) }
    let shownEvents = eventsC.replacing(" ", with: "")
    let entries = numbers.map { "{fd=\($0), events=\(shownEvents)}" }.joined(separator: ", ")
    let ready = (try? result.get())?.filter { $0 != 0 }.count ?? 0
    let outcome = session.report(
      .poll, fd: nil, [.value("[\(entries)]"), .number(numbers.count), .number(Int(timeout))],
      result.map { _ in ready })
    guard case .success(let revents) = result else { return outcome }
    for (descriptor, events) in zip(descriptors, revents) {
      let names = PollCommand.names(events)
      session.out.line("  fd \(descriptor.label): \(names.isEmpty ? "nothing ready" : names.joined(separator: "|"))")
      for meaning in PollCommand.meanings(events, descriptor: descriptor) { session.note("    " + meaning) }
    }
    return outcome
  }

  static func names(_ events: Int16) -> [String] {
    let table: [(Int16, String)] = [
      (Int16(POLLIN), "POLLIN"), (Int16(POLLPRI), "POLLPRI"), (Int16(POLLOUT), "POLLOUT"), (pollRDHUP, "POLLRDHUP"),
      (Int16(POLLERR), "POLLERR"), (Int16(POLLHUP), "POLLHUP"), (Int16(POLLNVAL), "POLLNVAL"),
    ]
    return table.filter { events & $0.0 != 0 }.map(\.1)
  }

  static func meanings(_ events: Int16, descriptor: Descriptor) -> [String] {
    var lines: [String] = []
    let listening = Sys.isListening(descriptor.fd)
    if events & Int16(POLLIN) != 0 {
      lines.append(
        listening
          ? "POLLIN: a connection waits in the queue; accept will not block."
          : "POLLIN: recv will not block (data, or end of stream: recv returns 0).")
    }
    if events & Int16(POLLPRI) != 0 { lines.append("POLLPRI: urgent (out-of-band) data is waiting: recv with oob.") }
    if events & Int16(POLLOUT) != 0 { lines.append("POLLOUT: send will not block (room in the send buffer).") }
    if events & pollRDHUP != 0 {
      lines.append("POLLRDHUP: the peer shut down its writing side (or you shut down reading).")
    }
    if events & Int16(POLLERR) != 0 { lines.append("POLLERR: an error is pending: getsockopt FD error reads it.") }
    if events & Int16(POLLHUP) != 0 {
      lines.append("POLLHUP: hung up: both directions are closed, or the socket was never connected.")
    }
    return lines
  }
}

extension PollCommand {
  static var syscalls: [Syscall] { [.poll] }
  static var capabilities: Capabilities { [.syscall, .blocks] }

  func exportC(_ writer: inout CExport) -> [String] {
    let entries = fds.map { "{ \(writer.fd($0)), \(eventsC), 0 }" }.joined(separator: ", ")
    return ["  {", "    struct pollfd fds[] = { \(entries) };"]
      + writer.check(
        "poll",
        "poll(fds, \(fds.count), \(timeout < 0 ? "WAIT_LIMIT_SECONDS * 1000 /* the session waited for ever */" : "\(timeout)"))"
      ).map { "  " + $0 } + ["  }"]
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    writer.check(
      "poll",
      "poll_ready([\(fds.map(writer.fd).joined(separator: ", "))], \(timeout < 0 ? "WAIT_LIMIT_SECONDS * 1000" : "\(timeout)")"
        + (only == nil ? "" : ", \(eventsC.replacing("POLL", with: "select.POLL"))") + ")"
    )
  }
}

extension Syscall {
  static let poll = Syscall("poll")
}
