import SocketLayer

/// `listen FD [BACKLOG]`: listen(2).
struct ListenCommand: ShellCommand {
  static let defaultBacklog: Int32 = 5

  static let spec = CommandSpec(
    name: "listen",
    synopsis: "listen FD [BACKLOG]",
    summary: "make a stream socket wait for connections (default backlog 5)",
    prototype: "int listen(int sockfd, int backlog);",
    example: "listen srv 5",
    manPage: "listen(2)",
    details: [
      "The backlog is the queue of finished handshakes that accept has not taken yet, not a limit on clients.",
      "A socket that was never bound gets a free port from the kernel.",
    ],
    completion: [.descriptor, .nothing],
    returnsValue: true
  )

  var fd: DescriptorRef
  var backlog: Int32?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    backlog = try arguments.optionalInteger("BACKLOG", in: -1...65535).map(Int32.init)
  }

  var arguments: [String] { [fd.description] + (backlog.map { ["\($0)"] } ?? []) }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    let queue = backlog ?? ListenCommand.defaultBacklog
    let wasBound = (try? Sys.getsockname(descriptor.fd).get()).map { $0.port != 0 && $0 != .unnamed } ?? false
    let result = Sys.listen(descriptor.fd, backlog: queue)
    let outcome = session.report(
      .listen, fd: descriptor.fd, [.number(Int(descriptor.fd)), .number(Int(queue))], result.map { 0 },
      context: ErrorContext(call: .listen, descriptor: descriptor))
    guard case .success = result else { return outcome }
    // The report read the address the kernel bound it to.
    let local = session.lastCall?.local?.description ?? "?"
    if !wasBound {
      session.note("fd \(descriptor.label) was not bound, so the kernel bound it to \(local).")
    }
    // The backlog the kernel kept (clamped to net.core.somaxconn; TCP_INFO shows it for TCP), and
    // the queue is full only when it holds more than that: one more connection fits.
    let somaxconn = ListenCommand.somaxconn()
    let kept =
      descriptor.family != .unix && descriptor.type == .stream
      ? (try? Sys.tcpInfo(descriptor.fd).get()).map { Int($0.sacked) }
      : somaxconn.map { queue < 0 ? $0 : min(Int(queue), $0) }
    if let kept {
      let clamped =
        kept != Int(queue) ? " (\(queue) asked, \(kept) kept: net.core.somaxconn is \(somaxconn ?? kept))" : ""
      session.note(
        "fd \(descriptor.label) is LISTENING on \(local) with backlog \(kept)\(clamped): up to \(kept + 1) finished connections can wait in its accept queue (Linux lets one more than the backlog in)."
      )
    } else {
      session.note("fd \(descriptor.label) is LISTENING on \(local): finished connections wait in its accept queue.")
    }
    session.note(
      "Next: accept \(descriptor.name ?? String(descriptor.fd)), to take the first connection from the queue.")
    return outcome
  }
}

extension ListenCommand {
  static var syscalls: [Syscall] { [.listen] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    writer.check("listen", "listen(\(writer.fd(fd)), \(backlog ?? ListenCommand.defaultBacklog))")
  }

  /// net.core.somaxconn, the most any backlog can be (nil when /proc cannot be read).
  static func somaxconn() -> Int? {
    guard case .success(let bytes) = Transfer.readFile("/proc/sys/net/core/somaxconn", limit: 64) else { return nil }
    return Int(String(decoding: bytes.filter { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self))
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    writer.check("listen", "\(writer.fd(fd)).listen(\(backlog ?? ListenCommand.defaultBacklog))")
  }
}

extension Syscall {
  static let listen = Syscall("listen", drawnInTimeline: true)

}
