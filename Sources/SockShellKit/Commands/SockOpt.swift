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
      "Options: " + SocketOption.all.filter { !$0.readOnly }.map(\.name).joined(separator: ", "),
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

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    let result = option.set(descriptor.fd, value)
    let outcome = session.report(
      .setsockopt, fd: descriptor.fd,
      [
        .number(Int(descriptor.fd)), .symbol(option.levelName), .symbol(option.cName), .value(value.cDescription),
        .number(value.bytes.count),
      ], result.map { 0 }, context: ErrorContext(call: .setsockopt, descriptor: descriptor, option: option.name))
    guard case .success = result else { return outcome }
    session.note("\(option.name): \(option.summary).")
    if option.name == "reuseaddr" || option.name == "reuseport",
      let bound = try? Sys.getsockname(descriptor.fd).get(), bound.port.map({ $0 != 0 }) ?? false
    {
      session.note("fd \(descriptor.label) is bound already: this option matters for bind, so set it before binding.")
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
  }

  var arguments: [String] { [fd.description] + (option.map { [$0.name] } ?? []) }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    guard let option else {
      session.out.line("Options of fd \(descriptor.label) (getsockopt each):", .heading)
      var rows = [["OPTION", "C NAME", "VALUE", "MEANING"]]
      for option in SocketOption.all where option.applies(family: descriptor.family, type: descriptor.type) {
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
    let token = try arguments.next("OPTION (\(SocketOption.all.map(\.name).joined(separator: ", ")))")
    guard let option = SocketOption.named(token.text) else {
      let close = SocketOption.all.map(\.name).min {
        Registry.editDistance(token.text, $0) < Registry.editDistance(token.text, $1)
      }
      var message = "unknown option '\(token.shown)'"
      if let close, Registry.editDistance(token.text.lowercased(), close) <= 2 { message += ": did you mean \(close)?" }
      message += " Options: " + SocketOption.all.map(\.name).joined(separator: ", ")
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
    }
  }

  /// Every option that applies to the descriptor, read from the kernel and described. SO_ERROR
  /// is left out unless asked for: reading it clears it.
  static func readAll(_ descriptor: Descriptor, includeError: Bool) -> [(SocketOption, String)] {
    SocketOption.all.filter {
      $0.applies(family: descriptor.family, type: descriptor.type) && (includeError || $0.kind != .errno)
    }.map { option in
      switch option.get(descriptor.fd) {
      case .success(let value): (option, describe(value, of: option))
      case .failure(let errno): (option, "-1 \(errno.name)")
      }
    }
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
    case (_, .integer(let value)): return "\(value)"
    default: return value.commandText
    }
  }
}

extension SetSockOptCommand {
  static var syscalls: [Syscall] { [.setsockopt] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    let declaration: String
    switch value {
    case .integer(let number): declaration = "int v = \(number);"
    case .linger(let on, let seconds): declaration = "struct linger v = { \(on ? 1 : 0), \(seconds) };"
    case .milliseconds(let ms): declaration = "struct timeval v = { \(ms / 1000), \((ms % 1000) * 1000) };"
    }
    return ["  {", "    " + declaration]
      + writer.check(
        "setsockopt", "setsockopt(\(writer.fd(fd)), \(option.levelName), \(option.cName), &v, sizeof v)"
      ).map { "  " + $0 } + ["  }"]
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    let packed: String
    switch value {
    case .integer(let number): packed = "\(number)"
    case .linger(let on, let seconds): packed = "struct.pack('ii', \(on ? 1 : 0), \(seconds))"
    case .milliseconds(let ms): packed = "struct.pack('ll', \(ms / 1000), \((ms % 1000) * 1000))"
    }
    return writer.check(
      "setsockopt",
      "\(writer.fd(fd)).setsockopt(socket.\(option.levelName), socket.\(option.cName), \(packed))")
  }
}

extension GetSockOptCommand {
  static var syscalls: [Syscall] { [.getsockopt] }
  static var capabilities: Capabilities { [.syscall] }

  func exportC(_ writer: inout CExport) -> [String] {
    guard let option else { return ["  /* every option was read here */"] }
    let size =
      option.kind == .linger
      ? "sizeof(struct linger)" : option.kind == .timeval ? "sizeof(struct timeval)" : "sizeof(int)"
    return ["  len = \(size);"]
      + writer.check(
        "getsockopt", "getsockopt(\(writer.fd(fd)), \(option.levelName), \(option.cName), buffer, &len)")
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    guard let option else { return [] }
    return writer.check(
      "getsockopt", "\(writer.fd(fd)).getsockopt(socket.\(option.levelName), socket.\(option.cName), 16)")
  }
}

extension Syscall {
  static let setsockopt = Syscall("setsockopt")
  static let getsockopt = Syscall("getsockopt")
}
