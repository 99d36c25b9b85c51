#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `tcp FD [--ascii]`: the TCP state diagram with the descriptor's state and path marked.
struct TCPDiagramCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "tcp",
    synopsis: "tcp FD|PID:FD [--ascii] [--svg FILE]",
    summary: "the TCP state diagram (RFC 793), with this connection's state now and the path it took",
    example: "tcp conn",
    details: [
      "States are read from the kernel (TCP_INFO) after each command; a state passed in between is not seen.",
      "--svg FILE writes the same drawing as an SVG picture, for handouts and slides.",
      "tcp PID:FD: a socket of another process of yours (ls PID lists them); its path is what ls, inspect and watch saw of it.",
    ],
    completion: [.descriptor, .words(["--ascii", "--svg"])],
    group: .options
  )

  var target: SocketTarget
  var ascii = false
  /// `--svg FILE`: the drawing written as SVG too.
  var svg: String?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    target = try arguments.socketTarget()
    while !arguments.isAtEnd {
      let word = try arguments.word("--ascii or --svg FILE")
      switch word {
      case "--ascii": ascii = true
      case "--svg": svg = try arguments.word("FILE after --svg")
      default: throw arguments.error("'\(ByteText.sanitized(word))' is not a flag here: --ascii or --svg FILE")
      }
    }
  }

  var arguments: [String] {
    [target.description] + (ascii ? ["--ascii"] : []) + (svg.map { ["--svg", Lexer.quote(Array($0.utf8))] } ?? [])
  }

  /// Writing a picture writes a file: held to the policy of lines from elsewhere like save.
  var effects: Capabilities {
    var effects: Capabilities = svg == nil ? [] : [.writesFiles]
    if case .process = target { effects.insert(.readsProcesses) }
    return effects
  }

  /// The diagram; `{NAME}` marks a state (the braces become its markers), with the names `ls`,
  /// netstat and the kernel use. CLOSED stands twice: at the top, where a socket starts, and
  /// bottom right as `{ENDED}`, where a connection ends.
  static let template = """
                             {CLOSED}
               listen()    ╱        ╲    connect(): send SYN
                          ↓          ↓
                    {LISTEN}          {SYN_SENT}
    recv SYN, send SYN+ACK │              │ recv SYN+ACK, send ACK
                           ↓              │
                     {SYN_RECV}           │
                recv ACK   │              │
                           ↓              ↓
                           {ESTABLISHED}
         close(): send FIN ╱             ╲ recv FIN, send ACK
                          ↓               ↓
                 {FIN_WAIT1}           {CLOSE_WAIT}
       recv ACK │     recv FIN ╲              │ close(): send FIN
                ↓               ↓             ↓
           {FIN_WAIT2}      {CLOSING}     {LAST_ACK}
       recv FIN │     recv ACK │              │ recv ACK
                ↓              ↓              ↓
            {TIME_WAIT} ──── 2 MSL (60 s) ───▶ {ENDED}
    """

  /// Draws the diagram with `current` and `seen` marked.
  static func draw(current: TCPState?, seen: [TCPState], glyphs: Glyphs, color: Bool) -> [String] {
    let unicode = glyphs.horizontal == "─"
    var text = template
    // CLOSED after any other state is the end of a connection, not where the socket started.
    let ended = seen.firstIndex { $0 != .closed }.map { first in seen[first...].contains(.closed) } ?? false
    let startedClosed = seen.first == .closed || (seen.isEmpty && current == .closed)
    func mark(_ placeholder: String, _ name: String, now: Bool, wasSeen: Bool) {
      let marked: String
      if now {
        let body = (unicode ? "▶" : ">") + name + (unicode ? "◀" : "<")
        marked = color ? "\u{1B}[7m" + body + "\u{1B}[0m" : body
      } else if wasSeen {
        marked = unicode ? "•" + name + "•" : "*" + name + "*"
      } else {
        marked = " " + name + " "
      }
      text = text.replacing("{\(placeholder)}", with: marked)
    }
    for state in TCPState.allCases where state != .closed {
      mark(state.name, state.name, now: state == current, wasSeen: seen.contains(state))
    }
    let endedNow = current == .closed && seen.contains { $0 != .closed }
    mark("CLOSED", "CLOSED", now: current == .closed && !endedNow, wasSeen: startedClosed)
    mark("ENDED", "CLOSED", now: endedNow, wasSeen: ended)
    if !unicode {
      for (from, to) in [("╱", "/"), ("╲", "\\"), ("↓", "v"), ("│", "|"), ("─", "-"), ("▶", ">")] {
        text = text.replacing(from, with: to)
      }
    }
    return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let label: String
    var foreign = false
    var fromCopy = false
    let current: TCPState?
    let seen: [TCPState]
    switch target {
    case .own(let ref):
      let descriptor = try session.descriptor(ref)
      guard descriptor.type == .stream, descriptor.family != .unix else {
        throw CommandRefusal("fd \(descriptor.label) is not a TCP socket: only TCP has connection states")
      }
      session.recordStates(of: [descriptor.fd])
      label = descriptor.label
      current = try? Sys.tcpInfo(descriptor.fd).get().state
      seen = session.stateHistory[descriptor.fd] ?? []
    case .process(let pid, let fd):
      let watcher = context.host.processes
      let view = try ProcessView.read(pid, pairs: watcher.pairs(of: pid)).get()
      watcher.saw(view)
      guard let socket = view.sockets.first(where: { $0.fd == fd }) else {
        throw CommandRefusal("process \(pid) has no socket at fd \(fd) (ls \(pid) lists its sockets)")
      }
      // A TCP socket sock_diag does not list (closed: reset, or never bound) is read on a copy.
      var state = socket.inet?.state
      if state == nil, socket.kind == "socket", case .success(let copy) = ProcessSockets.borrow(fd, of: pid) {
        fromCopy = true
        if (try? Sys.getsockopt(copy, level: SOL_SOCKET, name: SO_PROTOCOL).get()) == Int32(IPPROTO_TCP) {
          state = try? Sys.tcpInfo(copy).get().state
        }
        _ = Glibc.close(copy)
      }
      guard let state, socket.isTCP || socket.kind == "socket" else {
        throw CommandRefusal(
          "fd \(fd) of process \(pid) is "
            + (socket.kind == "socket" ? "a socket that is not TCP" : "a \(socket.kind) socket, not TCP")
            + ": only TCP has connection states")
      }
      label = "\(fd) of process \(pid)"
      foreign = true
      current = state
      seen = watcher.states(of: pid, inode: socket.inode)
    }
    let glyphs = Glyphs.choose(ascii: ascii)
    session.out.line("TCP states of fd \(label) (RFC 793's diagram, with the names ls uses)", .heading)
    // Colour codes are added after Output's escaping: write the diagram lines directly.
    for line in TCPDiagramCommand.draw(current: current, seen: seen, glyphs: glyphs, color: session.out.color) {
      session.out.write("  " + line + "\n")
    }
    if let svg {
      let picture = SVG.textDrawing(
        TCPDiagramCommand.draw(current: current, seen: seen, glyphs: .choose(ascii: false), color: false),
        title: "TCP states of fd \(label)")
      _ = try FileWriter.write(picture, to: svg, what: "the diagram as SVG", session: session)
    }
    let unicode = glyphs.horizontal == "─"
    session.note(
      (unicode ? "▶NOW◀" : ">NOW<")
        + " is the state now (\(fromCopy ? "TCP_INFO of a copy of the descriptor" : foreign ? "sock_diag" : "TCP_INFO")); "
        + (unicode ? "•SEEN•" : "*SEEN*")
        + (foreign
          ? " were seen when ls, inspect, tcp or watch read this process (watch PID sees every state it stays in for 0.1 s)."
          : " were seen after earlier commands."))
    let arrow = unicode ? " → " : " -> "
    session.note("Path seen: " + (seen.isEmpty ? "-" : seen.map(\.name).joined(separator: arrow)))
    if current == .closed && seen.contains(where: { $0 != .closed }) {
      session.note(
        "CLOSED with the descriptor still open: the connection ended (reset, or both FINs done). A TIME_WAIT left behind has no descriptor: ls lists it."
      )
    }
    return .done
  }
}
