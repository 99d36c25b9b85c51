#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `accept FD`: accept(2).
struct AcceptCommand: DescriptorCommand {
  static let spec = CommandSpec(
    name: "accept",
    synopsis: "accept FD",
    summary: "take the next connection from a listener's queue (waits when it is empty)",
    prototype: "int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen);",
    example: "conn = accept srv",
    manPage: "accept(2)",
    details: [
      "accept returns a NEW descriptor for the connection; the listening one keeps listening and never carries data."
    ],
    completion: [.descriptor],
    createsDescriptor: true,
    returnsValue: true
  )

  var fd: DescriptorRef

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let listener = try session.descriptor(fd)
    let local = try? Sys.getsockname(listener.fd).get()
    let hint = local.flatMap { AcceptCommand.clientHint(for: $0) }
    let result = session.blocking(
      fd: listener.fd, events: Int16(POLLIN),
      waitingFor: "a connection on \(local?.description ?? "fd \(listener.fd)")",
      hint: hint,
      canWait: Sys.isListening(listener.fd)
    ) { Sys.accept(listener.fd) }
    let peer = try? result.get().peer
    let outcome = session.report(
      .accept, fd: listener.fd,
      [.number(Int(listener.fd))]
        + (peer.map { [.address($0), .writtenLength(Int($0.length))] } ?? [.unfilled, .symbol("[128]")]),
      result.map { Int($0.fd) }, address: peer, name: context.name, subject: (try? result.get())?.fd,
      context: ErrorContext(call: .accept, descriptor: listener))
    guard case .success(let accepted) = result else { return outcome }
    session.register(
      fd: accepted.fd, family: listener.family, type: listener.type, name: context.name,
      origin: "accept \(listener.fd)")
    let from = accepted.peer.map { $0 == .unnamed ? "an unnamed Unix socket" : $0.description } ?? "?"
    session.note("fd \(accepted.fd) is a new socket for the connection from \(from).")
    session.note("fd \(listener.label) keeps listening for more; send and recv go through fd \(accepted.fd).")
    return outcome
  }

  /// A command to try in another terminal to connect here.
  static func clientHint(for local: SocketAddress) -> String? {
    switch local {
    case .ipv4(_, let port):
      return "try 'nc \(local.isWildcard ? "127.0.0.1" : local.host) \(port)' in another terminal"
    case .ipv6(_, let port, _):
      return "try 'nc \(local.isWildcard ? "::1" : local.host) \(port)' in another terminal"
    case .unix:
      return "try 'nc -U \(local.host)' in another terminal"
    default:
      return nil
    }
  }
}

extension AcceptCommand {
  static var syscalls: [Syscall] { [.accept] }
  static var capabilities: Capabilities { [.syscall, .blocks] }
  var waitsOn: DescriptorRef? { fd }

  func exportC(_ writer: inout CExport) -> [String] {
    ["  len = sizeof addr;"]
      + writer.create("accept", "accept(\(writer.fd(fd)), (struct sockaddr *)&addr, &len)", showPeer: true)
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    writer.create("accept", writer.fd(fd), helper: "accepted")
  }
}

extension Syscall {
  static let accept = Syscall("accept", drawnInTimeline: true)
}
