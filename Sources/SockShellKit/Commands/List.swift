import SocketLayer

/// `ls`: this shell's descriptors and what the kernel says of each.
struct ListCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "ls",
    synopsis: "ls",
    summary: "list this shell's descriptors with their state and addresses, read from the kernel",
    example: "ls",
    details: ["STATE is read from the kernel (TCP_INFO): LISTEN, ESTABLISHED, CLOSE_WAIT, FIN_WAIT2..."],
    group: .options
  )

  init(reading arguments: inout ArgumentReader) throws(ParseError) {}

  var arguments: [String] { [] }

  func run(_ context: CommandContext) -> CommandOutcome {
    let session = context.session
    let snapshots = session.openDescriptors.map(SocketSnapshot.init)
    if snapshots.isEmpty {
      session.note("No descriptors yet: make one with socket (help socket).")
      return .done
    }
    var rows = [["FD", "NAME", "FAMILY", "TYPE", "STATE", "LOCAL", "PEER"]]
    for snapshot in snapshots {
      let descriptor = snapshot.descriptor
      rows.append([
        "\(descriptor.fd)", descriptor.name ?? "-", descriptor.family.rawValue,
        descriptor.type == .stream
          ? (descriptor.family == .unix ? "stream" : "tcp") : (descriptor.family == .unix ? "dgram" : "udp"),
        snapshot.state, snapshot.localText, snapshot.peerText,
      ])
    }
    for line in Table.render(rows) { session.out.line(line.text, line.isHeader ? .heading : .plain) }
    return .done
  }
}

/// Column layout for tables.
enum Table {
  struct Line {
    let text: String
    let isHeader: Bool
  }

  static func render(_ rows: [[String]]) -> [Line] {
    guard let columns = rows.map(\.count).max() else { return [] }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows {
      for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    return rows.enumerated().map { index, row in
      let cells = row.enumerated().map { column, cell in
        column == row.count - 1 ? cell : cell.padded(to: widths[column])
      }
      return Line(text: cells.joined(separator: "  "), isHeader: index == 0)
    }
  }
}
