#if canImport(Glibc)
  import Glibc
#endif
import FoundationEssentials
import SocketLayer

/// `class ...`: serve a class (the instructor), join one (a student), and what each side can
/// ask of it.
struct ClassCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "class",
    synopsis: "class [serve [ADDR:PORT] | join ADDR:PORT CODE [NAME] | peers | share FD|off | replay | stop | --json]",
    summary: "a classroom: the instructor serves, students join and follow on their own machines",
    example: "class serve 0.0.0.0:7070",
    details: [
      "Instructor: class serve [ADDR:PORT] (default 0.0.0.0:7070) prints the line students type. class shows the roster (name, host, last command and whether it failed, lesson and step, hands); class --json the same as JSON; class peers the listening sockets students shared; class stop ends the class.",
      "Student: sockshell --join ADDR:PORT CODE (or class join ADDR:PORT CODE [NAME]). Each command the instructor runs shows with what they saw, ready at your prompt: Enter runs it on your machine, next (or class skip) drops it. follow on runs them at once; hand raises your hand; class share FD shares a listening socket with the class; class peers lists those shared; class replay runs what ran before you joined; class leave leaves.",
      "Only socket calls come from the instructor (nothing that reads or writes files), with numeric addresses; a bind to every address waits for your own Enter.",
    ],
    completion: [.words(["serve", "join", "peers", "share", "replay", "skip", "stop", "leave", "--json"])],
    group: .shell
  )

  enum Action: Equatable {
    case roster(json: Bool)
    case serve(String?)
    case join(String, String, String?)
    case peers
    case share(DescriptorRef?)
    case replay
    case skip
    case stop
  }

  var action: Action

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    guard let first = arguments.peek else {
      action = .roster(json: false)
      return
    }
    arguments.index += 1
    switch first.text {
    case "--json": action = .roster(json: true)
    case "serve": action = .serve(arguments.isAtEnd ? nil : try arguments.word("ADDR:PORT"))
    case "join":
      let address = try arguments.word("ADDR:PORT (the instructor's line shows it)")
      let code = try arguments.word("CODE (the instructor's line shows it)")
      action = .join(address, code, arguments.isAtEnd ? nil : try arguments.word("NAME"))
    case "peers": action = .peers
    case "share":
      if arguments.peek?.text == "off" {
        arguments.index += 1
        action = .share(nil)
      } else {
        action = .share(try arguments.descriptor())
      }
    case "replay": action = .replay
    case "skip": action = .skip
    case "stop", "leave": action = .stop
    default:
      throw arguments.error(
        "'\(first.shown)' is not a class command: serve, join, peers, share, replay, skip, stop, leave or --json",
        at: first)
    }
    try arguments.finish()
  }

  var arguments: [String] {
    switch action {
    case .roster(let json): json ? ["--json"] : []
    case .serve(let address): ["serve"] + (address.map { [$0] } ?? [])
    case .join(let address, let code, let name):
      ["join", address, code] + (name.map { [Lexer.quote(Array($0.utf8))] } ?? [])
    case .peers: ["peers"]
    case .share(let ref): ["share", ref.map { "\($0)" } ?? "off"]
    case .replay: ["replay"]
    case .skip: ["skip"]
    case .stop: ["stop"]
    }
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let host = context.host
    let session = context.session
    switch action {
    case .serve(let text):
      guard host.classServer == nil else {
        throw CommandRefusal("a class is being served already (class stop ends it)")
      }
      guard host.classClient == nil else { throw CommandRefusal("this shell has joined a class (class leave first)") }
      let address = text ?? "0.0.0.0:7070"
      guard let at = classAddress(address) else {
        throw CommandRefusal(
          "'\(address)' is not an address to serve at: write it as 0.0.0.0:7070 or 192.168.1.10:7070")
      }
      guard let shell = host.session else { return .done }
      let server = try ClassServer.start(at: at, session: shell).get()
      host.classServer = server
      shell.recordsOutput = true
      session.note("The class is open at \(server.address). Students type:")
      session.out.line("    " + server.joinLine, .success, wrap: false)
      session.note(
        "Each command you run from now on reaches them, with what you saw (socket calls only). class shows who is here."
      )
    case .join(let address, let code, let name):
      guard host.classServer == nil, host.classClient == nil else {
        throw CommandRefusal("this shell is in a class already (class stop or class leave first)")
      }
      try ClassCommand.join(address: address, code: code, name: name, host: host)
    case .roster(let json):
      if let server = host.classServer {
        ClassCommand.showRoster(server, json: json, session)
      } else if let client = host.classClient {
        if json { throw CommandRefusal("class --json shows the roster, which the instructor's shell has") }
        session.note(
          client.connected
            ? "In the class at \(client.server) as \(client.name); follow is \(client.follow ? "on" : "off"), your hand is \(client.hand ? "up" : "down")."
            : "Not connected to the class at \(client.server) (trying again).")
      } else {
        throw CommandRefusal("no class: class serve opens one, sockshell --join ADDR CODE joins one")
      }
    case .peers:
      if let server = host.classServer {
        let shared = server.students.filter { $0.shared != nil && $0.connection != nil }
        if shared.isEmpty { session.note("No student shares a listening socket yet (they type class share FD).") }
        for student in shared { session.out.line("  \(student.name)  \(student.shared!)") }
      } else if let client = try ClassCommand.client(host) {
        client.ask("peers")
        session.note("Asked the class; the list shows when it comes.")
      }
    case .share(let ref):
      let client = try ClassCommand.client(host)!
      guard let ref else {
        client.share(nil)
        session.note("You share no socket with the class now.")
        return .done
      }
      let descriptor = try session.descriptor(ref)
      guard Sys.isListening(descriptor.fd), var local = try? Sys.getsockname(descriptor.fd).get() else {
        throw CommandRefusal("\(descriptor.label) is not listening: share a server's socket (bind, listen)")
      }
      // Bound to every address: what the class reaches is the address this shell reaches the class from.
      if local.isWildcard, let connection = client.connection, let mine = try? Sys.getsockname(connection.fd).get() {
        local = mine.withPort(local.port ?? 0)
      }
      if local.isLoopback {
        session.note("\(local) is loopback: only this machine reaches it; bind 0.0.0.0:PORT for your neighbours.")
      }
      client.share("\(local)")
      session.note("Shared with the class: \(local) (class peers lists what is shared).")
    case .replay:
      let client = try ClassCommand.client(host)!
      client.ask("replay")
      session.note(
        "Asked for what ran before you joined: it runs here as it comes (Ctrl-C does not stop it; class leave does).")
    case .skip:
      ClassCommand.skip(try ClassCommand.client(host)!, session)
    case .stop:
      if let server = host.classServer {
        server.stop()
        host.classServer = nil
        host.session?.recordsOutput = false
        session.note("The class is closed.")
      } else if let client = host.classClient {
        client.leave()
        session.note("You left the class.")
      } else {
        throw CommandRefusal("no class to stop or leave")
      }
    }
    return .done
  }

  /// Drops the instructor's command waiting at the prompt (`class skip`, or `next` out of a lesson).
  static func skip(_ client: ClassClient, _ session: any CommandSession) {
    guard let skipped = client.skipOffer() else {
      return session.note("No command of the instructor's waits at your prompt.")
    }
    session.note("Skipped the instructor's '\(skipped)'.")
  }

  static func client(_ host: Host) throws(CommandRefusal) -> ClassClient? {
    guard let client = host.classClient else {
      throw CommandRefusal("this is for a student's shell: join a class first (sockshell --join ADDR CODE)")
    }
    return client
  }

  /// Joins the class at `address` with `code` (`sockshell --join`, `class join`).
  static func join(address: String, code: String, name: String?, host: Host) throws(CommandRefusal) {
    guard let at = classAddress(address) else {
      throw CommandRefusal(
        "'\(address)' is not the class's address: type it as the instructor's line shows it (192.168.1.10:7070)")
    }
    guard let session = host.session else { return }
    let user = name ?? getenv("USER").map { String(cString: $0) } ?? "student"
    let client = ClassClient(
      server: at, code: code, name: String(user.prefix(ClassLimits.nameLength)), session: session)
    guard client.connect() else { throw CommandRefusal("could not join the class at \(at)") }
    host.classClient = client
    session.lineObservers.append { [weak client] line, result, _ in client?.studentRan(line, result: result) }
    session.note("Joining the class at \(at) ...")
  }

  static func showRoster(_ server: ClassServer, json: Bool, _ session: any CommandSession) {
    let rows = server.roster
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      let text = (try? encoder.encode(rows)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
      for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        session.out.line(String(line), .plain, wrap: false)
      }
      return
    }
    let here = rows.filter(\.connected).count
    session.note(
      "Class at \(server.address), code \(server.code): \(counted(here, "student")) here\(rows.count > here ? ", \(rows.count - here) gone" : ""), \(counted(server.nextSeq - 1, "command")) sent."
    )
    guard !rows.isEmpty else { return session.note("Nobody has joined yet: students type " + server.joinLine) }
    // Those here first; each column cut to fit a projector's 80 columns (class --json has all).
    let ordered = rows.filter(\.connected) + rows.filter { !$0.connected }
    let withLesson = rows.contains { $0.lesson != nil }
    var table = [["NAME", "ADDRESS", "HOST", "OK", "HAND"] + (withLesson ? ["LESSON"] : []) + ["LAST COMMAND"]]
    for row in ordered {
      let ok = row.ok.map { $0 ? "ok" : "FAILED" } ?? "-"
      var cells = [
        Cells.truncate(row.name, to: 14) + (row.connected ? "" : " (gone)"), Cells.truncate(row.address, to: 22),
        Cells.truncate(row.host, to: 10), ok,
        row.connected && row.hand ? "UP" : "-",
      ]
      if withLesson {
        cells.append(Cells.truncate(row.lesson.map { "\($0) \(row.step.map(String.init) ?? "")" } ?? "-", to: 12))
      }
      cells.append(row.last ?? "-")
      table.append(cells)
    }
    let used = Table.lastColumnStart(table)
    for index in table.indices.dropFirst() {
      table[index][table[index].count - 1] = Cells.truncate(
        table[index].last!, to: max(12, session.out.width - used - 1))
    }
    session.out.table(table)
    let hands = rows.filter { $0.hand && $0.connected }.map(\.name)
    if !hands.isEmpty { session.note("Hands up: \(hands.joined(separator: ", ")).") }
    if server.refusedJoins > 0 {
      session.note("\(counted(server.refusedJoins, "try")) to join with a wrong code were refused.")
    }
  }
}

/// `hand [up|down]`: raise (or lower) your hand in a class.
struct HandCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "hand", synopsis: "hand [up|down]", summary: "in a class: raise your hand (hand down lowers it)",
    completion: [.words(["up", "down"])], group: .shell)

  var up = true

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    if let token = arguments.peek {
      guard ["up", "down"].contains(token.text) else {
        throw arguments.error("write hand, hand up or hand down", at: token)
      }
      up = token.text == "up"
      arguments.index += 1
    }
    try arguments.finish()
  }

  var arguments: [String] { up ? [] : ["down"] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let client = try ClassCommand.client(context.host)!
    client.raiseHand(up)
    context.session.note(up ? "Your hand is up: the instructor sees it." : "Your hand is down.")
    return .done
  }
}

/// `follow [on|off]`: in a class, run the instructor's commands at once instead of offering them.
struct FollowCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "follow", synopsis: "follow [on|off]",
    summary: "in a class: run the instructor's commands at once (off: each waits at your prompt for Enter)",
    completion: [.words(["on", "off"])], group: .shell)

  var on: Bool?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    on = try arguments.optionalSwitch()
  }

  var arguments: [String] { on.map { [$0 ? "on" : "off"] } ?? [] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let client = try ClassCommand.client(context.host)!
    if on == false && client.follow {
      let waiting = client.queue.count
      client.stopFollowing()
      if waiting > 0 {
        context.session.note(
          "\(counted(waiting, "command")) that waited to run now \(waiting == 1 ? "waits" : "wait") at your prompt.")
      }
    }
    if on == true && !client.follow {
      let waiting = client.offers.count
      client.startFollowing()
      if waiting > 0 {
        context.session.note(
          "\(counted(waiting, "command")) that waited at your prompt \(waiting == 1 ? "runs" : "run") now.")
      }
    }
    context.session.note(
      client.follow
        ? "Follow is on: the instructor's commands run here as they come (a bind to every address still waits for your Enter)."
        : "Follow is off: each command of the instructor's waits at your prompt; Enter runs it.")
    return .done
  }
}

extension ClassCommand { static var capabilities: Capabilities { [.changesShell] } }
extension HandCommand { static var capabilities: Capabilities { [.changesShell] } }
extension FollowCommand { static var capabilities: Capabilities { [.changesShell] } }
