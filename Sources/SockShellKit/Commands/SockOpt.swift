#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `setsockopt FD OPTION VALUE`: setsockopt(2).
struct SetSockOptCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "setsockopt",
    synopsis: "setsockopt FD OPTION VALUE",
    summary: "change a socket option (reuseaddr, nodelay, rcvbuf, linger, rcvtimeo...)",
    prototype: "int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);",
    example: "setsockopt srv reuseaddr 1",
    manPage: "setsockopt(2), socket(7), tcp(7)",
    details: [
      "VALUE: 1/0 or on/off for flags; a number of bytes or seconds; linger: on SECONDS or off; rcvtimeo/sndtimeo: milliseconds.",
      "Multicast: multicast_if ADDRESS (IPv4: one of the interface's addresses) or INTERFACE (IPv6: lo, or an index); add_membership GROUP [INTERFACE] (and drop_membership); multicast_ttl, multicast_loop, multicast_all. Each name is IP_... on an IPv4 socket and IPV6_... on an IPv6 one.",
      "Options: "
        + SocketOption.names.filter { name in !SocketOption.all.contains { $0.name == name && $0.readOnly } }
        .joined(separator: ", "),
    ],
    completion: [.descriptor, .option, .optionValue],
    returnsValue: true,
    group: .options
  )

  var fd: DescriptorRef
  var option: SocketOption
  var value: OptionValue

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    option = try OptionWords.option(&arguments)
    if option.readOnly {
      throw arguments.error(
        "\(option.name) (\(option.cName)) can only be read: use getsockopt", at: arguments.tokens[arguments.index - 1])
    }
    value = try OptionWords.value(for: option, &arguments)
  }

  var arguments: [String] { [fd.description, option.name] + value.commandText.split(separator: " ").map(String.init) }

  /// A lesson's (or an instructor's) multicast stays on loopback: joining a group on another
  /// interface tells that network (an IGMP or MLD report), and datagrams to a group leave by the
  /// interface multicast_if names (sendto checks it again when it runs).
  var refusalFromElsewhere: String? {
    // In the sandbox every interface is its own (loopback, mc0, mc1): nothing leaves it.
    if Sandbox.entered { return nil }
    switch value {
    case .interface(let interface) where !interface.isLoopback:
      return "a lesson's multicast leaves by loopback only: multicast_if 127.0.0.1 (IPv4) or lo (IPv6)"
    case .membership(_, let interface) where !interface.isLoopback:
      return
        "a lesson joins groups on loopback only (127.0.0.1, or lo for IPv6): a join elsewhere is announced to that network"
    default:
      return nil
    }
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    let option = self.option.matching(descriptor.family)
    if let why = OptionWords.mismatch(value, option, descriptor) { throw CommandRefusal(why) }
    let result = option.set(descriptor.fd, value)
    let outcome = session.report(
      .setsockopt, fd: descriptor.fd,
      [
        .number(Int(descriptor.fd)), .symbol(option.levelName), .symbol(option.cName), .value(value.cDescription),
        .number(value.bytes.count),
      ], result.map { 0 }, context: ErrorContext(call: .setsockopt, descriptor: descriptor, option: option.name))
    guard case .success = result else { return outcome }
    session.note(OptionWords.setNote(option, value, descriptor))
    if option.name == "add_membership", case .membership(let group, let interface) = value,
      interface == .address([0, 0, 0, 0]) || interface == .index(0, name: nil)
    {
      let address: SocketAddress =
        group.count == 16 ? .ipv6(group, port: 9, scopeID: 0) : .ipv4(group, port: 9)
      MulticastWords.sayWhereItJoined(address, session: session)
    }
    if option.name == "reuseaddr" || option.name == "reuseport",
      let bound = try? Sys.getsockname(descriptor.fd).get(), bound.port.map({ $0 != 0 }) ?? false
    {
      session.note(
        option.name == "reuseaddr" && descriptor.type == .datagram
          ? "fd \(descriptor.label) is bound already: its own bind came before this, so it did not count there. It counts from now on for the next socket that binds this port with it set too."
          : option.name == "reuseaddr"
            ? "fd \(descriptor.label) is bound already: its own bind came before this, so it did not count there. It still counts for what the socket leaves behind (its connections' TIME_WAIT), and for a listener's connections accepted from now on."
            : "fd \(descriptor.label) is bound already: its own bind came before this, so it did not count there. Set it before bind on every socket that shares the port."
      )
    }
    return outcome
  }
}

/// `getsockopt FD [OPTION]`: getsockopt(2).
struct GetSockOptCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "getsockopt",
    synopsis: "getsockopt FD [OPTION]",
    summary: "read one socket option, or every option that applies",
    prototype: "int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);",
    example: "getsockopt srv rcvbuf",
    manPage: "getsockopt(2), socket(7), tcp(7)",
    details: ["getsockopt FD error reads (and clears) a pending error, such as a non-blocking connect's result."],
    completion: [.descriptor, .option],
    returnsValue: true,
    group: .options
  )

  var fd: DescriptorRef
  var option: SocketOption?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    option = arguments.isAtEnd ? nil : try OptionWords.option(&arguments)
    if let option, option.writeOnly {
      throw arguments.error(
        "\(option.name) can only be set: the kernel does not say which groups a socket joined (/proc/net/igmp and /proc/net/igmp6 list each interface's)",
        at: arguments.tokens[arguments.index - 1])
    }
  }

  var arguments: [String] { [fd.description] + (option.map { [$0.name] } ?? []) }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    guard let option = option?.matching(descriptor.family) else {
      session.out.line("Options of fd \(descriptor.label) (getsockopt each):", .heading)
      var rows = [["OPTION", "C NAME", "VALUE", "MEANING"]]
      for option in SocketOption.all
      where option.applies(family: descriptor.family, type: descriptor.type) && !option.writeOnly {
        let shown: String
        switch option.get(descriptor.fd) {
        case .success(let value): shown = OptionWords.describe(value, of: option)
        case .failure(let errno): shown = "-1 \(errno.name)"
        }
        rows.append([option.name, option.cName, shown, option.summary])
      }
      session.out.table(rows, indent: "  ", header: .plain, fit: .wrapLast)
      return .returned(0)
    }
    let result = option.get(descriptor.fd)
    let read = try? result.get()
    let outcome = session.report(
      .getsockopt, fd: descriptor.fd,
      [.number(Int(descriptor.fd)), .symbol(option.levelName), .symbol(option.cName)]
        + (read.map { [.value($0.cDescription), .writtenLength($0.bytes.count)] } ?? [.unfilled, .unfilled]),
      result.map { _ in 0 }, context: ErrorContext(call: .getsockopt, descriptor: descriptor))
    guard case .success(let value) = result else { return outcome }
    session.note("\(option.name) = \(OptionWords.describe(value, of: option)): \(option.summary).")
    if option.kind == .errno, case .integer(let code) = value, code != 0 {
      session.note("Reading it cleared it: ask again and it is 0.")
    }
    return outcome
  }
}

/// Parsing and showing option names and values.
enum OptionWords {
  static func option(_ arguments: inout ArgumentReader) throws(ParseError) -> SocketOption {
    let token = try arguments.next("OPTION (\(SocketOption.names.joined(separator: ", ")))")
    guard let option = SocketOption.named(token.text) else {
      let close = SocketOption.names.min {
        Registry.editDistance(token.text, $0) < Registry.editDistance(token.text, $1)
      }
      var message = "unknown option '\(token.shown)'"
      if let close, Registry.editDistance(token.text.lowercased(), close) <= 2 { message += ": did you mean \(close)?" }
      message += " Options: " + SocketOption.names.joined(separator: ", ")
      throw arguments.error(message, at: token)
    }
    return option
  }

  static func value(for option: SocketOption, _ arguments: inout ArgumentReader) throws(ParseError) -> OptionValue {
    switch option.kind {
    case .flag:
      let token = try arguments.next("VALUE (1 or 0)")
      guard let on = flag(token.text) else {
        throw arguments.error("\(option.name) takes 1 or 0 (on or off)", at: token)
      }
      return .integer(on ? 1 : 0)
    case .integer, .errno, .socketType:
      return .integer(Int32(try arguments.integer("value", in: 0...Int(Int32.max))))
    case .timeval:
      return .milliseconds(try arguments.integer("timeout in milliseconds", in: 0...86_400_000))
    case .linger:
      let token = try arguments.next("VALUE (on SECONDS, or off)")
      guard let on = flag(token.text) else {
        throw arguments.error("linger takes on SECONDS or off (on 0 resets the connection at close)", at: token)
      }
      if !on {
        if let seconds = try arguments.optionalInteger("seconds", in: 0...3600) { _ = seconds }
        return .linger(on: false, seconds: 0)
      }
      let seconds = try arguments.integer("SECONDS after on", in: 0...3600)
      return .linger(on: true, seconds: Int32(seconds))
    case .multicastInterface:
      return .interface(try interface(&arguments))
    case .membership:
      let token = try arguments.next("GROUP (a multicast address: 239.1.2.3, ff12::1:2:3)")
      guard token.isBare, let group = SocketAddress.numeric(token.text, port: 0) else {
        throw arguments.error(
          "'\(token.shown)' is not a group: give a multicast address (239.1.2.3 for IPv4, ff12::1:2:3 for IPv6)",
          at: token)
      }
      switch group {
      case .ipv4(let bytes, _):
        return .membership(
          group: bytes, interface: arguments.isAtEnd ? .address([0, 0, 0, 0]) : try interface(&arguments))
      case .ipv6(let bytes, _, _):
        return .membership(
          group: bytes, interface: arguments.isAtEnd ? .index(0, name: nil) : try interface(&arguments))
      default:
        throw arguments.error("'\(token.shown)' is not a group", at: token)
      }
    }
  }

  /// An interface: one of its IPv4 addresses (127.0.0.1), its name (lo) or its index (1).
  static func interface(_ arguments: inout ArgumentReader) throws(ParseError) -> OptionValue.Interface {
    let token = try arguments.next("INTERFACE (an address of it such as 127.0.0.1, or a name such as lo)")
    if token.isBare, case .ipv4(let bytes, _) = SocketAddress.numeric(token.text, port: 0) {
      return .address(bytes)
    }
    if token.isBare, let index = UInt32(token.text) { return .index(index, name: Interfaces.name(of: index)) }
    if token.isBare, let index = Interfaces.index(of: token.text) { return .index(index, name: token.text) }
    throw arguments.error(
      "'\(token.shown)' is not an interface here: give its name (lo: loopback), its index (ip link lists them), or for an IPv4 socket one of its addresses (127.0.0.1)",
      at: token)
  }

  /// Why `value` does not fit the option picked for this socket, or nil.
  static func mismatch(_ value: OptionValue, _ option: SocketOption, _ descriptor: Descriptor) -> String? {
    let ipv6 = option.level == Int32(IPPROTO_IPV6)
    switch value {
    case .interface(.address) where ipv6:
      return
        "fd \(descriptor.label) is IPv6: its multicast_if is an interface by name or index (lo, 1), not an IPv4 address"
    case .interface(.index) where !ipv6:
      return
        "fd \(descriptor.label) is IPv4: the shell sets IP_MULTICAST_IF with a struct in_addr, one of the interface's addresses (127.0.0.1 for loopback). Linux also takes a struct ip_mreqn with an index, but getsockopt then reads back 0.0.0.0, as if nothing were set"
    case .membership(let group, _) where group.count != (ipv6 ? 16 : 4):
      return ipv6
        ? "fd \(descriptor.label) is IPv6: it joins an IPv6 group (ff12::1:2:3)"
        : "fd \(descriptor.label) is IPv4: it joins an IPv4 group (239.1.2.3)"
    case .membership(_, .address) where ipv6:
      return "an IPv6 join names the interface by name or index (lo, 1), not by an address"
    default:
      return nil
    }
  }

  /// Every option that applies to the descriptor, read from the kernel and described. SO_ERROR
  /// is left out unless asked for: reading it clears it.
  static func readAll(_ descriptor: Descriptor, includeError: Bool) -> [(SocketOption, String)] {
    SocketOption.all.filter {
      $0.applies(family: descriptor.family, type: descriptor.type) && (includeError || $0.kind != .errno)
        && !$0.writeOnly
    }.map { option in
      switch option.get(descriptor.fd) {
      case .success(let value): (option, describe(value, of: option))
      case .failure(let errno): (option, "-1 \(errno.name)")
      }
    }
  }

  /// What setsockopt did, with the value: `multicast_all is now 0 (off): ...`.
  static func setNote(_ option: SocketOption, _ value: OptionValue, _ descriptor: Descriptor) -> String {
    var text = "\(option.name)"
    switch (option.kind, value) {
    case (.flag, .integer(let number)):
      text += number != 0 ? " is on: \(option.summary)." : " is off (0): on, \(option.summary)."
    case (.membership, _):
      text += ": \(option.summary)."
    default:
      text += " = \(describe(value, of: option)): \(option.summary)."
    }
    if option.name == "multicast_loop", value == .integer(0),
      LinePolicy.multicastStaysOnLoopback(descriptor.fd, family: descriptor.family)
    {
      text +=
        " This socket's group datagrams leave by loopback, which carries them back to this machine's members all the same."
    }
    if option.name == "reuseaddr" && descriptor.type == .datagram {
      text += " Each UDP socket sharing a port gets its own copy of a broadcast or group datagram."
    }
    return text
  }

  static func flag(_ word: String) -> Bool? {
    switch word.lowercased() {
    case "1", "on", "yes", "true": true
    case "0", "off", "no", "false": false
    default: nil
    }
  }

  static func describe(_ value: OptionValue, of option: SocketOption) -> String {
    switch (option.kind, value) {
    case (.flag, .integer(let value)): return value != 0 ? "1 (on)" : "0 (off)"
    case (.errno, .integer(let code)): return code == 0 ? "0 (none)" : "\(code) (\(Errno(code).name))"
    case (.socketType, .integer(let type)): return SocketType(rawType: type)?.cName ?? "\(type)"
    case (.timeval, .milliseconds(let ms)): return ms == 0 ? "0 (wait forever)" : "\(ms) ms"
    case (.linger, .linger(let on, let seconds)): return on ? "on, \(seconds) s" : "off"
    case (_, .interface(.address([0, 0, 0, 0]))), (_, .interface(.index(0, _))):
      return "\(value.commandText) (not set)"
    case (_, .interface(.index(let index, let name?))): return "\(index) (\(name))"
    case (_, .integer(let value)): return "\(value)"
    default: return value.commandText
    }
  }
}

extension SetSockOptCommand {
  static var syscalls: [Syscall] { [.setsockopt] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    let option = self.option.matching(writer.entry.family ?? .ipv4)
    func index(_ interface: OptionValue.Interface) -> String {
      if case .index(let number, let name) = interface {
        return name.map { "if_nametoindex(\"\($0)\")" } ?? "\(number)"
      }
      return "0"
    }
    func text(_ bytes: [UInt8]) -> String {
      bytes.count == 16 ? SocketAddress.ipv6(bytes, port: 0, scopeID: 0).host : SocketAddress.ipv4(bytes, port: 0).host
    }
    let declaration: [String]
    switch value {
    case .integer(let number): declaration = ["int v = \(number);"]
    case .linger(let on, let seconds): declaration = ["struct linger v = { \(on ? 1 : 0), \(seconds) };"]
    case .milliseconds(let ms): declaration = ["struct timeval v = { \(ms / 1000), \((ms % 1000) * 1000) };"]
    case .interface(.address(let bytes)):
      declaration = ["struct in_addr v;", "inet_pton(AF_INET, \"\(text(bytes))\", &v);"]
    case .interface(let interface): declaration = ["int v = \(index(interface));"]
    case .membership(let group, let interface) where group.count == 16:
      declaration = [
        "struct ipv6_mreq v;", "inet_pton(AF_INET6, \"\(text(group))\", &v.ipv6mr_multiaddr);",
        "v.ipv6mr_interface = \(index(interface));",
      ]
    case .membership(let group, .address(let address)):
      declaration = [
        "struct ip_mreq v;", "inet_pton(AF_INET, \"\(text(group))\", &v.imr_multiaddr);",
        "inet_pton(AF_INET, \"\(text(address))\", &v.imr_interface);",
      ]
    case .membership(let group, let interface):
      declaration = [
        "struct ip_mreqn v = { 0 };", "inet_pton(AF_INET, \"\(text(group))\", &v.imr_multiaddr);",
        "v.imr_ifindex = \(index(interface));",
      ]
    }
    return ["  {"] + declaration.map { "    " + $0 }
      + writer.check(
        "setsockopt", "setsockopt(\(writer.fd(fd)), \(option.levelName), \(option.cName), &v, sizeof v)"
      ).map { "  " + $0 } + ["  }"]
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    let option = self.option.matching(writer.entry.family ?? .ipv4)
    func index(_ interface: OptionValue.Interface) -> String {
      if case .index(let number, let name) = interface {
        return name.map { "socket.if_nametoindex('\($0)')" } ?? "\(number)"
      }
      return "0"
    }
    func text(_ bytes: [UInt8]) -> String {
      bytes.count == 16
        ? "socket.inet_pton(socket.AF_INET6, '\(SocketAddress.ipv6(bytes, port: 0, scopeID: 0).host)')"
        : "socket.inet_aton('\(SocketAddress.ipv4(bytes, port: 0).host)')"
    }
    let packed: String
    switch value {
    case .integer(let number): packed = "\(number)"
    case .linger(let on, let seconds): packed = "struct.pack('ii', \(on ? 1 : 0), \(seconds))"
    case .milliseconds(let ms): packed = "struct.pack('ll', \(ms / 1000), \((ms % 1000) * 1000))"
    case .interface(.address(let bytes)): packed = text(bytes)
    case .interface(let interface): packed = index(interface)
    case .membership(let group, let interface) where group.count == 16:
      packed = "\(text(group)) + struct.pack('@I', \(index(interface)))"
    case .membership(let group, .address(let address)): packed = "\(text(group)) + \(text(address))"
    case .membership(let group, let interface):
      packed = "\(text(group)) + bytes(4) + struct.pack('@i', \(index(interface)))"
    }
    return writer.check(
      "setsockopt",
      "\(writer.fd(fd)).setsockopt(socket.\(option.levelName), \(Export.pyOption(option)), \(packed))")
  }
}

extension GetSockOptCommand {
  static var syscalls: [Syscall] { [.getsockopt] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    guard let option = option?.matching(writer.entry.family ?? .ipv4) else {
      return ["  /* every option was read here */"]
    }
    let size =
      option.kind == .linger
      ? "sizeof(struct linger)"
      : option.kind == .timeval
        ? "sizeof(struct timeval)"
        : option.kind == .multicastInterface && option.level == Int32(IPPROTO_IP)
          ? "sizeof(struct in_addr)" : "sizeof(int)"
    return ["  len = \(size);"]
      + writer.check(
        "getsockopt", "getsockopt(\(writer.fd(fd)), \(option.levelName), \(option.cName), buffer, &len)")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    guard let option = option?.matching(writer.entry.family ?? .ipv4) else { return [] }
    return writer.check(
      "getsockopt", "\(writer.fd(fd)).getsockopt(socket.\(option.levelName), \(Export.pyOption(option)), 16)")
  }
}

extension Syscall {
  static let setsockopt = Syscall("setsockopt")
  static let getsockopt = Syscall("getsockopt")
}
