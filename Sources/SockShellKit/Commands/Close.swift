#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `close FD`: close(2).
struct CloseCommand: DescriptorCommand {
  static let spec = CommandSpec(
    name: "close",
    synopsis: "close FD",
    summary: "close a descriptor (for a connection: send FIN, or RST when unread data waits)",
    prototype: "int close(int fd);",
    example: "close conn",
    manPage: "close(2)",
    details: ["After close the number is free: the next socket may get it again."],
    completion: [.descriptor],
    returnsValue: true
  )

  var fd: DescriptorRef

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    // Only what close needs to explain itself: a full snapshot reads every option.
    let isTCP = descriptor.type == .stream && descriptor.family != .unix
    let info = isTCP ? try? Sys.tcpInfo(descriptor.fd).get() : nil
    let before = (
      local: try? Sys.getsockname(descriptor.fd).get(), peer: try? Sys.getpeername(descriptor.fd).get(),
      tcpState: info?.state
    )
    // A listener's TCP_INFO counts the connections waiting for accept (as ss's Recv-Q).
    let waiting = info?.state == .listen ? Int(info?.unacked ?? 0) : 0
    let unread = descriptor.type == .stream ? (try? Sys.queueSize(descriptor.fd, outgoing: false).get()) ?? 0 : 0
    // SO_LINGER on with 0 seconds: close aborts the connection with a reset, whatever is unread.
    let abortive =
      isTCP
      && SocketOption.named("linger").map { option in
        if case .success(.linger(true, 0)) = option.get(descriptor.fd) { return true }
        return false
      } == true
    let lastPeer = session.lastPeer(of: descriptor.fd)
    let result = Sys.close(descriptor.fd)
    let outcome = session.report(
      .close, fd: descriptor.fd, [.number(Int(descriptor.fd))], result.map { 0 },
      context: ErrorContext(call: .close, descriptor: descriptor), endpoints: (before.local, before.peer),
      reset: (unread > 0 || abortive) && before.peer != nil)
    // close releases the descriptor even when it reports an error (close(2), NOTES).
    session.forget(descriptor.fd)
    guard case .success = result else { return outcome }
    if let local = before.local, let peer = before.peer ?? lastPeer, before.tcpState != nil, before.tcpState != .listen
    {
      session.rememberClosed(ClosedConnection(local: local, peer: peer, label: descriptor.label))
    }
    session.note("fd \(descriptor.label) is closed; the number \(descriptor.fd) is free again.")
    if abortive && before.peer != nil && before.tcpState != .listen {
      // A peer that had this side's FIN already is in CLOSE_WAIT: a reset there reads as EPIPE.
      let peerHadFIN = before.tcpState == .finWait1 || before.tcpState == .finWait2
      session.note(
        "SO_LINGER is on with 0 seconds, so the kernel aborted the connection with a reset (RST) instead of a FIN, and no TIME_WAIT is left: "
          + (peerHadFIN
            ? "the peer, which had your FIN already, reads 0 and its next send fails with EPIPE."
            : "the peer gets ECONNRESET."))
      return outcome
    }
    switch before.tcpState {
    case .established?, .closeWait?:
      if unread > 0 {
        session.note(
          "\(unread == 1 ? "1 byte was" : "\(unread) bytes were") still unread, so the kernel reset the connection (RST) instead of closing it: the peer gets ECONNRESET."
        )
      } else if before.tcpState == .closeWait {
        session.note("The peer had closed first; your FIN now ends the connection on both sides.")
      } else {
        session.note(
          "The kernel sends FIN: the peer's recv returns 0. Having closed first, this side waits for the peer's FIN (FIN_WAIT2), then keeps TIME_WAIT for 60 s: ls lists both."
        )
      }
    case .listen?:
      session.note(
        waiting > 0
          ? "The \(counted(waiting, "connection")) still waiting in its accept queue \(waiting == 1 ? "was" : "were") reset (RST): their clients get ECONNRESET."
          : "Nothing waited in its accept queue. A connect to its port is refused now (ECONNREFUSED).")
    default:
      break
    }
    return outcome
  }
}

/// `shutdown FD read|write|both`: shutdown(2).
struct ShutdownCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "shutdown",
    synopsis: "shutdown FD read|write|both",
    summary: "close one direction of a connection (write: send FIN but keep reading)",
    prototype: "int shutdown(int sockfd, int how);",
    example: "shutdown c write",
    manPage: "shutdown(2)",
    details: ["shutdown write is the half-close: the peer sees end of stream while you can still read its answer."],
    completion: [.descriptor, .words(ShutdownHow.allCases.map(\.rawValue))],
    returnsValue: true
  )

  var fd: DescriptorRef
  var how: ShutdownHow

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    let token = try arguments.next("how (read, write or both)")
    switch token.text.lowercased() {
    case "read", "rd", "shut_rd", "r": how = .read
    case "write", "wr", "shut_wr", "w": how = .write
    case "both", "rdwr", "shut_rdwr", "rw": how = .both
    default: throw arguments.error("'\(token.shown)' is not a direction: choose read, write or both", at: token)
    }
  }

  var arguments: [String] { [fd.description, how.rawValue] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    var descriptor = try session.descriptor(fd)
    let isTCP = descriptor.family != .unix && descriptor.type == .stream
    let infoBefore = isTCP ? try? Sys.tcpInfo(descriptor.fd).get() : nil
    let stateBefore = infoBefore?.state
    let waiting = stateBefore == .listen ? Int(infoBefore?.unacked ?? 0) : 0
    let connected = (try? Sys.getpeername(descriptor.fd).get()) != nil
    let result = Sys.shutdown(descriptor.fd, how)
    let outcome = session.report(
      .shutdown, fd: descriptor.fd, [.number(Int(descriptor.fd)), .symbol(how.cName)], result.map { 0 }, how: how,
      context: ErrorContext(call: .shutdown, descriptor: descriptor))
    if case .failure(let errno) = result {
      // Linux answers ENOTCONN for an IP socket with no connection (a UDP socket not connected,
      // a TCP socket in CLOSED), yet marks it shut all the same.
      if errno.code == ENOTCONN && descriptor.family != .unix {
        if how != .write { descriptor.shutRead = true }
        if how != .read { descriptor.shutWrite = true }
        session.update(descriptor)
        session.note(
          "Linux marks fd \(descriptor.label) shut all the same: "
            + (how == .write ? "send now fails with EPIPE." : "recv now returns 0 at once, whatever arrives."))
      }
      return outcome
    }
    let wasShutWrite = descriptor.shutWrite
    let stateAfter = isTCP ? (try? Sys.tcpInfo(descriptor.fd).get())?.state : nil
    if how != .write { descriptor.shutRead = true }
    if how != .read { descriptor.shutWrite = true }
    session.update(descriptor)
    if stateBefore == .listen && how != .write {
      // inet_shutdown disconnects a listener when reading is shut: it stops listening.
      session.note(
        "Shutting down reading on a listener stops it: fd \(descriptor.label) is \(stateAfter?.name ?? "?") now"
          + (waiting > 0
            ? ", and the \(counted(waiting, "connection")) waiting in its accept queue \(waiting == 1 ? "was" : "were") reset."
            : "; nothing waited in its accept queue.")
      )
      return outcome
    }
    if stateBefore == .listen {
      session.note("Nothing happened: a listener has nothing to send, so shutting down writing leaves it listening.")
      return outcome
    }
    switch how {
    case .write where wasShutWrite:
      session.note(
        "fd \(descriptor.label) was shut for writing already: no second FIN was sent (a connection has one).")
    case .write where isTCP && stateBefore != .established && stateBefore != .closeWait:
      session.note(
        "No FIN was sent: fd \(descriptor.label) has no connection to end (state \(stateBefore?.name ?? "?")). Only send fails from now on."
      )
    case .write where !isTCP && !connected:
      session.note("fd \(descriptor.label) is not connected: nothing to end. Only send fails from now on.")
    case .write where descriptor.type == .datagram && descriptor.family != .unix:
      session.note(
        "Nothing is sent: UDP has no end of stream to tell the peer. Only send on fd \(descriptor.label) fails from now on (EPIPE)."
      )
    case .write:
      session.note(
        isTCP
          ? "fd \(descriptor.label) sent FIN: the peer's recv returns 0 once it has read everything."
          : "fd \(descriptor.label) will send no more: the peer's recv returns 0 once it has read everything (no packet: the kernel tells the peer's socket itself)."
      )
      session.note("You can still recv its answer; send now fails with EPIPE.")
    case .read:
      session.note(
        "fd \(descriptor.label) will read no more; nothing is sent to the peer (Linux still queues what arrives).")
    case .both:
      session.note("fd \(descriptor.label) neither sends nor reads any more; the descriptor stays open until close.")
    }
    return outcome
  }
}

extension CloseCommand {
  static var syscalls: [Syscall] { [.close] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    let variable = writer.fd(fd)
    writer.variables.forget(fd)
    return writer.check("close", "close(\(variable))")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    let variable = writer.fd(fd)
    writer.variables.forget(fd)
    return writer.check("close", "\(variable).close()")
  }
}

extension ShutdownCommand {
  static var syscalls: [Syscall] { [.shutdown] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    writer.check("shutdown", "shutdown(\(writer.fd(fd)), \(how.cName))")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    writer.check("shutdown", "\(writer.fd(fd)).shutdown(socket.\(how.cName))")
  }
}

extension Syscall {
  static let close = Syscall("close", drawnInTimeline: true)
  static let shutdown = Syscall("shutdown", drawnInTimeline: true)
}
