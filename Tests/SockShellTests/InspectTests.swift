import Foundation
import SocketLayer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@testable import SockShellKit

/// `ls`, `inspect` and friends against real kernel state.
/// Runs a `--json` line and reads what it printed with Foundation's JSON parser.
func jsonObject(_ session: Session, _ line: String) throws -> [String: Any] {
  let before = session.out.captured.count
  #expect(session.execute(line).ok)
  let text = String(session.out.captured.dropFirst(before))
  return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite struct InspectTests {

  @Test func acceptQueueUnreadBytesAndJSONAgreeWithTheTable() throws {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv 4
      a = socket tcp
      connect a srv
      b = socket tcp
      connect b srv
      conn = accept srv
      send a "twelve bytes" = 12
      """)
    // Bounded wait: the bytes cross loopback at once, but let the kernel finish.
    let conn = try #require(fd(session, "conn"))
    for _ in 0..<100 where (try? Sys.queueSize(conn, outgoing: false).get()) != 12 { usleep(10_000) }
    let document = try jsonObject(session, "ls --json")
    let rows = try #require(document["descriptors"] as? [[String: Any]])
    let listener = try #require(rows.first { $0["name"] as? String == "srv" })
    #expect(listener["state"] as? String == "LISTEN")
    #expect(listener["accept_queue"] as? Int == 1, "b waits in the accept queue")
    #expect(listener["backlog"] as? Int == 4)
    #expect(listener["ready"] as? String == "R")
    let accepted = try #require(rows.first { $0["name"] as? String == "conn" })
    #expect(accepted["recv_q"] as? Int == 12)
    #expect(accepted["ready"] as? String == "RW")

    session.execute("ls")
    let table = session.out.captured.split(separator: "\n")
    let line = try #require(table.last { $0.hasPrefix("\(conn) ") && $0.contains("conn") })
    let columns = line.split(separator: " ", omittingEmptySubsequences: true)
    #expect(columns[4] == "ESTABLISHED")
    #expect(columns[7] == "12", "RECV-Q in the table: \(line)")
    #expect(columns[9] == "RW")
  }

  @Test func timeWaitIsListedWithItsTimerAfterClose() throws {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        close c
        """)
    let cState = try jsonObject(session, "ls --json")
    let closedFirst = try #require(cState["closed"] as? [[String: Any]])
    #expect(
      closedFirst.first?["state"] as? String == "FIN_WAIT2" || closedFirst.first?["state"] as? String == "FIN_WAIT1")
    runAll(session, "close conn")
    var closed: [[String: Any]] = []
    for _ in 0..<100 {
      closed = try #require(try jsonObject(session, "ls --json")["closed"] as? [[String: Any]])
      if closed.first?["state"] as? String == "TIME_WAIT" { break }
      usleep(10_000)
    }
    let entry = try #require(closed.first)
    #expect(entry["state"] as? String == "TIME_WAIT")
    #expect(entry["was"] as? String == "4 (c)" || (entry["was"] as? String)?.hasSuffix("(c)") == true)
    let seconds = try #require(entry["seconds_left"] as? Double)
    #expect(seconds > 50 && seconds <= 60)
    session.execute("ls")
    #expect(session.out.captured.contains("Kept by the kernel with no descriptor:"))
    #expect(session.out.captured.contains("timewait, "))
  }

  @Test func flagsShowOptionsNonBlockingAndShutdowns() throws {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      setsockopt srv reuseaddr 1
      bind srv 127.0.0.1:0
      listen srv
      c = socket tcp
      connect c srv
      setsockopt c nodelay 1
      nonblock c on
      shutdown c write
      """)
    let rows = try #require(try jsonObject(session, "ls --json")["descriptors"] as? [[String: Any]])
    let c = try #require(rows.first { $0["name"] as? String == "c" })
    #expect(c["flags"] as? [String] == ["nonblock", "shut-wr", "nodelay"])
    let srv = try #require(rows.first { $0["name"] as? String == "srv" })
    #expect(srv["flags"] as? [String] == ["reuseaddr"])
  }
}

@Suite struct InspectCommandTests {
  @Test func inspectShowsNoDelayStructuresAndTCPInfo() throws {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        setsockopt c nodelay 1
        send c "hello" = 5
        recv conn = 5
        """)
    let before = session.out.captured.count
    runAll(session, "inspect c")
    let text = String(session.out.captured.dropFirst(before))
    #expect(text.range(of: #"\n  nodelay +1 \(on\) +send small"#, options: .regularExpression) != nil, "\(text)")
    #expect(text.contains("struct sockaddr_in {sa_family=AF_INET, sin_port=htons(\(port(session, "srv") ?? 0))"))
    #expect(text.contains("state          ESTABLISHED"))
    #expect(text.contains("bytes_sent     5 "))

    let jsonStart = session.out.captured.count
    runAll(session, "inspect c --json")
    let data = Data(session.out.captured.dropFirst(jsonStart).utf8)
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect((object["options"] as? [String: String])?["nodelay"] == "1 (on)")
    let info = try #require(object["tcp_info"] as? [String: Any])
    #expect(info["bytes_acked"] as? Int == 6, "5 bytes plus the SYN")
    #expect(object["state"] as? String == "ESTABLISHED")
  }

  @Test func inspectReportsAPendingErrorOnce() throws {
    let session = makeSession()
    runAll(session, "probe = socket tcp\nbind probe 127.0.0.1:0")
    let free = port(session, "probe") ?? 1
    runAll(session, "close probe\nc = socket tcp\nnonblock c on\nconnect c 127.0.0.1:\(free) = -1 EINPROGRESS")
    // The refusal arrives at once on loopback; wait (bounded) for POLLERR.
    let c = try #require(fd(session, "c"))
    for _ in 0..<100 {
      if let events = try? Sys.poll([c], events: 0, timeoutMilliseconds: 10).get().first, events & Int16(POLLERR) != 0 {
        break
      }
    }
    let before = session.out.captured.count
    runAll(session, "inspect c")
    #expect(session.out.captured.dropFirst(before).contains("pending error ECONNREFUSED"))
    runAll(session, "getsockopt c error = 0")
    #expect(
      session.out.captured.hasSuffix(
        "error = 0 (none): a pending error, e.g. the result of a non-blocking connect; reading it clears it.\n"))
  }
}

@Suite struct PictureTests {
  @Test func addrDrawsTheStructureByteByByte() {
    let session = makeSession()
    runAll(session, "addr 127.0.0.1:8080 --ascii")
    let out = session.out.captured
    #expect(out.contains("127.0.0.1:8080: struct sockaddr_in, 16 bytes"))
    #expect(out.contains("2       sin_port    2     htons(8080)  1f 90"))
    #expect(out.contains("| 02 | 00 | 1f | 90 | 7f | 00 | 00 | 01 |"))
    #expect(out.contains("8080 is 0x1f90"))
    #expect(out.contains("network reads as port 36895"))
    runAll(session, "addr [::1]:80")
    #expect(session.out.captured.contains("[::1]:80: struct sockaddr_in6, 28 bytes"))
    runAll(session, "addr @hidden")
    #expect(session.out.captured.contains("sun_path    7     \\0hidden"))
  }

  @Test func everyPictureFitsEightyColumns() {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        send c "hello"
        recv conn
        close c
        recv conn
        """)
    session.out.width = 80
    for picture in [
      "addr [::1]:8080", "tcp conn", "timeline", "addr /tmp/a-long-path/for-a.sock --ascii", "help",
    ] {
      let start = session.out.captured.count
      runAll(session, picture)
      for line in session.out.captured.dropFirst(start).split(separator: "\n") {
        #expect(line.count <= 80, "\(picture) is too wide: \(line)")
      }
    }
  }

  @Test func tcpDiagramMarksTheStateAndThePath() {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        close c
        recv conn = 0
        tcp conn --ascii
        """)
    let out = session.out.captured
    #expect(out.contains(">CLOSE_WAIT<"))
    #expect(out.contains("*ESTABLISHED*"))
    #expect(out.contains("Path seen: ESTABLISHED -> CLOSE_WAIT"))
    #expect(!out.contains(">ESTABLISHED<"))
    #expect(!session.execute("u = socket udp").ok == false)
    #expect(!session.execute("tcp u").ok)
  }

  @Test func timelineJoinsBothEndsOfAConnection() {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        send c "hi" = 2
        recv conn = 2
        shutdown c write
        close conn
        timeline --ascii
        """)
    let lines = session.out.captured.split(separator: "\n").map(String.init)
    let header = try! #require(lines.first { $0.contains("(srv)") && $0.contains("(c)") && $0.contains("(conn)") })
    #expect(!header.contains("127.0.0.1"), "no remote column when both ends are in the shell: \(header)")
    #expect(lines.contains { $0.contains("|<") && $0.contains("connect") })
    #expect(lines.contains { $0.contains("accept: new fd") && $0.contains(">|") })
    #expect(lines.contains { $0.contains("2 \"hi\"") && $0.contains(">|") })
    #expect(lines.contains { $0.contains("FIN (shu") })
    #expect(lines.contains { $0.contains("X closed") })
  }

  /// A datagram sent with sendto to another descriptor of the shell is an arrow between their
  /// columns, over IPv4 and over IPv6 alike.
  @Test(arguments: ["127.0.0.1:0", "[::1]:0", "@sockshell-timeline-\(getpid())"])
  func timelineDrawsDatagramsBetweenColumns(address: String) {
    let family = address.hasPrefix("[") ? "ipv6" : address.hasPrefix("@") ? "unix" : "ipv4"
    let session = makeSession()
    runAll(
      session,
      """
      u = socket udp \(family)
      bind u \(address)
      v = socket udp \(family)
      sendto v u "one" = 3
      recvfrom u = 3
      timeline --ascii
      """)
    let lines = session.out.captured.split(separator: "\n").map(String.init)
    #expect(lines.contains { $0.contains("|<") && $0.contains("3 \"one\"") }, "\(lines.suffix(6))")
  }

  /// A Unix connect that fails sent no SYN: the timeline shows the error, not a TCP exchange.
  @Test func aFailedUnixConnectIsANoteNotASYN() {
    let session = makeSession()
    runAll(session, "c = socket unix\nconnect c /nonexistent-dir/x.sock = -1 ENOENT\ntimeline --ascii")
    #expect(session.out.captured.contains("connect: ENOENT"))
    #expect(!session.out.captured.contains("SYN"))
  }
}

/// Every `--json` output is JSON, read by a real parser (Python's), whatever the names, paths and
/// titles hold: bytes that are not UTF-8, private use, controls, bidi overrides, emoji.
@Suite struct JSONOutputTests {
  @Test func everyJSONOutputParses() throws {
    let folder = try lessonFolder(
      "odd.md",
      "---\nid: odd\ntitle: \"Odd \u{E000} \u{202E}title\u{1F600} \\\\ \\\" \\t\"\n---\n\n# Odd\n\n## Step\n\nText.\n\n```check\nsocket exists\n```\n"
    )
    let directory = NSTemporaryDirectory() + "json-\(UUID().uuidString)"
    mkdir(directory, 0o700)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let script = """
      u = socket unix stream
      bind u "\(directory)/a \\"b\\" 日本😀.sock"
      listen u
      d = socket unix dgram
      bind d "@abs \\"x\\""
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv
      ls --json
      ls --all --json
      inspect u --json
      inspect d --json
      inspect srv --json
      lessons --json

      """
    let result = try runScript(script, arguments: ["--lessons", folder])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    let lines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
    #expect(lines.count == 6, "\(result.stdout)")
    let python = try #require(which("python3"))
    let check = try runProgram(
      python,
      [
        "-c",
        "import json, sys\nfor line in sys.stdin:\n  value = json.loads(line)\n  print(json.dumps(value, ensure_ascii=False))",
      ], input: lines.joined(separator: "\n") + "\n")
    #expect(check.status == 0, "not JSON:\n\(check.stderr)\n\(lines.joined(separator: "\n"))")
    #expect(check.stdout.contains("Odd \u{E000} \u{202E}title\u{1F600} \\\\ \\\" \\t"), "the title, whole")
    #expect(check.stdout.contains(#"a \\\"b\\\" 日本😀.sock"#), "the path, as the shell shows it")
  }
}

/// What `ls` shows agrees with `ss` for the same sockets, figure for figure.
@Suite(.serialized) struct AgreesWithSSTests {
  /// `ss -H -n ARGS` as rows of words.
  func ss(_ arguments: [String]) throws -> [[String]] {
    let path = try #require(which("ss"), "ss comes with iproute2 (scripts/debian-packages.txt)")
    return try runProgram(path, ["-H", "-n"] + arguments).stdout.split(separator: "\n").map {
      $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    }
  }

  func rows(_ session: Session) throws -> [[String: Any]] {
    try #require(try jsonObject(session, "ls --json")["descriptors"] as? [[String: Any]])
  }

  func row(_ rows: [[String: Any]], _ name: String) throws -> [String: Any] {
    try #require(rows.first { $0["name"] as? String == name })
  }

  @Test func tcpListenerAndConnectionsAgree() throws {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv 3
      a = socket tcp
      connect a srv
      b = socket tcp
      connect b srv
      x = socket tcp
      connect x srv
      conn = accept srv
      send a "twelve bytes" = 12
      """)
    let srvPort = try #require(port(session, "srv"))
    let conn = try #require(fd(session, "conn"))
    for _ in 0..<100 where (try? Sys.queueSize(conn, outgoing: false).get()) != 12 { usleep(10_000) }
    let shown = try rows(session)
    let listener = try #require(try ss(["-lt", "sport = :\(srvPort)"]).first)
    #expect(listener[0] == "LISTEN")
    #expect("\(try row(shown, "srv")["recv_q"] ?? "")" == listener[1], "accept queue: \(listener)")
    #expect("\(try row(shown, "srv")["send_q"] ?? "")" == listener[2], "backlog: \(listener)")
    let connLocal = try #require(try row(shown, "conn")["peer"] as? String)
    let established = try #require(
      try ss(["-t", "state", "established", "dport = :\(connLocal.split(separator: ":").last!)"]).first)
    #expect("\(try row(shown, "conn")["recv_q"] ?? "")" == established[0], "\(established)")
    #expect("\(try row(shown, "conn")["send_q"] ?? "")" == established[1], "\(established)")
  }

  /// ss counts a FIN not yet read, and a SYN not yet answered, as one byte: so does ls (inspect
  /// tells the data bytes apart).
  @Test func closeWaitAndSynSentAgree() throws {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        close c
        q = socket tcp
        bind q 127.0.0.1:0
        listen q 0
        a = socket tcp
        connect a q = 0
        w = socket tcp
        nonblock w on
        connect w q = -1 EINPROGRESS
        """)
    let conn = try #require(fd(session, "conn"))
    for _ in 0..<100 where (try? Sys.tcpInfo(conn).get().state) != .closeWait { usleep(10_000) }
    let shown = try rows(session)
    let peer = try #require(try row(shown, "conn")["peer"] as? String)
    let closeWait = try #require(
      try ss(["-t", "state", "close-wait", "dport = :\(peer.split(separator: ":").last!)"]).first)
    #expect("\(try row(shown, "conn")["recv_q"] ?? "")" == closeWait[0], "\(closeWait)")
    #expect(closeWait[0] == "1")
    let waiting = try row(shown, "w")
    #expect(waiting["state"] as? String == "SYN_SENT", "\(waiting)")
    let local = try #require(waiting["local"] as? String)
    let synSent = try #require(
      try ss(["-t", "state", "syn-sent", "sport = :\(local.split(separator: ":").last!)"]).first)
    #expect("\(waiting["send_q"] ?? "")" == synSent[1], "\(synSent)")
    #expect(waiting["peer"] as? String == synSent[3], "the SYN's destination, as ss shows it: \(synSent)")
    let before = session.out.captured.count
    runAll(session, "inspect conn")
    #expect(
      String(session.out.captured.dropFirst(before)).contains("the peer's FIN counts one; 0 bytes of data unread"))
  }

  @Test func unixListenerAndDatagramsAgree() throws {
    let session = makeSession()
    let name = "sockshell-ss-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    runAll(
      session,
      """
      l = socket unix stream
      bind l @\(name)
      listen l 4
      a = socket unix stream
      connect a l
      b = socket unix stream
      connect b l
      u = socket udp
      bind u 127.0.0.1:0
      v = socket udp
      sendto v u "fourteen bytes" = 14
      sendto v u "twenty-eight bytes of data!!" = 28
      """)
    let shown = try rows(session)
    let listener = try #require(try ss(["-xl"]).first { $0.contains("@\(name)") })
    // u_str LISTEN RECV-Q SEND-Q @name ...
    #expect(listener[1] == "LISTEN")
    #expect("\(try row(shown, "l")["recv_q"] ?? "")" == listener[2] && listener[2] == "2", "\(listener)")
    #expect("\(try row(shown, "l")["send_q"] ?? "")" == listener[3] && listener[3] == "4", "\(listener)")
    let udpPort = try #require(port(session, "u"))
    let udp = try #require(try ss(["-ua", "sport = :\(udpPort)"]).first)
    // UNCONN RECV-Q SEND-Q ...: buffer memory, more than the 42 bytes of payload.
    #expect("\(try row(shown, "u")["recv_q"] ?? "")" == udp[1], "\(udp)")
    #expect((Int(udp[1]) ?? 0) > 42)
    #expect(try row(shown, "u")["next_datagram"] == nil)
    let before = session.out.captured.count
    runAll(session, "inspect u")
    let inspected = String(session.out.captured.dropFirst(before))
    #expect(inspected.contains("the next datagram has 14 bytes; how many wait, the kernel does not say"))
  }

  /// Each way of closing leaves the TIME_WAIT that ss shows, listed by ls with the same address pair.
  @Test(arguments: ["client first", "server first", "half-close then close", "half-close, fd still open"])
  func timeWaitAgrees(way: String) throws {
    let session = makeSession()
    runAll(session, connectedPair)
    let steps =
      switch way {
      case "client first": "close c\nrecv conn = 0\nclose conn"
      case "server first": "close conn\nrecv c = 0\nclose c"
      case "half-close, fd still open": "shutdown c write\nrecv conn = 0\nclose conn"
      default: "shutdown c write\nrecv conn = 0\nclose conn\nrecv c = 0\nclose c"
      }
    runAll(session, steps)
    var closed: [[String: Any]] = []
    for _ in 0..<100 {
      closed = try #require(try jsonObject(session, "ls --json")["closed"] as? [[String: Any]])
      if closed.contains(where: { $0["state"] as? String == "TIME_WAIT" }) { break }
      usleep(10_000)
    }
    let entry = try #require(closed.first { $0["state"] as? String == "TIME_WAIT" }, "\(way): \(closed)")
    let local = try #require(entry["local"] as? String)
    let peer = try #require(entry["peer"] as? String)
    let waiting = try ss(["-t", "state", "time-wait"]).filter { $0.contains(local) && $0.contains(peer) }
    #expect(waiting.count == 1, "\(way): ss shows \(waiting) for \(local) \(peer)")
    // The side that sent its FIN first keeps it.
    #expect((entry["was"] as? String)?.contains(way == "server first" ? "conn" : "(c)") == true, "\(entry)")
    if way == "half-close, fd still open" {
      #expect((entry["was"] as? String)?.hasSuffix(" (c) (open, reads CLOSED)") == true)
    }
  }
}

/// The timeline draws what the kernel did, and cuts nothing without a mark.
@Suite struct TimelineFactsTests {
  /// Column `index`'s centre in a rendered line: where its bar stands.
  func lines(_ session: Session, width: Int = 200) -> [String] {
    session.out.width = width
    let before = session.out.captured.count
    #expect(session.execute("timeline --ascii").ok)
    return String(session.out.captured.dropFirst(before)).split(separator: "\n").map(String.init)
  }

  /// The column a label's arrow points into: the bar just right of `>` or left of `<`.
  func arrowEnds(_ line: String) -> (from: Int, to: Int)? {
    let cells = Array(line)
    if let head = cells.firstIndex(of: ">"), let tail = cells[..<head].lastIndex(where: { $0 == "|" }) {
      return (tail, head + 1)
    }
    if let head = cells.firstIndex(of: "<"), let tail = cells[head...].firstIndex(where: { $0 == "|" }) {
      return (tail, head - 1)
    }
    return nil
  }

  func column(_ lines: [String], _ name: String) -> Int? {
    for line in lines.prefix(4) {
      if let range = line.range(of: name) {
        return line.distance(from: line.startIndex, to: range.lowerBound) + name.count / 2
      }
    }
    return nil
  }

  @Test func dataSentBeforeAcceptGoesToTheConnectionNotTheListener() throws {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv
      c = socket tcp
      connect c srv
      send c "early" = 5
      conn = accept srv
      recv conn = 5
      """)
    let shown = lines(session)
    let early = try #require(shown.first { $0.contains("5 \"early\"") })
    let ends = try #require(arrowEnds(early))
    let conn = try #require(column(shown, "(conn)"))
    #expect(abs(ends.to - conn) <= 3, "the data goes to conn's column:\n\(shown.joined(separator: "\n"))")
    #expect(shown.contains { $0.contains("in the accept queue") })
  }

  @Test func unixClientsArePairedWithTheirOwnAcceptedSockets() throws {
    let session = makeSession()
    let name = "sockshell-pairs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    runAll(
      session,
      """
      u = socket unix stream
      bind u @\(name)
      listen u
      x = socket unix stream
      connect x u
      y = socket unix stream
      connect y u
      x1 = accept u
      y1 = accept u
      send y "from-y" = 6
      send x "from-x" = 6
      """)
    let shown = lines(session)
    for (sender, receiver) in [("from-y", "(y1)"), ("from-x", "(x1)")] {
      let line = try #require(shown.first { $0.contains(sender) })
      let ends = try #require(arrowEnds(line))
      let target = try #require(column(shown, receiver))
      #expect(abs(ends.to - target) <= 3, "\(sender) goes to \(receiver):\n\(shown.joined(separator: "\n"))")
    }
  }

  @Test func nothingIsCutWithoutAMark() throws {
    let session = makeSession()
    runAll(
      session,
      """
      a = socket tcp
      bind a 127.0.0.1:0
      listen a
      c = socket tcp
      connect c a
      send c --size 100000 = 100000
      conn = accept a
      recv conn 100000 waitall = 100000
      v = socket udp
      bind v 127.0.0.1:0
      sendto v v "" = 0
      recv v = 0
      """)
    let shown = lines(session, width: 80)
    let text = shown.joined(separator: "\n")
    #expect(text.contains("recv 100000") || text.contains("recv 1~"), "\(text)")
    #expect(!shown.contains { $0.hasSuffix("recv 10") }, "\(text)")
    let empty = try #require(shown.first { $0.contains("recv 0: an") }, "\(text)")
    #expect(empty.hasSuffix("recv 0: an empty datagram") || empty.hasSuffix("~"), "cut with a mark: \(empty)")
    #expect(!text.contains("end of stream"), "\(text)")
  }

  /// Column names that do not fit their width are never cut: the column shows a short label
  /// and a key under the header gives each name whole (two peers never share a name).
  @Test func columnNamesAreNeverCut() throws {
    let session = makeSession()
    let ports = [freePort(), freePort()]
    runAll(
      session,
      """
      a = socket udp
      averyveryverylongdescriptorname1 = socket udp
      c = socket udp
      d = socket udp
      sendto a 127.0.0.1:\(ports[0]) "x"
      sendto a 127.0.0.1:\(ports[1]) "y"
      sendto averyveryverylongdescriptorname1 a "z"
      """)
    let shown = lines(session, width: 80)
    let text = shown.joined(separator: "\n")
    // A heading line, the names on one line, then the key: six columns of 13 cells.
    let header = shown[1]
    for label in ["(a)", "peer A", "peer B", "(c)"] { #expect(header.contains(label), "\(text)") }
    #expect(!header.contains("127.0.0.1"), "\(text)")
    let key = shown[2...].prefix { !$0.contains("|") }.joined(separator: " ").split(separator: " ").joined(
      separator: " ")
    for port in ports { #expect(key.contains("= 127.0.0.1:\(port)"), "the whole name: \(text)") }
    let long = try #require(fd(session, "averyveryverylongdescriptorname1"))
    #expect(key.contains("\(long) = \(long) (averyveryverylongdescriptorname1)"), "\(text)")
    #expect(header.contains(" \(long) "), "the column shows its number: \(text)")
    #expect(key.contains("peer A = 127.0.0.1:\(ports[0])"), "the first peer is A: \(text)")
    for line in shown { #expect(Cells.width(line) <= 80, "\(line)") }
  }

  /// A listener bound to every address is the end of a connect to 127.0.0.1 on its port (one
  /// column, no column for the address as a stranger's).
  @Test func aWildcardListenerIsTheEndOfALoopbackConnect() throws {
    let session = makeSession()
    defer { _ = session.closeAll() }
    runAll(session, "srv = socket tcp\nbind srv 0.0.0.0:0\nlisten srv")
    let listening = try #require(port(session, "srv"))
    runAll(session, "c = socket tcp\nconnect c 127.0.0.1:\(listening)")
    let shown = lines(session)
    #expect(!shown[1].contains("127.0.0.1"), "\(shown.joined(separator: "\n"))")
    #expect(shown.contains { $0.contains("<") && $0.contains("connect") }, "\(shown.joined(separator: "\n"))")
  }

  @Test func aResetAnsweringASendIsDrawn() throws {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        close conn
        send c "late" = 4
        """)
    #expect(session.out.captured.contains("its kernel answered these bytes with a reset (RST)"))
    let shown = lines(session)
    let late = try #require(shown.firstIndex { $0.contains("4 \"late\"") })
    #expect(shown[late + 1].contains("RST"), "\(shown.joined(separator: "\n"))")
  }
}

/// Pictures for handouts: timeline --svg and tcp --svg write SVG that a browser draws, with the
/// labels as text (escaped for XML), and never replace a file sockshell did not write.
@Suite struct SVGTests {
  /// The share of pixels that are not white in a PNG (decoded with python3's zlib).
  static func inkedShare(_ png: String) throws -> Double? {
    guard let python = which("python3") else { return nil }
    let script = """
      import struct, sys, zlib
      data = open(sys.argv[1], "rb").read()
      pos, chunks, w, h = 8, b"", 0, 0
      while pos < len(data):
          n, kind = struct.unpack(">I4s", data[pos:pos + 8])
          body = data[pos + 8:pos + 8 + n]
          if kind == b"IHDR":
              w, h, depth, color = struct.unpack(">IIBB", body[:10])
              channels = {2: 3, 6: 4}[color]
          if kind == b"IDAT":
              chunks += body
          pos += 12 + n
      raw = zlib.decompress(chunks)
      stride = w * channels
      prev = bytearray(stride)
      inked = 0
      for y in range(h):
          f = raw[y * (stride + 1)]
          line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
          for i in range(stride):
              a = line[i - channels] if i >= channels else 0
              b = prev[i]
              c = prev[i - channels] if i >= channels else 0
              if f == 1: line[i] = (line[i] + a) & 255
              elif f == 2: line[i] = (line[i] + b) & 255
              elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
              elif f == 4:
                  p = a + b - c
                  pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                  line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
          for x in range(w):
              if min(line[x * channels:x * channels + 3]) < 200: inked += 1
          prev = line
      print(inked / (w * h))
      """
    let result = try runProgram(python, ["-c", script, png])
    return Double(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  @Test func timelineAndTcpPicturesAreDrawnWithTheirLabels() throws {
    let session = makeSession()
    defer { _ = session.closeAll() }
    let timeline = temporary("timeline.svg")
    let tcp = temporary("tcp.svg")
    defer {
      unlink(timeline)
      unlink(tcp)
    }
    runAll(
      session,
      connectedPair + """
        send c "a <b> & c"
        recv conn
        tcp conn --svg \(tcp)
        close c
        timeline --svg \(timeline)
        """)
    let picture = try String(contentsOfFile: timeline, encoding: .utf8)
    for label in ["(srv)", "(conn)", "accept: new fd", "FIN (close)", "closed"] {
      #expect(picture.contains(label), "\(label) in the SVG")
    }
    #expect(picture.contains("&lt;b&gt; &amp;") || picture.contains("&quot;a &lt;b"), "text escaped for XML")
    #expect(!picture.contains("<b>"), "no raw markup from the data")
    let diagram = try String(contentsOfFile: tcp, encoding: .utf8)
    #expect(diagram.contains("ESTABLISHED") && diagram.contains("LISTEN"))
    // A file sockshell did not write is never replaced.
    let foreign = temporary("foreign.svg")
    try "mine".write(toFile: foreign, atomically: true, encoding: .utf8)
    defer { unlink(foreign) }
    #expect(!session.execute("timeline --svg \(foreign)").ok)
    #expect(try String(contentsOfFile: foreign, encoding: .utf8) == "mine")
    // Drawn by a browser: headless Chromium makes a picture that is not blank.
    guard let chromium = which("chromium") else {
      print("skipped: chromium is not installed (make test installs it), so the SVG was not drawn")
      return
    }
    for (svg, least) in [(timeline, 0.005), (tcp, 0.005)] {
      let png = svg + ".png"
      defer { unlink(png) }
      let drawn = try runProgram(
        chromium,
        [
          "--headless", "--no-sandbox", "--disable-gpu", "--screenshot=\(png)", "--window-size=900,700",
          "file://\(svg)",
        ],
        environment: ["HOME": NSTemporaryDirectory()], timeout: 60)
      #expect(drawn.status == 0, "\(drawn.stderr.suffix(500))")
      let share = try #require(try SVGTests.inkedShare(png), "the PNG was read")
      #expect(share > least && share < 0.5, "\(svg): \(share) of the pixels are drawn")
    }
  }
}
