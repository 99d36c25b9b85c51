/// `wire [on|off]`: show every packet the shell's sockets send and receive, under the call that
/// caused it.
struct WireCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "wire",
    synopsis: "wire [on|off]",
    summary: "show each TCP segment, UDP datagram and ICMP error of your sockets under the call that caused it",
    example: "wire on",
    details: [
      "A line is one packet on loopback: who sends it to whom (your names), the TCP flags as tcpdump writes them (S SYN, F FIN, P PSH, R RST, . ACK: S. is SYN+ACK), seq and ack counted from each side's SYN, the window (scaled), options on a SYN, the data's first bytes.",
      "A pure ACK has no seq. Packets that arrive later (a peer's data, a FIN, a delayed ACK) appear at the prompt.",
      "Capturing needs CAP_NET_RAW: as root, or in the sandbox (sockshell --sandbox, which sockshell --wire starts by itself for a user without root). sockshell --wire starts with it on.",
    ],
    completion: [.words(["on", "off"])],
    group: .options
  )

  var on: Bool?

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    on = try arguments.optionalSwitch()
  }

  var arguments: [String] { on.map { [$0 ? "on" : "off"] } ?? [] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    switch on {
    case nil:
      session.note(
        session.wireOn
          ? "The wire is on: packets show under the calls (wire off stops)." : "The wire is off (wire on shows it).")
    case true?:
      try session.startWire().get()
      session.note("The wire is on: each packet of your sockets shows under the call that caused it.")
    case false?:
      session.stopWire()
      session.note("The wire is off.")
    }
    return .done
  }
}

extension WireCommand { static var capabilities: Capabilities { [.changesShell] } }
