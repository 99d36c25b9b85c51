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
    session.note(
      "fd \(descriptor.label) is LISTENING on \(local): up to \(queue) finished connections can wait in its accept queue."
    )
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

  func exportPython(_ writer: inout PythonExport) -> [String] {
    writer.check("listen", "\(writer.fd(fd)).listen(\(backlog ?? ListenCommand.defaultBacklog))")
  }
}

extension Syscall {
  static let listen = Syscall("listen", drawnInTimeline: true)
}
