import Testing

@testable import SockShellKit

/// The one measure of text on a terminal: cells.
@Suite struct TextWidthTests {
  @Test(arguments: [
    ("abc", 3), ("中文", 4), ("e\u{301}", 1), ("é", 1), ("🎉", 2), ("日本é", 5), ("\u{2764}\u{FE0F}", 2), ("🇫🇷", 2),
  ])
  func textIsMeasuredInCells(text: String, cells: Int) {
    #expect(Cells.width(text) == cells)
  }

  /// A column after a wide name starts where it does after an ASCII one.
  @Test func tableColumnsLineUpWithWideText() {
    let lines = Table.render([["NAME", "STATE"], ["中文名", "LISTEN"], ["ab", "CLOSED"]]).map(\.text)
    let starts = lines.map { line in Cells.width(line.prefix { $0 != "L" && $0 != "C" && $0 != "S" }) }
    #expect(Set(starts).count == 1, "columns: \(lines)")
  }

  @Test func wrappingCountsCellsAndPaddingFillsThem() {
    let text = Array(repeating: "中文", count: 20).joined(separator: " ")
    for line in Cells.wrap(text, width: 30) { #expect(Cells.width(line) <= 30, "\(line)") }
    #expect(Cells.width("中".padded(to: 6)) == 6)
    #expect(Cells.truncate("中文字", to: 5) == "中文")
  }

  /// The caret of a parse error stands under the word, past wide characters before it.
  @Test func theCaretStandsUnderTheWordAfterWideText() {
    let session = makeSession()
    session.execute("send 3 \"中文\" bad")
    let lines = session.out.captured.split(separator: "\n").map(String.init)
    guard let shown = lines.first(where: { $0.contains("send 3") }),
      let caret = lines.first(where: { $0.hasSuffix("^") })
    else {
      Issue.record("no caret: \(lines)")
      return
    }
    let prefixCells = Cells.width(String(shown.prefix { $0 != "b" }))
    #expect(Cells.width(caret) - 1 == prefixCells, "\(shown)\n\(caret)")
  }

  /// The timeline keeps its columns when a label holds wide characters.
  @Test func timelineColumnsStayWithWideLabels() {
    var diagram = TimelineCommand.Diagram()
    let a = diagram.column(named: "3 (服务器)")
    let b = diagram.column(named: "4 (c)")
    diagram.rows = [.arrow(from: b, to: a, label: "5 \"你好\""), .note(column: a, text: "recv 6")]
    let lines = TimelineCommand.render(diagram, glyphs: .ascii, width: 60)
    let bars = lines.dropFirst().map { line -> [Int] in
      var cells: [Int] = []
      var position = 0
      for character in line {
        if character == "|" { cells.append(position) }
        position += Cells.width(of: character)
      }
      return cells
    }
    #expect(bars.last?.first == bars.first?.first, "\(lines.joined(separator: "\n"))")
  }
}

/// A system call's line fits the terminal, cut at its arguments, never inside a token.
@Suite struct CallLineWrapTests {
  @Test func callLinesWrapAtArgumentsOnly() {
    let session = makeSession()
    session.out.width = 80
    runAll(
      session,
      """
      u = socket udp
      bind u 127.0.0.1:0
      sendto u u "a, b, c \\", d"

      """ + connectedPair)
    let lines = session.out.captured.split(separator: "\n").map(String.init)
    for line in lines { #expect(Cells.width(line) <= 80, "\(line)") }
    #expect(lines.contains { $0.hasPrefix(#"sendto("#) && $0.contains(#""a, b, c \", d""#) }, "the data stays whole")
    let accept = try! #require(lines.firstIndex { $0.hasPrefix("accept(") })
    #expect(lines[accept + 1].hasPrefix("    sin_addr="), "continued under the call: \(lines[accept...accept + 1])")
    #expect(lines[accept + 1].hasSuffix(" conn"), "the name stays with the result")
  }

  /// ls fits 80 columns with connections and TIME_WAIT: shortened columns with a key; --wide
  /// keeps the full table.
  @Test func lsFitsEightyColumns() {
    let session = makeSession()
    session.out.width = 80
    runAll(session, connectedPair + "u = socket udp ipv6\nclose c\nrecv conn = 0\nclose conn\nls")
    let lines = session.out.captured.split(separator: "\n").map(String.init)
    let table = lines.drop { !$0.hasPrefix("FD  NAME") }
    #expect(table.first?.contains("KIND") == true, "\(lines)")
    for line in table { #expect(Cells.width(line) <= 80, "\(line)") }
    let before = session.out.captured.count
    runAll(session, "ls --wide")
    #expect(String(session.out.captured.dropFirst(before)).contains("FAMILY  TYPE"))
  }

  /// inspect of TCP, UDP and Unix sockets fits 80 columns: long fields wrap under their value.
  @Test func inspectFitsEightyColumns() {
    let session = makeSession()
    session.out.width = 80
    let name = "sockshell-inspect-\(UInt64.random(in: 0...UInt64.max))"
    runAll(
      session,
      connectedPair + "u = socket udp\nbind u 127.0.0.1:0\nx = socket unix stream\nbind x @\(name)\n"
        + "inspect conn\ninspect u\ninspect x")
    let lines = session.out.captured.split(separator: "\n").map(String.init)
    for line in lines { #expect(Cells.width(line) <= 80, "\(line)") }
    #expect(lines.contains { $0.hasPrefix("                    sin_addr=") }, "a struct continues under itself")
  }
}
