import SocketLayer

/// `ls [--json]`: this shell's descriptors and what the kernel says of each.
struct ListCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "ls",
    synopsis: "ls [--json] [--all] [--wide] [PID]",
    summary: "list this shell's descriptors: state, addresses, queues, readiness, read from the kernel",
    example: "ls",
    details: [
      "STATE is read from the kernel (TCP_INFO): LISTEN, ESTABLISHED, CLOSE_WAIT, FIN_WAIT2...",
      "RECV-Q/SEND-Q: unread and unsent bytes; for a listener, connections waiting to be accepted / its backlog.",
      "READY: R readable, W writable, E error or urgent data (a zero-timeout poll).",
      "Below the table: connections you closed that the kernel still keeps (TIME_WAIT...), with their timer.",
      "--all adds the lesson partner's descriptors.",
      "On a terminal too narrow for the table, the columns are shortened (a key says how); --wide keeps them.",
      "ls PID (or ls --pid PID): another process's sockets (your own program's), read from /proc/PID/fd and sock_diag as ss reads them, without stopping it; under the table, the connections the kernel keeps on its addresses (TIME_WAIT).",
    ],
    completion: [.words(["--json", "--all", "--wide"])],
    group: .options
  )

  var json = false
  var all = false
  var wide = false

  /// `ls PID`: another process's sockets.
  var pid: Int32?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    var flags: [String] = []
    while let token = arguments.peek {
      // A word that starts like a number is meant as a PID (1.5, 0x10, -1 and +1 are not ones).
      let looksNumeric = token.text.drop { $0 == "-" || $0 == "+" }.first?.isASCIIDigitCharacter == true
      if token.text == "--pid" || looksNumeric {
        if token.text == "--pid" { arguments.index += 1 }
        let number = try arguments.next("PID (a process's number: ps lists them)")
        guard pid == nil, number.text.allSatisfy(\.isASCIIDigitCharacter), let value = Int32(number.text), value > 0
        else {
          throw arguments.error(
            "'\(number.shown)' is not a process number: ls PID lists that process's sockets", at: number)
        }
        pid = value
        continue
      }
      guard ["--json", "--all", "--wide"].contains(token.text.lowercased()) else {
        throw arguments.error(
          "'\(token.shown)' is not a flag here: flags are --json, --all, --wide (or a PID)", at: token)
      }
      flags.append(token.text.lowercased())
      arguments.index += 1
    }
    json = flags.contains("--json")
    all = flags.contains("--all")
    wide = flags.contains("--wide")
  }

  /// Another process's sockets are read from outside the session: not for a lesson's lines.
  var effects: Capabilities { pid == nil ? [] : [.readsProcesses] }

  var arguments: [String] {
    (json ? ["--json"] : []) + (all ? ["--all"] : []) + (wide ? ["--wide"] : []) + (pid.map { ["\($0)"] } ?? [])
  }

  /// The table shortened for a narrow terminal: family and type in one KIND column (tcp4, udp6,
  /// unix-stream), RQ and SQ for the queues, RDY for readiness; the key is printed under it.
  static func compact(_ rows: [[String]]) -> [[String]] {
    rows.enumerated().map { index, row in
      guard index > 0 else { return ["FD", "NAME", "KIND", "STATE", "LOCAL", "PEER", "RQ", "SQ", "RDY", "FLAGS"] }
      let kind = row[2] == "unix" ? "unix-" + row[3] : row[3] + (row[2] == "ipv6" ? "6" : "4")
      return [row[0], row[1], kind] + Array(row[4...])
    }
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    if let pid {
      let view = try ProcessView.read(pid, pairs: context.host.processes.pairs(of: pid)).get()
      context.host.processes.saw(view)
      if json {
        session.out.line(view.json.text)
      } else {
        view.show(session, wide: wide)
      }
      return .done
    }
    let snapshots = session.snapshots()
    let partner = all ? context.host.partnerSockets() : []
    let lingering = session.lingeringConnections()
    if json {
      let closed = lingering.map { closed, entry in
        JSON.object([
          ("was", .string(closed.label)), ("local", .string(closed.local.description)),
          ("peer", .string(closed.peer.description)), ("state", .string(entry.state?.name ?? "?")),
          ("timer", .string(entry.timerName)), ("seconds_left", .number(entry.timerSeconds)),
        ])
      }
      var pairs: [(String, JSON)] = [("descriptors", .array(snapshots.map(\.json))), ("closed", .array(closed))]
      if all { pairs.append(("partner", .array(partner.map(\.json)))) }
      let document = JSON.object(pairs)
      session.out.line(document.text)
      return .done
    }
    if snapshots.isEmpty && partner.isEmpty {
      session.note("No descriptors open: make one with socket (help socket).")
    } else {
      var rows = [["FD", "NAME", "FAMILY", "TYPE", "STATE", "LOCAL", "PEER", "RECV-Q", "SEND-Q", "READY", "FLAGS"]]
      for (index, snapshot) in (snapshots + partner).enumerated() {
        let descriptor = snapshot.descriptor
        let owner = index >= snapshots.count ? "partner:" : ""
        rows.append([
          "\(descriptor.fd)", owner + (descriptor.name ?? "-"), descriptor.family.rawValue, snapshot.typeText,
          snapshot.state,
          snapshot.localText, snapshot.peerText, snapshot.recvQ.map(String.init) ?? "-",
          snapshot.sendQ.map(String.init) ?? "-", snapshot.readiness,
          snapshot.flags.isEmpty ? "-" : snapshot.flags.joined(separator: ","),
        ])
      }
      let width = session.out.width
      if wide || Table.fit(Table.render(rows), in: width) {
        session.out.table(rows)
      } else {
        // Shortened columns; addresses too long even for those stand under their rows.
        session.out.table(ListCommand.compact(rows), fit: .stack(4...5))
        session.note(
          "KIND: tcp4 is TCP over IPv4, udp6 UDP over IPv6; RQ, SQ: RECV-Q, SEND-Q; RDY: ready to Read, Write, or an Error (ls --wide: the full table)."
        )
      }
      if snapshots.contains(where: \.listening) {
        session.note(
          "For a listener, RECV-Q counts connections waiting for accept and SEND-Q is its backlog (Linux lets one more wait)."
        )
      }
      if snapshots.contains(where: { $0.descriptor.type == .datagram && $0.descriptor.family != .unix }) {
        session.note(
          "For UDP, RECV-Q and SEND-Q are buffer memory (as ss shows), not payload bytes: inspect FD gives the next datagram's size."
        )
      }
      if snapshots.contains(where: { $0.descriptor.family == .unix && !$0.listening }) {
        session.note(
          "For a Unix socket, SEND-Q is send buffer memory the peer has not read yet, not bytes unsent; a Unix datagram socket's RECV-Q is its next datagram's size."
        )
      }
    }
    if !lingering.isEmpty {
      session.out.line("Kept by the kernel with no descriptor:", .heading)
      var rows = [["WAS", "STATE", "LOCAL", "PEER", "TIMER"]]
      for (closed, entry) in lingering {
        rows.append([
          closed.label, entry.state?.name ?? "?", closed.local.description, closed.peer.description,
          entry.timer == 0 ? "-" : "\(entry.timerName), \(Int(entry.timerSeconds.rounded())) s left",
        ])
      }
      session.out.table(rows, indent: "  ", header: .plain, fit: wide ? .whole : .stack(2...3))
      if lingering.contains(where: { $0.1.state == .timeWait }) {
        session.note(
          "TIME_WAIT: the side that closed first keeps the address pair for 60 s, so that late packets of this connection cannot be taken for a new one."
        )
      }
    }
    return .done
  }
}
