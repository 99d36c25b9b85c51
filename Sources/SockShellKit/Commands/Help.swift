import SocketLayer

/// `help [COMMAND|TOPIC]`.
struct HelpCommand: ShellCommand {
  /// The commands `help` alone shows: the system calls of a first server and client, the views a
  /// beginner looks at, and the lesson commands.
  static let firstCommands: Set<String> = [
    "socket", "bind", "listen", "accept", "connect", "send", "recv", "close", "ls", "lessons", "lesson",
  ]

  /// What `help` takes: its topics and the command names (Tab offers the same).
  static var subjects: [String] { topics.keys.sorted() + Registry.commands.map { $0.spec.name } }

  static let topics: [String: [String]] = [
    "addresses": [
      "Addresses (ADDR):",
      "  127.0.0.1:8080      an IPv4 address and port",
      "  [::1]:8080          an IPv6 address in brackets, then the port",
      "  *:8080  or  :8080   every address of this machine (INADDR_ANY)",
      "  127.0.0.1:0         port 0: the kernel picks a free port",
      "  localhost:8080      a host name, resolved (getaddrinfo) for the socket's family",
      "  /tmp/s.sock         a Unix socket path (also ./s.sock, or unix:NAME)",
      "  @NAME               a Linux abstract Unix name (no file)",
      "  srv                 a descriptor of this shell: the address it is bound to",
    ],
    "data": [
      "Data (DATA):",
      "  \"text\\n\"            double quotes, with escapes:",
      "                      \\n \\r \\t \\0 \\e \\\\ \\\" \\xNN \\NNN (octal) \\u{NNNN}",
      "  'text'              single quotes: every character as it is",
      "  word                a bare word",
      "  hex:48656c6c6f      bytes in hex",
      "  --size N            N bytes of a visible pattern (abc...789, newline, again)",
      "  --file PATH         the contents of a file (at most 16 MiB)",
    ],
    "expect": [
      "Checking results with = EXPECTED (as packetdrill does):",
      "  bind s 127.0.0.1:8080 = 0",
      "  send c \"hello\" = 5",
      "  connect c 127.0.0.1:9 = -1 ECONNREFUSED",
      "The line fails, and says what came back, when the result differs.",
      "In a script (sockshell run FILE), a failing line stops it with exit code 1.",
    ],
    "names": [
      "Naming descriptors:",
      "  srv = socket tcp        the new descriptor is called srv",
      "  conn = accept srv       so is the connection accept returns",
      "  name 5 conn             names (or renames) a descriptor that exists",
      "Use the name or the number wherever FD is written.",
      "A name is freed when its descriptor is closed.",
    ],
  ]

  static let spec = CommandSpec(
    name: "help",
    aliases: ["?"],
    synopsis: "help [COMMAND|TOPIC]",
    summary: "list the commands, or explain one (with its C prototype and man page)",
    example: "help bind",
    completion: [.topic],
    group: .shell
  )

  var topic: String?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    topic = arguments.isAtEnd ? nil : try arguments.word("topic")
  }

  var arguments: [String] { topic.map { [Lexer.quote(Array($0.utf8))] } ?? [] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let out = context.session.out
    // `help` alone: the commands a beginner needs first, on one screen; `help all`: every one.
    let all = topic?.lowercased() == "all"
    if topic == nil || all {
      let shown =
        all ? Registry.commands : Registry.commands.filter { HelpCommand.firstCommands.contains($0.spec.name) }
      for group in CommandSpec.Group.allCases where shown.contains(where: { $0.spec.group == group }) {
        out.line(group.rawValue, .heading)
        for command in shown where command.spec.group == group {
          // Synopsis, then the summary in a column of its own, wrapped to the terminal; on a
          // narrow terminal the summary goes under the synopsis instead.
          let narrow = out.width - 31 < 24
          let column = narrow ? 3 : 30
          let summary = Cells.wrap(command.spec.summary, width: out.width - column - 1)
            .map { $0.hasPrefix("  ") ? String($0.dropFirst(2)) : $0 }
          let synopsis = "  " + command.spec.synopsis
          var lines: [String]
          if !narrow && Cells.width(synopsis) < column {
            lines = [synopsis.padded(to: column) + " " + summary[0]]
          } else {
            // A synopsis wider than the terminal is wrapped at its spaces too.
            lines = Cells.wrap(synopsis, width: out.width - 1).map { $0.hasPrefix("  ") ? $0 : "  " + $0 }
            lines.append(String(repeating: " ", count: column + 1) + summary[0])
          }
          lines += summary.dropFirst().map { String(repeating: " ", count: column + 1) + $0 }
          for line in lines { out.line(line) }
        }
      }
      if !all {
        out.line("In a lesson: step, check, hint, solution, next, prev.", .note)
        out.line("Presenting (sockshell present FILE): next, back, goto N, where.", .note)
        out.line(
          "help all lists every command (\(Registry.commands.count - shown.count) more: options, views, save and export...); help COMMAND shows one.",
          .note)
      }
      out.line("Topics: help addresses, help data, help expect, help names.  explain ERRNO explains an error.", .note)
      out.line("Keys: Tab completes, Up/Down recall history, Ctrl-C stops a waiting call, Ctrl-D quits.", .note)
      return .done
    }
    guard let topic else { return .done }
    if let lines = HelpCommand.topics[topic.lowercased()] {
      // A line too wide for the terminal continues under its meaning's column.
      for line in lines { out.field(line, hanging: line.hasPrefix("  ") ? 22 : 2) }
      return .done
    }
    guard let command = Registry.command(named: topic) else {
      var message = "no help on '\(ByteText.sanitized(topic))'"
      // What the word could be: commands and topics it starts, or one it misspells.
      let lower = topic.lowercased()
      let starting = HelpCommand.subjects.filter { $0.hasPrefix(lower) }.sorted()
      if !lower.isEmpty && !starting.isEmpty {
        message += ": did you mean \(starting.map { "'\($0)'" }.joined(separator: ", "))?"
      } else if let suggestion = Registry.suggestion(for: topic) {
        message += ": did you mean '\(suggestion)'?"
      } else {
        message += "."
      }
      message += " Topics: \(HelpCommand.topics.keys.sorted().joined(separator: ", ")), or a command name."
      throw CommandRefusal(message)
    }
    let spec = command.spec
    out.line(spec.synopsis, .heading)
    out.field("  " + spec.summary, hanging: 4)
    for line in spec.details { out.field("  " + line, hanging: 4) }
    if let prototype = spec.prototype { out.field("  C:        " + prototype, hanging: 14) }
    if let example = spec.example { out.line("  Example:  " + example) }
    if let man = spec.manPage {
      out.line(
        "  Read:     man \(man.split(separator: ",").first.map(String.init) ?? man)"
          + (man.contains(",") ? " (also \(man))" : ""))
    }
    if !spec.aliases.isEmpty { out.line("  Also:     " + spec.aliases.joined(separator: ", ")) }
    return .done
  }
}

/// `explain ERRNO`.
struct ExplainCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "explain",
    synopsis: "explain ERRNO",
    summary: "what an error such as EADDRINUSE means and what to try",
    example: "explain EADDRINUSE",
    completion: [.errno],
    group: .shell
  )

  var name: String

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    let token = try arguments.next("ERRNO (a name such as ECONNREFUSED, or a number)")
    guard Errno(named: token.text) != nil else {
      throw arguments.error(
        "'\(token.shown)' is not an errno name or number: try ECONNREFUSED, EADDRINUSE or 111", at: token)
    }
    name = token.text
  }

  var arguments: [String] { [name] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let out = context.session.out
    guard let errno = Errno(named: name) else { throw CommandRefusal("no errno is named \(name)") }
    out.line("\(errno.name) (\(errno.code)): \(errno.message)", .heading)
    let lines = Explanations.lines(for: errno, context: ErrorContext(call: nil))
    if lines.isEmpty { out.line("  No teaching note for this one; man errno lists them all.") }
    for line in lines { out.field("  " + line, hanging: 4) }
    return .done
  }
}

/// `history`.
struct HistoryCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "history",
    synopsis: "history",
    summary: "the lines typed in this session (Up and Down recall them)",
    group: .shell
  )

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    for (index, line) in context.host.history.enumerated() {
      session.out.line(String(index + 1).padded(to: 5) + ByteText.sanitized(line))
    }
    return .done
  }
}

/// `quit` / `exit`.
struct QuitCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "quit",
    aliases: ["exit"],
    synopsis: "quit",
    summary: "close every descriptor and leave (Ctrl-D does the same)",
    group: .shell
  )

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    context.host.wantsExit = true
    return .done
  }
}

extension QuitCommand { static var capabilities: Capabilities { [.changesShell] } }

/// `clear`: clears the terminal (Ctrl-L at the prompt does the same).
struct ClearCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "clear",
    synopsis: "clear",
    summary: "clear the screen (Ctrl-L does the same); descriptors and lessons stay",
    group: .shell
  )

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    context.session.out.clearScreen()
    return .done
  }
}

extension ClearCommand { static var capabilities: Capabilities { [.changesShell] } }
