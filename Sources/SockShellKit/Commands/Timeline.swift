import SocketLayer

/// `timeline [--ascii]`: a sequence diagram of the session.
struct TimelineCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "timeline",
    synopsis: "timeline [--ascii] [--wire] [--svg FILE] [FD...]",
    summary: "a sequence diagram of the session: a column per endpoint, arrows for set-up, data, FIN and RST",
    example: "timeline",
    details: [
      "When both ends of a connection are in this shell, the arrows join their two columns.",
      "timeline --wire draws the packets the wire showed (wire on) as arrows too: SYN, SYN-ACK, ACK, data, FIN, RST, a zero window (win 0), data sent again.",
      "--svg FILE writes the same drawing as an SVG picture (every column, names whole), for handouts and slides.",
      "timeline FD FD... draws only those columns (descriptors by number or name, open or closed, or a peer's address), in that order: when the columns do not fit the terminal, it says which are left out.",
    ],
    completion: [.words(["--ascii", "--wire", "--svg"]), .descriptor],
    group: .options
  )

  var ascii = false
  var wire = false
  /// `--svg FILE`: the drawing written as SVG too.
  var svg: String?
  /// The columns asked for, as typed; none for all.
  var only: [String] = []

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    while !arguments.isAtEnd {
      let word = try arguments.word("FD (a descriptor number or name)")
      switch word {
      case "--ascii": ascii = true
      case "--wire": wire = true
      case "--svg": svg = try arguments.word("FILE after --svg")
      default: only.append(word)
      }
    }
  }

  var arguments: [String] {
    (ascii ? ["--ascii"] : []) + (wire ? ["--wire"] : []) + (svg.map { ["--svg", Lexer.quote(Array($0.utf8))] } ?? [])
      + only
  }

  /// Writing a picture writes a file: held to the policy of lines from elsewhere like save.
  var effects: Capabilities { svg == nil ? [] : [.writesFiles] }

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
    /// A Unix stream socket's inode: two unnamed ends are told apart by it alone.
    var inode: [UInt64?] = []
    var peerInode: [UInt64?] = []
    var open: [Bool] = []
    var rows: [Row] = []
    /// The column of each open descriptor number.
    var byFD: [Int32: Int] = [:]
    /// With `timeline FD...`: the first this many columns are drawn, the rest only named in
    /// the rows that reach them.
    var selected: Int?

    /// The diagram with the columns at `indices` first, in that order, and only they drawn.
    func keeping(_ indices: [Int]) -> Diagram {
      let order = indices + columns.indices.filter { !indices.contains($0) }
      var place = [Int](repeating: 0, count: columns.count)
      for (new, old) in order.enumerated() { place[old] = new }
      var copy = self
      copy.columns = order.map { columns[$0] }
      copy.rows = rows.compactMap { row in
        switch row {
        case .arrow(let from, let to, let label):
          // A row between two columns left out is not drawn.
          guard indices.contains(from) || indices.contains(to) else { return nil }
          return .arrow(from: place[from], to: place[to], label: label)
        case .note(let column, let text):
          return indices.contains(column) ? .note(column: place[column], text: text) : nil
        }
      }
      copy.selected = indices.count
      return copy
    }

    mutating func column(named name: String) -> Int {
      columns.append(name)
      local.append(nil)
      peer.append(nil)
      inode.append(nil)
      peerInode.append(nil)
      open.append(true)
      return columns.count - 1
    }

    /// The column of the other end. A Unix stream peer is the column with that inode (addresses
    /// cannot tell unnamed ends apart); otherwise a column whose local address is `address` and
    /// whose peer is `me` (even if closed since: a late RST comes from it), else a listener on
    /// that address, else a column for the remote peer.
    mutating func other(_ address: SocketAddress, me: SocketAddress?, peerInode: UInt64? = nil) -> Int {
      if let peerInode, let end = inode.lastIndex(of: peerInode) { return end }
      // Bound there, or to every address with that port (a wildcard listener takes 127.0.0.1:P).
      func matches(_ index: Int) -> Bool {
        guard let bound = local[index] else { return false }
        return Session.sameEndpoint(bound, address)
          || (bound.isWildcard && address.family != .unix && bound.port == address.port)
      }
      if let me, me != .unnamed, address.family != .unix,
        let end = columns.indices.last(where: { index in
          matches(index) && peer[index].map { Session.sameEndpoint($0, me) } == true
        })
      {
        return end
      }
      if let listener = columns.indices.first(where: { open[$0] && matches($0) && peer[$0] == nil && inode[$0] == nil })
      {
        return listener
      }
      let name = address.description
      if let existing = columns.firstIndex(of: name) { return existing }
      let index = column(named: name)
      local[index] = address
      return index
    }
  }

  /// A connection the kernel has made before accept gives it a descriptor: its column exists
  /// from the handshake on (data sent before accept goes to it), named as accept will name it.
  struct PendingAccept {
    let label: String
    let local: SocketAddress?
    let peer: SocketAddress?
    /// Unix: the accepted socket's inode, and its peer's (the connecting socket's).
    let inode: UInt64?
    let peerInode: UInt64?
  }

  /// The label of a packet's arrow: what it is, in words a learner knows.
  static func wireLabel(_ record: WireRecord) -> String {
    switch record.kind {
    case .udp: return "UDP \(record.length)"
    case .icmp: return "ICMP"
    case .tcp:
      let flags = record.flags
      var label: String
      if flags.contains("R") {
        label = "RST"
      } else if flags.contains("S") {
        label = flags.contains(".") ? "SYN-ACK" : "SYN"
      } else if flags.contains("F") {
        label = record.length > 0 ? "\(record.length) +FIN" : "FIN"
      } else if record.length > 0 {
        label = "\(record.length) bytes"
      } else {
        label = "ACK"
      }
      if record.zeroWindow { label += " win 0" }
      if record.retransmission { label += " again" }
      return label
    }
  }

  static func build(_ records: [CallRecord], wire: [WireRecord] = []) -> Diagram {
    var diagram = Diagram()
    var packets = wire[...]
    /// The packets that came before call `index` (0-based): drawn as arrows between their ends.
    func drawPackets(before index: Int) {
      var batch: [WireRecord] = []
      while let packet = packets.first, packet.calls <= index {
        packets.removeFirst()
        batch.append(packet)
      }
      // A burst (a large send) is summed up as the wire's lines are: a run of plain packets
      // becomes one arrow a direction; SYN, FIN, RST, zero windows and resends stay one by one.
      var at = 0
      while at < batch.count {
        var run = at
        while run < batch.count && !batch[run].notable { run += 1 }
        if run - at >= 6 {
          var order: [(from: Int, to: Int)] = []
          var totals: [String: (count: Int, bytes: Int)] = [:]
          for packet in batch[at..<run] {
            let ends = (
              from: diagram.other(packet.source, me: packet.destination),
              to: diagram.other(packet.destination, me: packet.source)
            )
            let key = "\(ends.from)>\(ends.to)"
            if totals[key] == nil { order.append(ends) }
            totals[key, default: (0, 0)].count += 1
            totals[key, default: (0, 0)].bytes += packet.length
          }
          for ends in order {
            let total = totals["\(ends.from)>\(ends.to)"]!
            let label = total.bytes > 0 ? "\(total.count) segs, \(total.bytes) B" : "\(total.count) ACKs"
            diagram.rows.append(.arrow(from: ends.from, to: ends.to, label: label))
          }
          at = run
          continue
        }
        let packet = batch[at]
        let from = diagram.other(packet.source, me: packet.destination)
        let to = diagram.other(packet.destination, me: packet.source)
        diagram.rows.append(.arrow(from: from, to: to, label: wireLabel(packet)))
        at += 1
      }
    }
    // The accepts to come, by the connection they take (TCP: its addresses; Unix: its inode).
    var pending: [PendingAccept] = records.compactMap { record in
      guard record.kind == .accept, record.errno == nil else { return nil }
      return PendingAccept(
        label: record.label ?? "fd \(record.result)", local: record.local, peer: record.peer, inode: record.inode,
        peerInode: record.peerInode)
    }
    /// The column of a connection accept will take, made now, for the connect that made it
    /// (TCP: the same address pair; Unix: the accepted socket's peer is the connecting one).
    func acceptedColumn(local: SocketAddress?, peer: SocketAddress?, connecting: UInt64?) -> Int? {
      guard
        let index = pending.firstIndex(where: { entry in
          if let connecting { return entry.peerInode == connecting }
          guard let local, let peer, let entryLocal = entry.local, let entryPeer = entry.peer else { return false }
          return Session.sameEndpoint(entryLocal, peer) && Session.sameEndpoint(entryPeer, local)
        })
      else { return nil }
      let entry = pending.remove(at: index)
      let column = diagram.column(named: entry.label)
      diagram.local[column] = entry.local
      diagram.peer[column] = entry.peer
      diagram.inode[column] = entry.inode
      return column
    }
    var madeEarly: [Int] = []
    // One reset ends a connection: the error that reports it later (ECONNRESET) is not another.
    var resetInto: Set<Int> = []
    func reset(from other: Int, to me: Int, label: String = "RST") {
      guard !resetInto.contains(me) else { return }
      resetInto.insert(me)
      diagram.rows.append(.arrow(from: other, to: me, label: label))
    }
    for (index, record) in records.enumerated() {
      drawPackets(before: index)
      guard record.kind.drawnInTimeline, let fd = record.fd else { continue }
      func mine() -> Int {
        if let index = diagram.byFD[fd] { return index }
        let index = diagram.column(named: record.label ?? "fd \(fd)")
        diagram.byFD[fd] = index
        return index
      }
      func peerColumn() -> Int? {
        guard let target = record.peer ?? diagram.peer[mine()] else { return nil }
        return diagram.other(target, me: record.local, peerInode: record.peerInode ?? diagram.peerInode[mine()])
      }
      let failed = record.errno != nil
      // A socket that sent before it was bound got its address then (UDP's sendto).
      if record.kind != .accept, record.kind != .socket, let local = record.local, local.port != 0,
        let index = diagram.byFD[fd], diagram.local[index] == nil
      {
        diagram.local[index] = local
      }
      switch record.kind {
      case .socket:
        let index = diagram.column(named: record.label ?? "fd \(fd)")
        diagram.byFD[fd] = index
      case .bind, .listen:
        if !failed { diagram.local[mine()] = record.local }
      case .connect:
        let me = mine()
        diagram.local[me] = record.local
        diagram.inode[me] = record.inode
        diagram.peerInode[me] = record.peerInode
        if let errno = record.errno {
          // A TCP connect that failed sent a SYN; a Unix one sent nothing.
          // (With the wire, its packets are drawn as they were captured instead.)
          if let target = record.address, target.family != .unix {
            let other = diagram.other(target, me: nil)
            if wire.isEmpty { diagram.rows.append(.arrow(from: me, to: other, label: "SYN")) }
            if errno.code == ECONNREFUSED_ {
              if wire.isEmpty {
                diagram.rows.append(.arrow(from: other, to: me, label: "RST"))
              } else {
                diagram.rows.append(.note(column: me, text: "connect: ECONNREFUSED"))
              }
              continue
            }
          }
          diagram.rows.append(.note(column: me, text: "connect: \(errno.name)"))
        } else if let target = record.peer {
          diagram.peer[me] = target
          // The handshake reaches the listener; the connection it makes waits for accept.
          let listener = diagram.other(target, me: nil)
          diagram.rows.append(.arrow(from: me, to: listener, label: "connect"))
          if let column = acceptedColumn(local: record.local, peer: target, connecting: record.inode) {
            madeEarly.append(column)
            diagram.peerInode[me] = diagram.inode[column]
            diagram.rows.append(.note(column: column, text: "in the accept queue"))
          }
        }
      case .accept:
        guard !failed, let listener = diagram.byFD[fd] else { continue }
        let index =
          madeEarly.first(where: { column in
            if let inode = record.inode { return diagram.inode[column] == inode }
            return diagram.local[column] == record.local && diagram.peer[column] == record.peer
          }) ?? diagram.column(named: record.label ?? "fd \(record.result)")
        madeEarly.removeAll { $0 == index }
        pending.removeAll { $0.label == diagram.columns[index] && $0.inode == record.inode }
        diagram.byFD[Int32(record.result)] = index
        diagram.local[index] = record.local
        diagram.peer[index] = record.peer
        diagram.inode[index] = record.inode
        diagram.peerInode[index] = record.peerInode
        diagram.rows.append(.arrow(from: listener, to: index, label: "accept: new fd \(record.result)"))
      case .send, .sendto:
        let me = mine()
        if let errno = record.errno {
          if errno.code == ECONNRESET_, let other = peerColumn() { reset(from: other, to: me) }
          diagram.rows.append(.note(column: me, text: "\(record.syscall): \(errno.name)"))
          continue
        }
        let label = "\(record.result) " + ByteText.quoted(record.data.prefix(record.result), limit: 6)
        // A reset that came back within the send leaves no peer to read: the one known before.
        let target = record.kind == .sendto ? record.address ?? record.peer : record.peer ?? diagram.peer[me]
        if let target {
          let other = diagram.other(target, me: record.local, peerInode: record.peerInode ?? diagram.peerInode[me])
          diagram.rows.append(.arrow(from: me, to: other, label: label))
          // The peer had closed: it answered these bytes with a reset.
          if record.reset { reset(from: other, to: me) }
        } else {
          diagram.rows.append(.note(column: me, text: "send \(label)"))
        }
      case .recv, .recvfrom:
        let me = mine()
        if let errno = record.errno {
          if errno.code == ECONNRESET_, let other = peerColumn() {
            if resetInto.contains(me) {
              diagram.rows.append(.note(column: me, text: "\(record.syscall): \(errno.name)"))
            } else {
              reset(from: other, to: me)
            }
          } else {
            diagram.rows.append(.note(column: me, text: "\(record.syscall): \(errno.name)"))
          }
        } else if record.result == 0 {
          let datagram = record.socketType == .datagram
          diagram.rows.append(.note(column: me, text: datagram ? "recv 0: an empty datagram" : "recv 0: end of stream"))
        } else {
          diagram.rows.append(.note(column: me, text: "recv \(record.result)"))
        }
      case .shutdown:
        let me = mine()
        if !failed, record.how == .write || record.how == .both, let other = peerColumn() {
          diagram.rows.append(.arrow(from: me, to: other, label: "FIN (shutdown)"))
        } else {
          diagram.rows.append(.note(column: me, text: failed ? "shutdown: \(record.errno!.name)" : "shutdown read"))
        }
      case .close:
        let me = mine()
        if let peer = record.peer {
          let other = diagram.other(peer, me: record.local, peerInode: diagram.peerInode[me])
          if record.reset {
            reset(from: me, to: other, label: "RST (close)")
          } else {
            diagram.rows.append(.arrow(from: me, to: other, label: "FIN (close)"))
          }
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
    drawPackets(before: Int.max)
    return diagram
  }

  /// A line of the diagram as terminal cells: a wide character fills its cell and leaves the
  /// next one empty (""), so that columns stay where they are whatever the labels hold.
  struct CellLine {
    var cells: [String]

    init(width: Int) { cells = [String](repeating: " ", count: width) }

    /// Writes `text` from cell `start`, stopping before `limit`; grows the line as needed. Text
    /// that does not fit ends in `cut` (…), never silently short: `recv 10` is not `recv 100000`.
    mutating func put(_ text: String, at start: Int, limit: Int, cut: String = "…") {
      var position = start
      let total = Cells.width(text)
      var text = text
      if start + total > limit {
        // Never cut inside a number or an address: "400000…" would read as a number of its
        // own. The cut goes before the word it would split.
        var kept = Cells.truncate(text, to: max(0, limit - 1 - start))
        if let next = text.dropFirst(kept.count).first, next != " ", let last = kept.last,
          last.isNumber || last == "." || last == ":"
        {
          while let end = kept.last, end != " " && end != "(" { kept.removeLast() }
        }
        text = kept + "\u{0}"
      }
      for character in text {
        if character == "\u{0}" {
          if position < limit && position >= start {
            if position >= cells.count { cells += [String](repeating: " ", count: position + 1 - cells.count) }
            cells[position] = cut
          }
          break
        }
        let width = Cells.width(of: character)
        if width == 0 {
          if position > 0 && position - 1 < cells.count { cells[position - 1] += String(character) }
          continue
        }
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

  /// Whether a column's label (`3 (srv)`, `3`, or a peer's address) is the one a word names:
  /// its number, its name, or the whole label.
  static func column(_ label: String, isCalled word: String) -> Bool {
    label == word || label.hasPrefix(word + " (") || label.hasSuffix("(" + word + ")")
  }

  static func render(_ diagram: Diagram, glyphs: Glyphs, width: Int = 80) -> [String] {
    let count = diagram.selected ?? diagram.columns.count
    guard count > 0 else { return [] }
    let columnWidth = max(12, min(24, (width - 2) / count))
    let shown = min(count, max(1, (width - 2) / columnWidth))
    func center(_ index: Int) -> Int { index * columnWidth + columnWidth / 2 }
    let lineWidth = shown * columnWidth
    var lines: [String] = []
    let cut = glyphs.horizontal == "─" ? "…" : "~"
    // Header: each column's name, centred. A name too long for its column is never cut
    // (127.0.0.1:18080 and 127.0.0.1:18081 must not both read 127.0.0.1:18): the column shows
    // its descriptor's number, or a peer's letter, and a key under the header gives it whole.
    var key: [String] = []
    var header = CellLine(width: lineWidth)
    var letters = 0
    for index in 0..<shown {
      var name = diagram.columns[index]
      if Cells.width(name) > columnWidth - 1 {
        let number = name.prefix { $0.isASCIIDigitCharacter }
        let short: String
        if !number.isEmpty && name.dropFirst(number.count).hasPrefix(" (") {
          short = String(number)
        } else {
          short =
            "peer " + String(UnicodeScalar(UInt8(ascii: "A") + UInt8(letters % 26)))
            + (letters >= 26 ? String(letters / 26) : "")
          letters += 1
        }
        key.append(short + " = " + name)
        name = short
      }
      header.put(name, at: max(0, center(index) - Cells.width(name) / 2), limit: lineWidth, cut: cut)
    }
    lines.append(header.text)
    if !key.isEmpty { lines += Cells.wrap("(" + key.joined(separator: ", ") + ")", width: width) }
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
          // One end is not drawn: the row stands at the end that is, naming the other.
          let text: String
          let at: Int
          if from < shown {
            (text, at) = (" " + (to < shown ? "" : "to " + diagram.columns[to] + ": ") + label, from)
          } else if to < shown {
            (text, at) = (" from " + diagram.columns[from] + ": " + label, to)
          } else {
            continue  // between columns that do not fit: said below
          }
          line.put(text, at: center(at) + 1, limit: max(lineWidth, width), cut: cut)
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
        let start = left + 2 + max(0, (room - Cells.width(label)) / 2)
        line.put(label, at: start, limit: right - 1, cut: cut)
      case .note(let column, let text):
        guard column < shown else { continue }
        // The last column's notes may run on to the full width: nothing is drawn right of them.
        let limit = column == shown - 1 ? max(lineWidth, width) : lineWidth
        line.put(" " + text, at: center(column) + 1, limit: limit, cut: cut)
        if text == "closed" {
          line.cells[center(column)] = glyphs.horizontal == "─" ? "╳" : "X"
          alive[column] = false
        }
      }
      lines.append(line.text)
    }
    if count > shown {
      let left = diagram.columns[shown..<count]
      lines += Cells.wrap(
        "(\(count - shown) more \(count - shown == 1 ? "column does" : "columns do") not fit: "
          + "\(left.joined(separator: ", ")); timeline FD FD... draws the columns you choose)", width: width)
    }
    return lines
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    if wire && session.wireRecords.isEmpty {
      session.note(
        "The wire showed no packets yet (wire on, or sockshell --wire, shows them): the calls alone are drawn.")
    }
    let diagram = TimelineCommand.build(session.records, wire: wire ? session.wireRecords : [])
    if diagram.columns.isEmpty {
      session.note("Nothing happened yet: make a socket first.")
      return .done
    }
    var chosen = diagram
    if !only.isEmpty {
      var indices: [Int] = []
      for word in only {
        // A name given later (name 5 conn) stands for its descriptor's number; a number used
        // again (a closed fd's) means its latest column.
        let number = session.openDescriptors.first { $0.name == word }.map { "\($0.fd)" }
        let matching = diagram.columns.indices.filter { index in
          TimelineCommand.column(diagram.columns[index], isCalled: word)
            || number.map { TimelineCommand.column(diagram.columns[index], isCalled: $0) } == true
        }
        guard let latest = matching.last else {
          throw CommandRefusal(
            "The timeline has no column '\(word)': its columns are \(diagram.columns.joined(separator: ", ")).")
        }
        if !indices.contains(latest) { indices.append(latest) }
      }
      chosen = diagram.keeping(indices)
    }
    session.out.line("Timeline of this session (time runs down)", .heading)
    for line in TimelineCommand.render(chosen, glyphs: .choose(ascii: ascii), width: session.out.width) {
      session.out.line(line)
    }
    if let svg {
      _ = try FileWriter.write(SVG.timeline(chosen), to: svg, what: "the timeline as SVG", session: session)
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
