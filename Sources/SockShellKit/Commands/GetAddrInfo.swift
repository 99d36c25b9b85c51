#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `getaddrinfo HOST [PORT] [tcp|udp] [ipv4|ipv6]`: getaddrinfo(3), the list as a C program
/// walks it.
struct GetAddrInfoCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "getaddrinfo",
    synopsis: "getaddrinfo HOST [PORT] [tcp|udp] [ipv4|ipv6]",
    summary: "look a name up as a C program does: the list getaddrinfo returns, each entry's family, type and address",
    prototype:
      "int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res);",
    example: "getaddrinfo localhost 8080 tcp",
    manPage: "getaddrinfo(3)",
    details: [
      "With no type or family the hints are AF_UNSPEC and 0: one entry for each family, type and protocol the name has.",
      "A program tries the entries in order (socket, then connect or bind) until one works.",
    ],
    completion: [.words(["tcp", "udp", "ipv4", "ipv6"])],
    returnsValue: true,
    group: .options
  )

  var host: String
  var port: UInt16?
  var type: SocketType?
  var family: SocketFamily?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    let token = try arguments.next("HOST (a name such as localhost, or a numeric address)")
    guard String(validating: token.bytes, as: UTF8.self) != nil, !token.bytes.isEmpty, token.bytes.count <= 253,
      !token.bytes.contains(where: { $0 < 0x21 || $0 == 0x7F })
    else {
      throw arguments.error("'\(token.shown)' is not a host name or address", at: token)
    }
    host = token.text
    while let next = arguments.peek {
      switch next.text.lowercased() {
      case "tcp", "stream": type = .stream
      case "udp", "dgram": type = .datagram
      case "ipv4", "inet": family = .ipv4
      case "ipv6", "inet6": family = .ipv6
      default:
        guard port == nil, let number = UInt16(next.text) else {
          throw arguments.error("'\(next.shown)' is not a port, tcp, udp, ipv4 or ipv6", at: next)
        }
        port = number
      }
      arguments.index += 1
    }
  }

  var arguments: [String] {
    [Lexer.quote(Array(host.utf8))] + (port.map { ["\($0)"] } ?? [])
      + (type.map { [$0 == .stream ? "tcp" : "udp"] } ?? []) + (family.map { [$0 == .ipv6 ? "ipv6" : "ipv4"] } ?? [])
  }

  /// The name is an address to the policy of lines from elsewhere: a lesson may look up
  /// localhost and numeric loopback addresses, nothing else.
  var namedAddresses: [AddressSpec] {
    let word = host.contains(":") ? "[\(host)]:\(port ?? 0)" : "\(host):\(port ?? 0)"
    return (try? AddressSpec(word: word, column: 0)).map { [$0] } ?? [.host(host, port: port ?? 0)]
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let hints =
      "{ai_family=\(family?.cName ?? "AF_UNSPEC"), ai_socktype=\(type?.cName ?? "0")}"
    let arguments: [CallArgument] = [
      .value(ByteText.quoted(Array(host.utf8))), .value(port.map { "\"\($0)\"" } ?? "NULL"), .value(hints),
      .value("&res"),
    ]
    switch SocketAddress.lookup(host: host, service: port.map(String.init), family: family, type: type) {
    case .failure(let error):
      _ = arguments
      throw CommandRefusal("getaddrinfo(\(ByteText.quoted(Array(host.utf8))), ...) fails: \(error.message)")
    case .success(let entries):
      let outcome = session.report(Syscall.getaddrinfo, fd: nil, arguments, .success(entries.count))
      var rows = [["#", "ai_family", "ai_socktype", "ai_protocol", "ai_addr"]]
      for (index, entry) in entries.enumerated() {
        rows.append([
          "\(index + 1)", entry.family.cName, entry.typeCName, entry.protocolCName,
          entry.address.cDescription,
        ])
      }
      session.out.table(rows, indent: "  ", fit: .stack(4...4))
      let families = Set(entries.map(\.family))
      session.note(
        "\(entries.count) entr\(entries.count == 1 ? "y" : "ies"), in the order a program tries them"
          + (families.count > 1
            ? ": both IPv6 and IPv4, so a client that takes only the first may reach the other family's server or none"
            : "."))
      return outcome
    }
  }
}

extension GetAddrInfoCommand {
  static var syscalls: [Syscall] { [.getaddrinfo] }
  static var capabilities: Capabilities { [.syscall, .namesAddress] }
}

extension Syscall {
  static let getaddrinfo = Syscall("getaddrinfo")
}
