#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `nonblock FD [on|off]`: fcntl(2) with O_NONBLOCK.
struct NonBlockCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "nonblock",
    synopsis: "nonblock FD [on|off]",
    summary: "show or set O_NONBLOCK: calls that would wait fail with EAGAIN instead",
    prototype: "int fcntl(int fd, int cmd, ... /* int flags */);",
    example: "nonblock c on",
    manPage: "fcntl(2)",
    completion: [.descriptor, .words(["on", "off"])],
    returnsValue: true,
    group: .options
  )

  var fd: DescriptorRef
  var on: Bool?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    if let token = arguments.peek {
      guard let value = OptionWords.flag(token.text) else {
        throw arguments.error("'\(token.shown)' is not on or off", at: token)
      }
      on = value
      arguments.index += 1
    }
  }

  var arguments: [String] { [fd.description] + (on.map { [$0 ? "on" : "off"] } ?? []) }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    guard let on else {
      let result = Sys.fileFlags(descriptor.fd)
      // As strace shows it: the flags are the return value.
      let shown = (try? result.get()).map { "0x" + String($0, radix: 16) + " (flags \(Sys.flagNames($0)))" }
      let outcome = session.report(
        .fcntl, fd: descriptor.fd, [.number(Int(descriptor.fd)), .symbol("F_GETFL")], result.map { Int($0) },
        shownResult: shown)
      if case .success(let flags) = result {
        let nonBlocking = flags & O_NONBLOCK != 0
        session.note(
          nonBlocking
            ? "fd \(descriptor.label) is non-blocking: calls that would wait return EAGAIN (connect: EINPROGRESS)."
            : "fd \(descriptor.label) is blocking: accept, connect and recv wait until they can finish.")
      }
      return outcome
    }
    let written = (try? Sys.fileFlags(descriptor.fd).get()).map { on ? $0 | O_NONBLOCK : $0 & ~O_NONBLOCK }
    let result = Sys.setNonBlocking(descriptor.fd, on)
    let outcome = session.report(
      .fcntl, fd: descriptor.fd,
      [
        .number(Int(descriptor.fd)), .symbol("F_SETFL"),
        .symbol(Sys.flagNames((try? result.get()) ?? written ?? (on ? O_RDWR | O_NONBLOCK : O_RDWR))),
      ],
      result.map { _ in 0 })
    guard case .success = result else { return outcome }
    session.note(
      on
        ? "fd \(descriptor.label) is non-blocking now: a call that would wait fails at once with EAGAIN (connect: EINPROGRESS)."
        : "fd \(descriptor.label) is blocking again: calls wait until they can finish.")
    return outcome
  }
}

extension NonBlockCommand {
  static var syscalls: [Syscall] { [.fcntl] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    let variable = writer.fd(fd)
    guard let on else { return writer.check("fcntl", "fcntl(\(variable), F_GETFL)") }
    return writer.check(
      "fcntl",
      "fcntl(\(variable), F_SETFL, \(on ? "fcntl(\(variable), F_GETFL) | O_NONBLOCK" : "fcntl(\(variable), F_GETFL) & ~O_NONBLOCK"))"
    )
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    guard let on else { return [] }
    return writer.check("fcntl", "\(writer.fd(fd)).setblocking(\(on ? "False" : "True"))")
  }
}

extension Syscall {
  static let fcntl = Syscall("fcntl")
}
