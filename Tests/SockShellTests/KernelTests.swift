import Foundation
import SocketLayer
import Testing

@testable import SockShellKit

#if canImport(Glibc)
  import Glibc
#endif

/// Real system calls on loopback, through the shell's own command language.
@Suite struct KernelTests {
  /// A long session keeps its history (for timeline, checks, save) without keeping every byte:
  /// past 1 MiB of data, the oldest calls keep their first 64 bytes, the newest their 4 KiB.
  @Test func oldCallsKeepOnlyTheStartOfTheirData() throws {
    let session = makeSession()
    runAll(session, connectedPair + String(repeating: "send c --size 4096\nrecv conn 4096 waitall\n", count: 200))
    let sends = session.records.filter { $0.syscall == "send" && $0.errno == nil }
    #expect(sends.count == 200)
    #expect(sends.first?.data == DataSpec.pattern(size: 64))
    #expect(sends.last?.data.count == 4096)
    let kept = session.records.reduce(0) { $0 + $1.data.count }
    #expect(kept <= Session.keptDataLimit + 4096 && kept > Session.keptDataLimit / 2)
  }

  /// Linux answers send on a listener, and on a TCP socket never connected, with EPIPE: each
  /// gets its own explanation, and neither announces a wait at a terminal (it fails at once).
  /// `nonblock FD` shows what fcntl(F_GETFL) returned: the flags themselves, read from the kernel
  /// (it once showed "= 0"), as strace does; and F_SETFL the flags it wrote.
  @Test func nonblockShowsTheFlagsTheKernelReturns() throws {
    let session = makeSession()
    defer { session.closeAll() }
    runAll(session, "c = socket tcp\nnonblock c")
    let number = try #require(fd(session, "c"))
    let before = fcntl(number, F_GETFL)
    #expect(session.out.captured.contains("fcntl(\(number), F_GETFL) = 0x\(String(before, radix: 16)) (flags O_RDWR)"))
    runAll(session, "nonblock c on\nnonblock c")
    let after = fcntl(number, F_GETFL)
    #expect(after & O_NONBLOCK != 0)
    #expect(session.out.captured.contains("fcntl(\(number), F_SETFL, O_RDWR|O_NONBLOCK) = 0"))
    #expect(session.out.captured.contains("= 0x\(String(after, radix: 16)) (flags O_RDWR|O_NONBLOCK)"))
  }

  /// A UDP port held by the shell's own socket: EADDRINUSE names it, and says what lets UDP
  /// sockets share a port (which the bind then shows).
  @Test func aUDPPortTakenByTheShellSaysWhoAndHowToShare() throws {
    let session = makeSession()
    defer { session.closeAll() }
    runAll(session, "r = socket udp\nbind r 127.0.0.1:0")
    let first = try #require(fd(session, "r"))
    let port = try #require(try? Sys.getsockname(first).get().port)
    #expect(!session.execute("w = socket udp").ok == false)
    #expect(!session.execute("bind w 127.0.0.1:\(port)").ok)
    let said = session.out.captured.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    #expect(
      said.contains("Another UDP socket already holds 127.0.0.1:\(port): your own fd \(first) holds it."), "\(said)")
    runAll(session, "setsockopt r reuseaddr 1\nsetsockopt w reuseaddr 1\nbind w 127.0.0.1:\(port)")
  }

  /// EAGAIN from recv says which of its three causes it was, read from the kernel.
  @Test func eagainSaysWhyTheCallDidNotWait() throws {
    let session = makeSession()
    defer { session.closeAll() }
    runAll(session, "u = socket udp\nbind u 127.0.0.1:0")
    func said(_ line: String) -> String {
      _ = session.out.takeCaptured()
      session.execute(line)
      return session.out.takeCaptured().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
    #expect(said("recv u dontwait").contains("the call had dontwait, so it did not wait"))
    session.execute("setsockopt u rcvtimeo 20")
    #expect(said("recv u").contains("waited its receive timeout (rcvtimeo, 20 ms)"))
    session.execute("nonblock u on")
    #expect(said("recv u").contains("is non-blocking, so the call did not wait"))
  }

  @Test func sendWithoutAConnectionSaysWhichMistakeItIs() throws {
    Signals.install()  // SIGPIPE ignored, as in the shell
    let session = Session(output: .capture(), options: .init(interactive: true, waitLimit: 5))
    runAll(session, "srv = socket tcp\nbind srv 127.0.0.1:0\nlisten srv\nsend srv x = -1 EPIPE")
    #expect(session.out.captured.contains("(srv) is listening: a listening socket never carries data"))
    runAll(session, "s = socket tcp\nsend s x = -1 EPIPE")
    #expect(session.out.captured.contains("(s) was never connected: TCP sends only over a connection"))
    #expect(!session.out.captured.contains("waiting for"))
    // After a real connection the peer closed, the usual explanation.
    runAll(session, "c = socket tcp\nconnect c srv\nconn = accept srv\nclose conn\nsend c one\nsend c two = -1 EPIPE")
    #expect(session.out.captured.contains("The connection is closed for writing: the peer closed it"))
  }

  /// IPV6_V6ONLY after bind is EINVAL: the explanation says when it can be set.
  @Test func v6onlyAfterBindIsExplained() throws {
    let session = makeSession()
    runAll(session, "s = socket tcp ipv6\nbind s [::1]:0\nsetsockopt s v6only 1 = -1 EINVAL")
    #expect(session.out.captured.contains("IPV6_V6ONLY can change only before the socket has an address"))
    runAll(session, "t = socket tcp ipv6\nsetsockopt t v6only 1 = 0\nbind t [::1]:0 = 0")
  }

  /// A name with addresses of the other family only (here, often, localhost without ::1 in
  /// /etc/hosts) gets an error that says so and what to write instead.
  @Test func aNameWithoutAnIPv6AddressSaysWhatToUse() throws {
    let session = makeSession()
    let v6 = SocketAddress.resolve(host: "localhost", port: 0, family: .ipv6)
    guard case .failure = v6 else { return }  // this machine's localhost has an IPv6 address
    #expect(session.execute("s = socket tcp ipv6").ok)
    #expect(!session.execute("bind s localhost:0").ok)
    #expect(
      session.out.captured.contains(
        "localhost has no IPv6 address here, only IPv4 (127.0.0.1): use [::1]:0 for the IPv6 loopback"))
  }

  /// getsockopt FD lists every option in aligned columns, however long a value is.
  @Test func theOptionListIsAligned() throws {
    let session = makeSession()
    runAll(session, "s = socket tcp\ngetsockopt s")
    let listing = try #require(session.out.captured.components(separatedBy: "(getsockopt each):").last)
    let rows = listing.split(separator: "\n").filter { $0.hasPrefix("  ") }
    let meaning = try #require(rows.first?.range(of: "MEANING")?.lowerBound).utf16Offset(in: rows[0])
    let timeout = try #require(rows.first { $0.contains("SO_RCVTIMEO") })
    #expect(timeout.contains("0 (wait forever)"))
    for row in rows.dropFirst() {
      #expect(row.count > meaning && row[row.index(row.startIndex, offsetBy: meaning - 1)] == " ", "\(row)")
      #expect(row[row.index(row.startIndex, offsetBy: meaning)] != " ", "\(row)")
    }
  }

  @Test func fullTCPExchangeInOneShell() throws {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      bind srv 127.0.0.1:0 = 0
      listen srv
      c = socket tcp
      connect c srv = 0
      conn = accept srv
      send c "hello\\n" = 6
      recv conn = 6
      send conn "world" = 5
      recv c 3 = 3
      recv c = 2
      shutdown c write = 0
      recv conn = 0
      close conn = 0
      close c = 0
      close srv = 0
      """)
    let out = session.out.captured
    #expect(out.contains(#"recv(4, "hello\n", 1024, 0) = 6"#) || out.contains(#", "hello\n", 1024, 0) = 6"#))
    #expect(out.contains("0 means end of stream"))
    #expect(session.openDescriptors.isEmpty)
    let calls = session.records.map(\.syscall)
    #expect(calls.starts(with: ["socket", "bind", "listen", "socket", "connect", "accept", "send", "recv"]))
  }

  @Test func lsShowsKernelStates() throws {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv 3
      c = socket tcp
      connect c srv
      conn = accept srv
      shutdown c write
      recv conn
      """)
    session.execute("ls")
    // The ACK of the FIN may be delayed: wait (a bounded while) for FIN_WAIT1 to become FIN_WAIT2.
    func state(_ name: String) -> String? {
      session.openDescriptors.first { $0.name == name }.map { SocketSnapshot($0).state }
    }
    for _ in 0..<100 where state("c") == "FIN_WAIT1" { usleep(20_000) }
    #expect(state("srv") == "LISTEN")
    #expect(state("c") == "FIN_WAIT2")
    #expect(state("conn") == "CLOSE_WAIT")
    let table = session.out.captured.split(separator: "\n").filter { $0.hasPrefix("FD ") || $0.contains("CLOSE_WAIT") }
    #expect(table.count == 2)
  }

  @Test func udpSendtoAndRecvfrom() throws {
    let session = makeSession()
    runAll(
      session,
      """
      a = socket udp
      bind a 127.0.0.1:0
      b = socket udp
      sendto b a "ping" = 4
      recvfrom a = 4
      """)
    let sender = try #require(fd(session, "b"))
    let senderPort = try #require(try Sys.getsockname(sender).get().port)
    #expect(session.out.captured.contains("From 127.0.0.1:\(senderPort)."))
  }

  @Test func udpTruncatesALongDatagram() throws {
    let session = makeSession()
    runAll(
      session,
      """
      a = socket udp
      bind a 127.0.0.1:0
      b = socket udp
      sendto b a --size 100 = 100
      recvfrom a 10 trunc = 100
      """)
    #expect(session.out.captured.contains("90 did not fit"))
  }

  @Test func ipv6Exchange() throws {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp ipv6
      bind srv [::1]:0 = 0
      listen srv
      c = socket tcp ipv6
      connect c srv = 0
      conn = accept srv
      send conn "v6" = 2
      recv c = 2
      """)
    #expect(session.out.captured.contains("sa_family=AF_INET6"))
    #expect(session.out.captured.contains(#"inet_pton(AF_INET6, "::1""#))
  }

  @Test func unixStreamSockets() throws {
    let path = "/tmp/sockshell-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    defer { unlink(path) }
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket stream unix
      bind srv \(path) = 0
      listen srv
      c = socket stream unix
      connect c \(path) = 0
      conn = accept srv
      send c "local" = 5
      recv conn = 5
      """)
    #expect(session.out.captured.contains(#"sun_path="\#(path)""#))
    // The path stays after close: binding it again is EADDRINUSE, with the reason.
    runAll(session, "close srv\nagain = socket stream unix\nbind again \(path) = -1 EADDRINUSE")
    #expect(session.out.captured.contains("a Unix socket's path stays after close"))
  }

  @Test func abstractUnixDatagrams() throws {
    let name = "sockshell-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let session = makeSession()
    runAll(
      session,
      """
      a = socket dgram unix
      bind a @\(name) = 0
      b = socket dgram unix
      sendto b @\(name) "abstract" = 8
      recv a = 8
      """)
  }

  @Test func connectionRefusedIsExplained() {
    let session = makeSession()
    // Bind and close a socket to find a port where nothing listens.
    runAll(session, "probe = socket tcp\nbind probe 127.0.0.1:0")
    let free = port(session, "probe") ?? 1
    runAll(session, "close probe\nc = socket tcp\nconnect c 127.0.0.1:\(free) = -1 ECONNREFUSED")
    #expect(session.out.captured.contains("Nothing listens on 127.0.0.1:\(free)"))
  }

  @Test func addressInUse() {
    let session = makeSession()
    runAll(session, "a = socket tcp\nbind a 127.0.0.1:0\nlisten a")
    let taken = port(session, "a") ?? 1
    runAll(session, "b = socket tcp\nbind b 127.0.0.1:\(taken) = -1 EADDRINUSE")
    #expect(session.out.captured.contains("already holds 127.0.0.1:\(taken)"))
  }

  @Test func listenOnUDPIsNotSupported() {
    let session = makeSession()
    runAll(session, "u = socket udp\nlisten u = -1 EOPNOTSUPP")
    #expect(session.out.captured.contains("stream (TCP) sockets only"))
  }

  @Test func sendOnUnconnectedAndListeningSockets() {
    let session = makeSession()
    runAll(
      session,
      """
      s = socket tcp
      send s "x" = -1 EPIPE
      l = socket tcp
      bind l 127.0.0.1:0
      listen l
      recv l = -1 ENOTCONN
      u = socket udp
      send u "x" = -1 EDESTADDRREQ
      """)
    #expect(session.out.captured.contains("(l) is listening: a listening socket never carries data"))
  }

  @Test func epipeAfterPeerClosedDoesNotKillTheShell() {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        close conn
        send c "first" = 5
        send c "second" = -1 EPIPE
        """)
    #expect(session.out.captured.contains("Without SIGPIPE ignored"))
  }

  @Test func resetWhenClosingWithUnreadData() {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        send c "unread" = 6
        close conn
        recv c = -1 ECONNRESET
        """)
    #expect(session.out.captured.contains("reset the connection (RST)"))
  }

  @Test func nonBlockingCalls() {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv
      nonblock srv on
      accept srv = -1 EAGAIN
      c = socket tcp
      nonblock c on
      connect c srv = -1 EINPROGRESS
      poll c --timeout 1000 = 1
      getsockopt c error = 0
      conn = accept srv
      recv conn dontwait = -1 EAGAIN
      connect c srv = 0
      connect c srv = -1 EISCONN
      """)
    #expect(session.out.captured.contains("POLLOUT"))
  }

  @Test func addressFamilyMismatch() {
    let session = makeSession()
    runAll(session, "s = socket tcp\nconnect s [::1]:80 = -1 EAFNOSUPPORT")
    #expect(session.out.captured.contains("is an IPv4 socket but [::1]:80 is an IPv6 address"))
  }

  @Test func socketOptions() throws {
    let session = makeSession()
    runAll(
      session,
      """
      s = socket tcp
      setsockopt s reuseaddr 1 = 0
      getsockopt s reuseaddr = 0
      setsockopt s nodelay on = 0
      setsockopt s linger on 0 = 0
      setsockopt s rcvtimeo 1500 = 0
      getsockopt s
      """)
    let s = try #require(fd(session, "s"))
    #expect(try Sys.getsockopt(s, level: SOL_SOCKET, name: SO_REUSEADDR).get() == 1)
    #expect(try Sys.getsockopt(s, level: Int32(IPPROTO_TCP), name: TCP_NODELAY).get() == 1)
    let timeout = try #require(SocketOption.named("rcvtimeo")).get(s).get()
    #expect(timeout == .milliseconds(1500))
    #expect(session.out.captured.contains("{tv_sec=1, tv_usec=500000}"))
    #expect(session.out.captured.contains("{l_onoff=1, l_linger=0}"))
  }

  @Test func refusesDescriptorsItDidNotMake() {
    let session = makeSession()
    let results = run(session, "close 0\nsend 1 x\nrecv 2\nclose 777\nclose nosuch")
    #expect(results.allSatisfy { !$0.ok })
    let out = session.out.captured
    #expect(out.contains("fd 0 is standard input"))
    #expect(out.contains("fd 1 is standard output"))
    #expect(out.contains("fd 777 is not open"))
    #expect(out.contains("no descriptor is named 'nosuch'"))
    #expect(session.records.isEmpty, "no system call may be made on a refused descriptor")
  }

  @Test func expectationMismatchSaysWhatCameBack() {
    let session = makeSession()
    let result = session.execute("s = socket tcp = 99")
    #expect(!result.ok)
    #expect(result.failure?.contains("expected = 99, but socket returned") == true)
  }

  @Test func hostNamesAreResolved() {
    let session = makeSession()
    runAll(session, "srv = socket tcp\nbind srv localhost:0 = 0")
    #expect(session.out.captured.contains("localhost resolved to 127.0.0.1"))
  }

  @Test func hostileBytesFromThePeerAreEscaped() {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        send c "\\x1b[2J\\x1b]0;title\\x07\\xff\\xfe"
        recv conn
        """)
    let out = session.out.captured
    #expect(!out.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
    #expect(out.contains(#"\x1b[2J"#))
  }

  @Test func scriptTimeLimitStopsABlockingCall() {
    let session = makeSession(waitLimit: 1)
    runAll(session, "srv = socket tcp\nbind srv 127.0.0.1:0\nlisten srv")
    let result = session.execute("accept srv")
    #expect(!result.ok)
    #expect(session.out.captured.contains("Gave up after 1 s"))
    #expect(fd(session, "srv") != nil)
  }

  @Test func helpAndExplain() {
    let session = makeSession()
    runAll(session, "help\nhelp bind\nhelp addresses\nexplain EADDRINUSE\nexplain 111")
    let out = session.out.captured
    #expect(out.contains("int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);"))
    #expect(out.contains("man bind(2)"))
    #expect(out.contains("EADDRINUSE (98): Address already in use"))
    #expect(out.contains("ECONNREFUSED (111): Connection refused"))
    #expect(!session.execute("help lisen").ok)
    #expect(session.out.captured.contains("did you mean 'listen'"))
    // A word that starts several commands and topics names them all (Tab stops at "exp").
    #expect(!session.execute("help exp").ok)
    #expect(session.out.captured.contains("did you mean 'expect', 'explain', 'export'?"))
  }
}

/// What a receive on a datagram socket says agrees with the kernel: the bytes a short buffer
/// lost, an empty datagram (not an end), a sender with no address.
@Suite struct DatagramFactsTests {
  @Test func truncationEmptyDatagramsAndUnnamedSenders() {
    let session = makeSession()
    let name = "sockshell-facts-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    runAll(
      session,
      """
      u = socket udp
      bind u 127.0.0.1:0
      v = socket udp
      sendto v u "fourteen bytes" = 14
      sendto v u "" = 0
      sendto v u "eight!!!" = 8
      recvfrom u 5 = 5
      recvfrom u = 0
      recv u 8 = 8
      d = socket unix dgram
      bind d @\(name)
      e = socket unix dgram
      sendto e d "hi" = 2
      recvfrom d = 2
      """)
    let out = session.out.captured
    #expect(out.contains("The datagram had 14 bytes: the 9 that did not fit in 5 are lost"))
    #expect(out.contains("An empty datagram (0 bytes)"))
    #expect(!out.contains("end of stream"))
    #expect(!out.contains("The datagram had 8 bytes"), "a datagram that fits loses nothing")
    #expect(out.contains(#", "hi", 1024, 0, 0x..., [0]) = 2"#))
    #expect(out.contains("From an unnamed socket: the sender never bound an address"))
  }
}

/// What the shell says a close, a connect or an error did is what the kernel did.
@Suite struct CloseAndErrorFactsTests {
  /// SO_LINGER 0: close sends a reset, not a FIN, and leaves no TIME_WAIT; the timeline draws
  /// one RST for it, however many errors report it later.
  @Test func lingerZeroCloseIsAReset() throws {
    let session = makeSession()
    runAll(
      session,
      connectedPair + """
        setsockopt c linger on 0
        close c
        recv conn = -1 ECONNRESET
        send conn "x" = -1 EPIPE
        """)
    let out = session.out.captured
    #expect(out.contains("SO_LINGER is on with 0 seconds, so the kernel aborted the connection with a reset"))
    #expect(!out.contains("The kernel sends FIN"))
    session.out.width = 200
    let before = session.out.captured.count
    runAll(session, "timeline --ascii\nls --json")
    let shown = String(session.out.captured.dropFirst(before))
    #expect(shown.components(separatedBy: "RST").count - 1 == 1, "one reset:\n\(shown)")
    #expect(!shown.contains("FIN (close)"))
    #expect(!shown.contains("TIME_WAIT"))
  }

  /// A connect on a socket that was bound keeps that address; the kernel chose nothing.
  @Test func connectOfABoundSocketKeepsItsAddress() {
    let session = makeSession()
    runAll(session, "u = socket udp\nbind u 127.0.0.1:0\nv = socket udp\nbind v 127.0.0.1:0\nconnect u v = 0")
    #expect(session.out.captured.contains("It keeps the address you bound"))
    #expect(!session.out.captured.contains("The kernel gave it the local address"))
  }

  /// A non-blocking Unix connect to a full listener: EAGAIN means the queue is full.
  @Test func unixEAGAINOnConnectIsAFullQueue() {
    let session = makeSession()
    let name = "sockshell-full-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    runAll(
      session,
      """
      l = socket unix stream
      bind l @\(name)
      listen l 0
      a = socket unix stream
      connect a l = 0
      b = socket unix stream
      nonblock b on
      connect b l = -1 EAGAIN
      """)
    #expect(session.out.captured.contains("The listener's accept queue is full"))
  }

  /// A script line with a raw control byte is echoed as a line that reads as the same command.
  @Test func aLineWithRawBytesIsEchoedAsTheSameCommand() throws {
    let path = temporary("raw.ss")
    defer { unlink(path) }
    var script = Array("u = socket udp\nbind u 127.0.0.1:0\nsendto u u x".utf8) + [0x7F] + Array("y\n".utf8)
    script += Array("sendto u u 'q".utf8) + [0x01] + Array("q'\n".utf8)
    try Data(script).write(to: URL(fileURLWithPath: path))
    let result = try runProgram(sockshellPath, ["run", path])
    #expect(result.status == 0, "\(result.stdout)")
    #expect(result.stdout.contains("sockshell> sendto u u hex:787f79"), "\(result.stdout)")
    #expect(result.stdout.contains("sockshell> sendto u u hex:710171"), "\(result.stdout)")
  }

  /// shutdown says what the kernel did: a listener stops listening when reading is shut; UDP
  /// sends nothing; a failed shutdown on an unconnected UDP socket still marks it.
  @Test func shutdownFactsFollowTheKernel() {
    let session = makeSession()
    runAll(
      session,
      """
      srv = socket tcp
      bind srv 127.0.0.1:0
      listen srv
      c = socket tcp
      connect c srv
      shutdown srv read = 0
      v = socket udp
      connect v srv = 0
      shutdown v write = 0
      """)
    _ = session.execute("u = socket udp")
    _ = session.execute("shutdown u read = -1 ENOTCONN")
    _ = session.execute("recv u = 0")
    let out = session.out.captured
    #expect(out.contains("Shutting down reading on a listener stops it: fd"), "\(out)")
    #expect(out.contains("is CLOSED now"))
    #expect(out.contains("Nothing is sent: UDP has no end of stream"))
    #expect(out.contains("Linux marks fd"))
    #expect(out.contains("reading is shut down on fd"))
    #expect(!out.contains("An empty datagram"))
  }
}

/// sock_diag's exact lookup (what the shell reads a socket's queues and timers with) finds the
/// same row as the whole table in /proc/net/tcp and /proc/net/udp: state, queues, timer, inode.
@Suite struct SockDiagLookupTests {
  func same(_ found: KernelConnection?, _ row: KernelConnection?, _ what: String) {
    #expect(
      found != nil && row != nil, "\(what): lookup \(String(describing: found)), table \(String(describing: row))")
    guard let found, let row else { return }
    #expect(found.state == row.state && found.receiveQueue == row.receiveQueue, "\(what): \(found) vs \(row)")
    #expect(found.sendQueue == row.sendQueue && found.inode == row.inode && found.timer == row.timer, "\(what)")
    #expect(abs(found.timerSeconds - row.timerSeconds) < 1.5, "\(what): timers \(found) vs \(row)")
  }

  @Test(arguments: ["127.0.0.1", "[::1]"])
  func aLookupFindsWhatTheTableLists(host: String) throws {
    let session = makeSession()
    defer { _ = session.closeAll() }
    runAll(
      session,
      """
      srv = socket tcp \(host == "[::1]" ? "ipv6" : "ipv4")
      bind srv \(host):0
      listen srv
      c = socket tcp \(host == "[::1]" ? "ipv6" : "ipv4")
      connect c srv
      conn = accept srv
      send c "unread bytes" = 12
      c2 = socket tcp \(host == "[::1]" ? "ipv6" : "ipv4")
      connect c2 srv
      conn2 = accept srv
      close c2
      recv conn2 = 0
      close conn2
      u = socket udp \(host == "[::1]" ? "ipv6" : "ipv4")
      bind u \(host):0
      sendto u u "one datagram" = 12
      """)
    let table = ProcNetTCP.connections()
    for name in ["conn", "c"] {
      let number = try #require(fd(session, name))
      let local = try Sys.getsockname(number).get()
      let peer = try Sys.getpeername(number).get()
      let row = table.first { $0.inode == (try? Sys.inode(number).get()) }
      same(SockDiag.lookup(.tcp, local: local, remote: peer), row, "\(name) ESTABLISHED")
    }
    // The leftover in TIME_WAIT: found by its address pair (no inode: no descriptor holds it).
    let closed = try #require(session.lingeringConnections().first { $0.1.state == .timeWait }, "TIME_WAIT listed")
    let leftover = table.first {
      Session.sameEndpoint($0.local, closed.0.local) && Session.sameEndpoint($0.remote, closed.0.peer)
    }
    same(SockDiag.lookup(.tcp, local: closed.0.local, remote: closed.0.peer), leftover, "TIME_WAIT")
    #expect(closed.1.inode == 0 && closed.1.timerName == "timewait")
    let udp = try #require(fd(session, "u"))
    let udpRow = ProcNetTCP.udpSockets().first { $0.inode == (try? Sys.inode(udp).get()) }
    same(SockDiag.lookup(.udp, local: try Sys.getsockname(udp).get(), remote: nil), udpRow, "UDP with a datagram")
    #expect(udpRow.map { $0.receiveQueue > 0 } == true, "the datagram is counted")
    // Nothing with that pair: no row (never another socket's).
    #expect(SockDiag.lookup(.tcp, local: try Sys.getsockname(udp).get(), remote: closed.0.peer) == nil)
  }
}

/// What the shell says about SO_REUSEADDR and TIME_WAIT is what Linux does: it lets a bind past
/// a TIME_WAIT only when the socket that left it had SO_REUSEADDR too.
@Suite struct ReuseAddressFactsTests {
  func leaveTimeWait(_ session: Session, reuse: Bool) -> String {
    runAll(
      session,
      "l = socket tcp\n" + (reuse ? "setsockopt l reuseaddr 1\n" : "")
        + "bind l 127.0.0.1:0\nlisten l\nc = socket tcp\nconnect c l\ns = accept l\nclose s\nrecv c = 0\nclose c")
    let address = "127.0.0.1:\(port(session, "l") ?? 0)"
    runAll(session, "close l")
    return address
  }

  @Test func reuseAddressGetsPastTimeWaitOnlyWhenBothHaveIt() {
    let session = makeSession()
    defer { _ = session.closeAll() }
    let first = leaveTimeWait(session, reuse: false)
    #expect(session.lingeringConnections().contains { $0.1.state == .timeWait }, "a TIME_WAIT is kept")
    runAll(session, "n = socket tcp\nsetsockopt n reuseaddr 1\nbind n \(first) = -1 EADDRINUSE")
    let said = session.out.captured
    #expect(said.contains("Linux wants SO_REUSEADDR on the socket that left the TIME_WAIT too"), "\(said)")
    #expect(!said.contains("it gets past TIME_WAIT,"), "the old claim is gone")
    let second = leaveTimeWait(session, reuse: true)
    runAll(session, "m = socket tcp\nsetsockopt m reuseaddr 1\nbind m \(second) = 0")
  }
}

/// recv waitall waits in the event loop for its bytes; when the receive buffer is too small to
/// hold them all (its window closed), the call is made and the kernel copies as data comes.
@Suite struct WaitAllTests {
  @Test func waitAllLargerThanTheReceiveBufferFinishes() throws {
    let session = makeSession(waitLimit: 10)
    defer { _ = session.closeAll() }
    // A source to serve makes the wait go through the event loop, as at a terminal or in a lesson.
    let timer = session.loop.every(1.0) {}
    defer { session.loop.cancel(timer) }
    runAll(session, connectedPair + "setsockopt conn rcvbuf 4096\nsend c --size 300000 dontwait")
    let started = EventLoop.now()
    let result = session.execute("recv conn 100000 waitall = 100000")
    #expect(result.ok, "\(session.out.captured.suffix(600))")
    #expect(EventLoop.now() - started < 8, "it did not wait for the time limit")
    #expect(!session.out.captured.contains("(cut short)"))
  }
}
