import SocketLayer

/// `socket [tcp|udp|stream|dgram] [ipv4|ipv6|unix]`: socket(2).
struct SocketCommand: ShellCommand {
  static let typeWords = ["tcp", "udp", "stream", "dgram"]
  static let familyWords = ["ipv4", "ipv6", "unix"]

  static let spec = CommandSpec(
    name: "socket",
    synopsis: "socket [tcp|udp|stream|dgram] [ipv4|ipv6|unix]",
    summary: "make a new socket (default: TCP over IPv4)",
    prototype: "int socket(int domain, int type, int protocol);",
    example: "srv = socket tcp",
    manPage: "socket(2)",
    details: [
      "Name the new descriptor with NAME = socket ...; later commands may use the name or the number.",
      "The C spellings work too: socket AF_INET6 SOCK_DGRAM.",
    ],
    completion: [.words(typeWords + familyWords), .words(typeWords + familyWords)],
    createsDescriptor: true,
    returnsValue: true
  )

  var family: SocketFamily = .ipv4
  var type: SocketType = .stream

  init(family: SocketFamily, type: SocketType) {
    self.family = family
    self.type = type
  }

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    var sawType = false
    var sawFamily = false
    while let token = arguments.peek {
      let word = token.text.lowercased()
      switch word {
      case "tcp", "stream", "sock_stream", "ipproto_tcp":
        guard !sawType || type == .stream else { throw arguments.error("choose one type: tcp or udp", at: token) }
        type = .stream
        sawType = true
      case "udp", "dgram", "datagram", "sock_dgram", "ipproto_udp":
        guard !sawType || type == .datagram else { throw arguments.error("choose one type: tcp or udp", at: token) }
        type = .datagram
        sawType = true
      case "ipv4", "inet", "af_inet", "ip", "4":
        guard !sawFamily || family == .ipv4 else { throw arguments.error("choose one family", at: token) }
        family = .ipv4
        sawFamily = true
      case "ipv6", "inet6", "af_inet6", "6":
        guard !sawFamily || family == .ipv6 else { throw arguments.error("choose one family", at: token) }
        family = .ipv6
        sawFamily = true
      case "unix", "local", "af_unix", "af_local":
        guard !sawFamily || family == .unix else { throw arguments.error("choose one family", at: token) }
        family = .unix
        sawFamily = true
      default:
        throw arguments.error(
          "'\(token.shown)' is neither a type (tcp, udp, stream, dgram) nor a family (ipv4, ipv6, unix)", at: token)
      }
      arguments.index += 1
    }
  }

  var arguments: [String] {
    let typeWord = family == .unix ? (type == .stream ? "stream" : "dgram") : (type == .stream ? "tcp" : "udp")
    return [typeWord, family.rawValue]
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let result = Sys.socket(family, type)
    if case .success(let fd) = result {
      session.register(fd: fd, family: family, type: type, name: context.name, origin: "socket")
    }
    let outcome = session.report(
      .socket, fd: try? result.get(),
      [.symbol(family.cName), .symbol(type.cName), .symbol(type.protocolCName(in: family))], result.map(Int.init),
      name: context.name, endpoints: (nil, nil))
    guard case .success(let fd) = result else { return outcome }
    let what = "\(type.displayName(in: family)) socket for \(family.displayName)"
    if type == .stream {
      session.note("fd \(fd) is a new \(what), with no address and no connection yet (state CLOSED).")
      session.note("Next: bind and listen to be a server, or connect to be a client.")
    } else {
      session.note("fd \(fd) is a new \(what): no connection to make, datagrams go with sendto and recvfrom.")
      session.note("Next: bind it to receive on a known port, or sendto right away.")
    }
    return outcome
  }
}

extension SocketCommand {
  static var syscalls: [Syscall] { [.socket] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    writer.create("socket", "socket(\(family.cName), \(type.cName), \(type.protocolCName(in: family)))")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    writer.create("socket", "socket.socket(socket.\(family.cName), socket.\(type.cName))")
  }
}

extension Syscall {
  static let socket = Syscall("socket", drawnInTimeline: true)
}
