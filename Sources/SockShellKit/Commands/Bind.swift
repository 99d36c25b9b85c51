#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `bind FD ADDR`: bind(2).
struct BindCommand: DescriptorAddressCommand {
  static let spec = CommandSpec(
    name: "bind",
    synopsis: "bind FD ADDR",
    summary: "give a socket its local address (IP and port, or a path)",
    prototype: "int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);",
    example: "bind srv 127.0.0.1:8080",
    manPage: "bind(2)",
    details: [
      "Port 0 asks the kernel for a free port; getsockname shows which.",
      "127.0.0.1 accepts connections from this machine only; *:PORT (0.0.0.0) from every address it has.",
    ],
    completion: [.descriptor, .address],
    returnsValue: true
  )

  var fd: DescriptorRef
  var address: AddressSpec

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let (descriptor, target) = try resolve(session, purpose: .bind)
    let result = Sys.bind(descriptor.fd, target)
    let outcome = report(.bind, session, descriptor, target, result.map { 0 })
    guard case .success = result else { return outcome }
    var marked = descriptor
    marked.bound = true
    session.update(marked)
    // The report read the address the kernel gave (the port it picked for port 0).
    let bound = session.lastCall?.local ?? target
    if target.port == 0 {
      session.note("The kernel picked port \(bound.port ?? 0): fd \(descriptor.label) is bound to \(bound).")
    } else {
      session.note("fd \(descriptor.label) is bound to \(bound).")
    }
    if let port = bound.port, port > 0, port < 1024, bound.family != .unix {
      session.note(
        Sandbox.entered
          ? "Port \(port) is privileged: you may bind it because the sandbox makes you root of its own namespace."
          : getuid() == 0
            ? "Port \(port) is privileged (below 1024): you may bind it because you are root."
            : "Port \(port) is privileged (below 1024): this program has CAP_NET_BIND_SERVICE, or the limit was lowered (net.ipv4.ip_unprivileged_port_start)."
      )
    }
    if bound.isWildcard {
      session.note("\(bound.host) means every address of this machine: clients may come from anywhere.")
    } else if bound.host == "127.0.0.1" || bound.host == "::1" {
      session.note(
        Sandbox.entered
          ? "That is loopback: only programs in this sandbox (its network namespace) can reach it."
          : "That is loopback: only programs on this machine can reach it.")
    }
    if descriptor.type == .stream && descriptor.family != .unix
      || descriptor.family == .unix && descriptor.type == .stream
    {
      session.note("Next: listen, to accept connections there.")
    }
    return outcome
  }
}

extension BindCommand {
  static var syscalls: [Syscall] { [.bind] }
  static var capabilities: Capabilities { [.syscall, .namesAddress] }

  func exportC(_ writer: inout CExport) -> [String] {
    guard let statement = writer.address(address) else { return ["  /* skipped */"] }
    // The path did not exist when the session bound it: the program needs the same state (it
    // says so rather than remove a file the session never removed).
    var prepare: [String] = []
    if case .unixPath(let path) = address, case .returned = writer.entry.outcome {
      prepare = ["  expect_no_file(\(Export.cString(Array(path.utf8))));"]
    }
    return prepare + ["  " + statement] + writer.check("bind", "bind(\(writer.fd(fd)), (struct sockaddr *)&addr, len)")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    guard let target = writer.address(address) else { return [] }
    var prepare: [String] = []
    if case .unixPath(let path) = address, case .returned = writer.entry.outcome {
      prepare = ["    expect_no_file(\(Export.pyBytes(Array(path.utf8))))"]
    }
    return prepare + writer.check("bind", "\(writer.fd(fd)).bind(\(target))")
  }
}

extension Syscall {
  static let bind = Syscall("bind", drawnInTimeline: true)
}
