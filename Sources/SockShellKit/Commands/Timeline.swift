import SocketLayer

/// `timeline [--ascii]`: a sequence diagram of the session.
struct TimelineCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "timeline",
    synopsis: "timeline [--ascii]",
    summary: "a sequence diagram of the session: a column per endpoint, arrows for set-up, data, FIN and RST",
    example: "timeline",
    details: ["When both ends of a connection are in this shell, the arrows join their two columns."],
    completion: [.words(["--ascii"])],
    group: .options
  )

  var ascii = false

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    ascii = try arguments.flags(allowed: ["--ascii"]).contains("--ascii")
  }

  var arguments: [String] { ascii ? ["--ascii"] : [] }

  /// One row of the diagram: an arrow between two columns, or a note at one.
  enum Row {
    case arrow(from: Int, to: Int, label: String)
    case note(column: Int, text: String)
  }

  struct Diagram {
    var columns: [String] = []
    /// The local address each column had last (to find the other end of a connection).
    var local: [SocketAddress?] = []
    var peer: [SocketAddress?] = []
    var open: [Bool] = []
    var rows: [Row] = []
    /// The column of each open descriptor number.
    var byFD: [Int32: Int] = [:]

    mutating func column(named name: String) -> Int {
      columns.append(name)
      local.append(nil)
      peer.append(nil)
      open.append(true)
      return columns.count - 1
    }

    /// The column of the other end: a descriptor of this shell whose local address is `address`
    /// (and, for a connection, whose peer is `me`), else a column for the remote peer.
    mutating func other(_ address: SocketAddress, me: SocketAddress?) -> Int {
      func matches(_ index: Int) -> Bool { local[index].map { Session.sameEndpoint($0, address) } == true }
      // The other end of this very connection (even if closed since: a late RST comes from it),
      // else a listener on that address, else a column for the remote peer.
      if let me,
        let end = columns.indices.last(where: { index in
          matches(index) && peer[index].map { Session.sameEndpoint($0, me) } == true
        })
      {
        return end
      }
      if let listener = columns.indices.first(where: { open[$0] && matches($0) && peer[$0] == nil }) {
        return listener
      }
      let name = address.description
      if let existing = columns.firstIndex(of: name) { return existing }
      let index = column(named: name)
      local[index] = address
      return index
    }
  }

  static func build(_ records: [CallRecord]) -> Diagram {
    var diagram = Diagram()
    for record in records {
      guard record.kind.drawnInTimeline, let fd = record.fd else { continue }
      func mine() -> Int {
        if let index = diagram.byFD[fd] { return index }
        let index = diagram.column(named: record.label ?? "fd \(fd)")
        diagram.byFD[fd] = index
        return index
      }
      let failed = record.errno != nil
      switch record.kind {
      case .socket:
        let index = diagram.column(named: record.label ?? "fd \(fd)")
        diagram.byFD[fd] = index
      case .bind, .listen:
        if !failed { diagram.local[mine()] = record.local }
      case .connect:
        let me = mine()
        diagram.local[me] = record.local
        if let errno = record.errno {
          // A TCP connect that failed sent a SYN; a Unix one sent nothing.
          if let target = record.address, target.family != .unix {
            let other = diagram.other(target, me: nil)
            diagram.rows.append(.arrow(from: me, to: other, label: "SYN"))
            if errno.code == ECONNREFUSED_ {
              diagram.rows.append(.arrow(from: other, to: me, label: "RST"))
              continue
            }
          }
          diagram.rows.append(.note(column: me, text: "connect: \(errno.name)"))
        } else if let target = record.peer {
          let other = diagram.other(target, me: record.local)
          diagram.peer[me] = target
          diagram.rows.append(.arrow(from: me, to: other, label: "connect"))
        }
      case .accept:
        guard !failed, let listener = diagram.byFD[fd] else { continue }
        let index = diagram.column(named: record.label ?? "fd \(record.result)")
        diagram.byFD[Int32(record.result)] = index
        diagram.local[index] = record.local
        diagram.peer[index] = record.peer
        diagram.rows.append(.arrow(from: listener, to: index, label: "accept: new fd \(record.result)"))
      case .send, .sendto:
        let me = mine()
        if failed {
          diagram.rows.append(.note(column: me, text: "\(record.syscall): \(record.errno!.name)"))
          continue
        }
        let target = record.kind == .sendto ? record.address ?? record.peer : record.peer
        let label = "\(record.result) " + ByteText.quoted(record.data.prefix(record.result), limit: 6)
        if let target {
          diagram.rows.append(.arrow(from: me, to: diagram.other(target, me: record.local), label: label))
        } else {
          diagram.rows.append(.note(column: me, text: "send \(label)"))
        }
      case .recv, .recvfrom:
        let me = mine()
        if let errno = record.errno {
          if errno.code == ECONNRESET_, let peer = record.peer ?? diagram.peer[me] {
            diagram.rows.append(.arrow(from: diagram.other(peer, me: record.local), to: me, label: "RST"))
          } else {
            diagram.rows.append(.note(column: me, text: "\(record.syscall): \(errno.name)"))
          }
        } else {
          diagram.rows.append(
            .note(column: me, text: record.result == 0 ? "recv 0: end of stream" : "recv \(record.result)"))
        }
      case .shutdown:
        let me = mine()
        if !failed, record.how == .write || record.how == .both, let peer = record.peer {
          diagram.rows.append(.arrow(from: me, to: diagram.other(peer, me: record.local), label: "FIN (shutdown)"))
        } else {
          diagram.rows.append(.note(column: me, text: failed ? "shutdown: \(record.errno!.name)" : "shutdown read"))
        }
      case .close:
        let me = mine()
        if let peer = record.peer {
          let other = diagram.other(peer, me: record.local)
          diagram.rows.append(
            .arrow(from: me, to: other, label: record.reset ? "RST (close, unread data)" : "FIN (close)"))
        }
        diagram.rows.append(.note(column: me, text: "closed"))
        diagram.open[me] = false
        diagram.byFD[fd] = nil
      default:
        // A call the diagram has no arrow for: a note at its descriptor.
        let me = mine()
        let result = record.errno.map { $0.name } ?? "\(record.result)"
        diagram.rows.append(.note(column: me, text: "\(record.syscall) \(result)"))
      }
    }
    return diagram
  }

  /// A line of the diagram as terminal cells: a wide character fills its cell and leaves the
  /// next one empty (""), so that columns stay where they are whatever the labels hold.
  struct CellLine {
    var cells: [String]

    init(width: Int) { cells = [String](repeating: " ", count: width) }

    /// Writes `text` from cell `start`, stopping before `limit`; grows the line as needed.
    mutating func put(_ text: String, at start: Int, limit: Int) {
      var position = start
      for character in text {
        let width = Cells.width(of: character)
        if width == 0 {
          if position > 0 && position - 1 < cells.count { cells[position - 1] += String(character) }
          continue
        }
        if position + width > limit { break }
        if position + width > cells.count {
          cells += [String](repeating: " ", count: position + width - cells.count)
        }
        cells[position] = String(character)
        if width == 2 { cells[position + 1] = "" }
        position += width
      }
    }

    var text: String { cells.joined().trimmingTrailingSpaces }
  }

  static func render(_ diagram: Diagram, glyphs: Glyphs, width: Int = 80) -> [String] {
    let count = diagram.columns.count
    guard count > 0 else { return [] }
    let columnWidth = max(12, min(24, (width - 2) / count))
    let shown = min(count, max(1, (width - 2) / columnWidth))
    func center(_ index: Int) -> Int { index * columnWidth + columnWidth / 2 }
    let lineWidth = shown * columnWidth
    var lines: [String] = []
    // Header: each column's name, centred.
    var header = CellLine(width: lineWidth)
    for index in 0..<shown {
      let name = Cells.truncate(diagram.columns[index], to: columnWidth - 1)
      header.put(name, at: max(0, center(index) - Cells.width(name) / 2), limit: lineWidth)
    }
    lines.append(header.text)
    var alive = [Bool](repeating: true, count: count)
    func bars() -> CellLine {
      var line = CellLine(width: lineWidth)
      for index in 0..<shown where alive[index] { line.cells[center(index)] = glyphs.vertical }
      return line
    }
    for row in diagram.rows {
      var line = bars()
      switch row {
      case .arrow(let from, let to, let label):
        guard from < shown, to < shown, from != to else {
          if from < shown {
            let text = " " + (to < shown ? "" : "to " + diagram.columns[to] + ": ") + label
            line.put(text, at: center(from) + 1, limit: lineWidth)
          }
          lines.append(line.text)
          continue
        }
        let left = min(center(from), center(to))
        let right = max(center(from), center(to))
        for position in (left + 1)..<right { line.cells[position] = glyphs.horizontal }
        if from < to {
          line.cells[right - 1] = glyphs.arrowRight
        } else {
          line.cells[left + 1] = glyphs.arrowLeft
        }
        let room = right - left - 4
        let text = Cells.truncate(label, to: max(0, room))
        line.put(text, at: left + 2 + max(0, (room - Cells.width(text)) / 2), limit: right - 1)
      case .note(let column, let text):
        guard column < shown else { continue }
        // The last column's notes may run on to the full width: nothing is drawn right of them.
        let limit = column == shown - 1 ? max(lineWidth, width) : lineWidth
        line.put(" " + text, at: center(column) + 1, limit: limit)
        if text == "closed" {
          line.cells[center(column)] = glyphs.horizontal == "─" ? "╳" : "X"
          alive[column] = false
        }
      }
      lines.append(line.text)
    }
    if count > shown {
      lines.append("(\(count - shown) more columns do not fit: \(diagram.columns[shown...].joined(separator: ", ")))")
    }
    return lines
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let diagram = TimelineCommand.build(session.records)
    if diagram.columns.isEmpty {
      session.note("Nothing happened yet: make a socket first.")
      return .done
    }
    session.out.line("Timeline of this session (time runs down)", .heading)
    for line in TimelineCommand.render(diagram, glyphs: .choose(ascii: ascii), width: session.out.width) {
      session.out.line(line)
    }
    return .done
  }
}

private let ECONNREFUSED_ = Errno(named: "ECONNREFUSED")!.code
private let ECONNRESET_ = Errno(named: "ECONNRESET")!.code

extension String {
  var trimmingTrailingSpaces: String {
    var copy = self
    while copy.last == " " { copy.removeLast() }
    return copy
  }
}
