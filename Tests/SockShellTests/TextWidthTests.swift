import SocketLayer
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

/// Every view at 80 columns (a projector): no line wider than 80 cells, and no token broken:
/// each word shown at 80 columns is a word of the same view drawn with no width limit (numbers
/// read as N, since ports and timers differ between the two sessions), or a word of the
/// narrow layouts' own key.
@Suite struct EveryViewAtEightyColumnsTests {
  /// A session using every command and view: TCP over IPv4 and IPv6, UDP, Unix stream and
  /// datagram (a long abstract name), errors, TIME_WAIT, options, and the diagrams.
  static func script(_ tag: UInt32) -> [String] {
    let unix = "@sockshell-every-view-drawn-at-eighty-columns-\(tag)"
    return """
      srv = socket tcp
      setsockopt srv reuseaddr 1
      bind srv 127.0.0.1:0
      listen srv 5
      c = socket tcp
      connect c srv
      conn = accept srv
      send c "hello, world, this is a longer message of data\\n"
      recv conn 5
      recv conn peek
      getsockname conn
      getpeername conn
      getsockopt conn
      getsockopt conn rcvbuf
      nonblock conn on
      recv conn
      recv conn
      poll conn c srv --timeout 0
      shutdown c write
      inspect conn
      close c
      recv conn
      close conn
      v6 = socket tcp ipv6
      bind v6 [::1]:0
      listen v6
      c6 = socket tcp ipv6
      connect c6 v6
      a6 = accept v6
      send a6 "x"
      u = socket udp
      bind u 127.0.0.1:0
      w = socket udp ipv6
      bind w [::1]:0
      sendto u u "one datagram"
      recvfrom u 4
      sendto w w "two"
      x = socket unix stream
      bind x \(unix)
      listen x
      y = socket unix stream
      connect y x
      xa = accept x
      send y "unix bytes"
      d = socket unix dgram
      bind d \(unix)-d
      sendto d d "unix datagram"
      name 4 renamed
      inspect u
      inspect xa
      inspect d
      ls
      ls --all
      timeline
      timeline conn c
      tcp conn
      tcp a6
      addr 127.0.0.1:8080
      addr [::1]:8080
      addr \(unix)
      explain ECONNREFUSED
      explain EADDRINUSE
      help
      help all
      trace
      help socket
      help recv
      history
      r = socket tcp
      connect r 127.0.0.1:\(freePort())
      """.split(separator: "\n").map(String.init)
  }

  /// Words of the narrow layouts that the wide ones do not need: ls's short columns and key.
  static let narrowVocabulary = Set(
    """
    KIND RQ SQ RDY local peer KIND: tcp4 is TCP over IPv4, udp6 UDP over IPv6; RQ, SQ: RECV-Q, SEND-Q; RDY:
    ready to Read, Write, or an Error (ls --wide: the full table). tcpN udpN unix-stream unix-dgram
    IPvN, IPvN; more columns do not fit: timeline FD FD... draws the columns you choose) (d);
    A wider terminal shows what each lesson requires (so does lessons --json).
    """.split(whereSeparator: \.isWhitespace).map(String.init))

  static func words(_ text: String) -> [String] {
    // The diagrams' lines and arrow heads stand between words, as spaces do.
    text.split { $0.isWhitespace || "│─▶◀╳╱╲↓↑•".contains($0) }.map { word in
      var out = ""
      for character in word {
        // A run of digits reads as one N.
        if character.isASCIIDigitCharacter {
          if out.last != "N" { out.append("N") }
        } else {
          out.append(character)
        }
      }
      return out
    }
  }

  @Test func everyViewFitsEightyColumnsWithNoTokenBroken() throws {
    let narrow = makeSession()
    narrow.out.width = 80
    let wide = makeSession()
    defer {
      _ = narrow.closeAll()
      _ = wide.closeAll()
    }
    let tag = UInt32.random(in: 0...UInt32.max / 2)
    // Line by line in both sessions, so that their states stay alike (each its own Unix names).
    for (one, other) in zip(
      EveryViewAtEightyColumnsTests.script(tag), EveryViewAtEightyColumnsTests.script(tag + UInt32.max / 2))
    {
      _ = narrow.execute(one)
      _ = wide.execute(other)
    }
    // Help on every command and topic; every errno's explanation.
    let help = Registry.commands.map { "help " + $0.spec.name } + HelpCommand.topics.keys.sorted().map { "help " + $0 }
    for line in help + Errno.allNames.map({ "explain " + $0 }) {
      _ = narrow.execute(line)
      _ = wide.execute(line)
    }
    // The list of lessons, with progress that has skipped steps; every hint of every lesson.
    for session in [narrow, wide] {
      let library = LessonLibrary(directory: packageRoot + "/Lessons", progressPath: nil)
      library.progress.lessons["close-shutdown"] = Progress.Entry(step: 3, done: false, skipped: [0, 1, 2])
      session.library = library
      _ = session.execute("lessons")
      for lesson in library.lessons {
        for step in lesson.steps {
          for hint in step.hints { LessonRun.print(hint.split(separator: "\n").map(String.init), to: session.out) }
        }
      }
    }
    // Every step of every lesson, as the lesson prints it.
    let library = LessonLibrary(directory: packageRoot + "/Lessons", progressPath: nil)
    for lesson in library.lessons {
      for source in [lesson.introduction] + lesson.steps.map(\.text) {
        LessonRun.print(source, to: narrow.out)
        LessonRun.print(source, to: wide.out)
      }
    }
    let narrowText = narrow.out.captured
    let wideText = wide.out.captured
    for view in ["KIND", "Timeline of this session", "TCP states of", "TCP_INFO", "sun_path", "sin6_port"] {
      #expect(narrowText.contains(view), "the session drew \(view)")
    }
    for line in narrowText.split(separator: "\n") where Cells.width(line) > 80 {
      // Only a word wider than the room left for it stays whole past the edge (a long name).
      let indent = line.prefix { $0 == " " }
      let words = line.dropFirst(indent.count).split(separator: " ")
      #expect(
        words.count == 1 && Cells.width(words[0]) > 80 - indent.count - 4,
        "wider than 80 cells (\(Cells.width(line))): \(line)")
    }
    let allowed = Set(EveryViewAtEightyColumnsTests.words(wideText)).union(
      EveryViewAtEightyColumnsTests.narrowVocabulary)
    var broken: [String] = []
    for line in narrowText.split(separator: "\n") {
      for word in EveryViewAtEightyColumnsTests.words(String(line))
      where !allowed.contains(word) && !word.contains("…") && !word.contains("~") {
        broken.append("\(word)   in: \(line)")
      }
    }
    #expect(
      broken.isEmpty,
      "words shown at 80 columns that no wide view has (a token cut):\n\(broken.joined(separator: "\n"))")
  }
}

/// Wrapping ASCII text takes a faster path: it cuts where the general rule cuts.
@Suite struct WrapPathsTests {
  @Test func asciiWrapsAsTheGeneralRuleDoes() {
    var random = SystemRandomNumberGenerator()
    let words = ["a", "socket", "", "ECONNREFUSED", "127.0.0.1:8080", "x", "the", "kernel's", "(state", "CLOSED)."]
    for _ in 0..<500 {
      let text = (0..<Int.random(in: 1...40, using: &random)).map { _ in words.randomElement(using: &random)! }
        .joined(separator: " ")
      let width = Int.random(in: 21...60, using: &random)
      for continuation in ["  ", "", "    "] {
        // The same text with one wide character at its end takes the general path.
        let general = Cells.wrap(text + " 中", width: width, continuation: continuation)
        let ascii = Cells.wrap(text + " xx", width: width, continuation: continuation)
        #expect(
          general.map { $0.replacing("中", with: "xx") } == ascii, "\(text) at \(width) with '\(continuation)'")
      }
    }
  }
}

/// A packet's line wraps between its fields, never inside its data preview or SYN options.
@Suite struct WireLineWrapTests {
  @Test func previewsAndOptionsStayWhole() {
    let out = Output(fd: nil, color: false)
    out.width = 40
    out.line(#"  wire  a > b  P. seq 1:17 ack 1 len 16  "ping \" from python""#, .wire)
    out.line("  wire  a > b  S seq 0 win 65495 <mss 65495,sackOK,TS,nop,wscale 10>", .wire)
    let lines = out.captured.split(separator: "\n").map(String.init)
    #expect(lines.contains { $0.contains(#""ping \" from python""#) }, "\(lines)")
    #expect(lines.contains { $0.contains("<mss 65495,sackOK,TS,nop,wscale 10>") }, "\(lines)")
    #expect(!lines.contains { $0.contains("\u{A0}") }, "no held space is left in what is shown")
  }
}

/// Received data shown as text is cut into pieces that fit 80 columns; a piece that does not end
/// in \\n goes on on the next line.
@Suite struct DataDumpWidthTests {
  @Test func aLongLineOfDataFitsEightyColumns() {
    let lines = DataView.detail([UInt8](repeating: UInt8(ascii: "x"), count: 1000) + [0x0A] + Array("end\n".utf8))
    #expect(lines.count > 12, "\(lines.count)")
    for line in lines { #expect(Cells.width(line) <= 80, "\(line)") }
    #expect(lines.contains { $0.hasSuffix(#"x\n"#) } && lines.last?.hasSuffix(#"end\n"#) == true, "\(lines.suffix(3))")
  }
}
