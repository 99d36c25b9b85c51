import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `save`, `export c` and `export python` on real sessions: the programs compile, run, and agree
/// with the session.
@Suite struct ExportTests {
  static let sessions: [(String, String)] = [
    (
      "tcp",
      """
      srv = socket tcp
      bind srv 127.0.0.1:0 = 0
      listen srv
      c = socket tcp
      connect c srv = 0
      conn = accept srv
      poll conn --in = 0
      poll conn --out = 1
      send c "hello\\n\\x00\\x01?\\"\\\\" = 11
      poll conn c --in --timeout 100 = 1
      recv conn 11 waitall = 11
      setsockopt conn nodelay 1
      send conn --size 300 = 300
      recv c 300 waitall = 300
      shutdown c write = 0
      recv conn = 0
      close conn = 0
      send c "late" = -1 EPIPE
      """
    ),
    (
      "udp",
      """
      u = socket udp
      bind u 127.0.0.1:0 = 0
      v = socket udp ipv6
      w = socket udp
      sendto w u "datagram" = 8
      recvfrom u 100 = 8
      connect w u = 0
      send w hex:00ff = 2
      recv u = 2
      """
    ),
    (
      "unix",
      """
      srv = socket stream unix
      bind srv SOCKETPATH = 0
      listen srv
      c = socket stream unix
      connect c srv = 0
      conn = accept srv
      send c "local" = 5
      recv conn = 5
      """
    ),
    (
      "unix-datagrams",
      """
      named = socket dgram unix
      bind named "SOCKETPATH"
      anon = socket dgram unix
      sendto anon named "from nobody" = 11
      recvfrom named = 11
      abs = socket dgram unix
      bind abs "@sockshell-export-test-abstract"
      sendto anon abs "x" = 1
      recvfrom abs 100 = 1
      """
    ),
    (
      "sizes-and-files",
      connectedPair + """
        send c --file DATAFILE = 5000
        recv conn 5000 waitall = 5000
        send conn --size 70000 = 70000
        recv c 70000 waitall = 70000
        send c "*0\\r\\n */ ??= \\x016" = 14
        recv conn 14 = 14
        send c '/* x */' = 7
        send c a\\ = 2
        recv conn 9 waitall = 9
        """
    ),
    (
      "cut-short",
      connectedPair + """
        send c --size 1000 = 1000
        recv conn 2000 waitall
        recv conn
        send c "after" = 5
        recv conn = 5
        """
    ),
    (
      // A descriptor named after the fact (`name 5 conn`): the later lines use its variable.
      "named-later",
      """
      l = socket tcp
      bind l 127.0.0.1:0
      listen l
      c = socket tcp
      connect c l
      accept l = 5
      name 5 conn
      send c "hi" = 2
      recv conn = 2
      """
    ),
    (
      // On loopback only: every group datagram leaves by 127.0.0.1 or lo.
      "multicast",
      """
      r = socket udp
      setsockopt r reuseaddr 1
      bind r *:MCPORT
      setsockopt r add_membership 239.1.2.3 127.0.0.1 = 0
      setsockopt r multicast_all 0 = 0
      getsockopt r multicast_all = 0
      s = socket udp
      setsockopt s multicast_if 127.0.0.1 = 0
      getsockopt s multicast_if = 0
      setsockopt s multicast_ttl 0 = 0
      setsockopt s multicast_loop 1 = 0
      sendto s 239.1.2.3:MCPORT "group" = 5
      recvfrom r 100 = 5
      setsockopt r drop_membership 239.1.2.3 127.0.0.1 = 0
      setsockopt r drop_membership 239.1.2.3 127.0.0.1 = -1 EADDRNOTAVAIL
      setsockopt r add_membership 239.1.2.4 lo = 0
      b = socket udp
      sendto b 127.255.255.255:MCPORT "x" = -1 EACCES
      setsockopt b broadcast 1 = 0
      v = socket udp ipv6
      setsockopt v v6only 1
      bind v [::]:MCPORT
      setsockopt v add_membership ff12::1:2:3 lo = 0
      setsockopt v multicast_if lo = 0
      getsockopt v multicast_if = 0
      setsockopt v multicast_ttl 0 = 0
      sendto v [ff12::1:2:3]:MCPORT "six" = -1 ENETUNREACH
      """
    ),
    (
      "refused",
      """
      probe = socket tcp
      bind probe 127.0.0.1:0
      listen probe
      c = socket tcp
      n = socket tcp
      nonblock n on
      recv n = -1 ENOTCONN
      close probe
      connect c 127.0.0.1:1 = -1 ECONNREFUSED
      """
    ),
  ]

  @Test(arguments: sessions)
  func exportedProgramsReproduceTheSession(name: String, script: String) throws {
    let c = temporary("\(name).c")
    let python = temporary("\(name).py")
    let saved = temporary("\(name).ss")
    let binary = temporary(name)
    defer { for path in [c, python, saved, binary] { try? FileManager.default.removeItem(atPath: path) } }
    // A Unix socket path of its own for this run (the file stays after close).
    let socketPath = temporary("s.sock")
    defer { unlink(socketPath) }
    let dataFile = temporary("data")
    try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }).write(to: URL(fileURLWithPath: dataFile))
    defer { unlink(dataFile) }
    let script = script.replacing("SOCKETPATH", with: socketPath).replacing("DATAFILE", with: dataFile)
      .replacing("MCPORT", with: String(freePort()))
    let result = try runScript(
      script + "\nsave \(saved)\nexport c \(c)\nexport python \(python)\ntrace\n",
      arguments: ["--timeout", "1"] + (name == "cut-short" ? ["--keep-going"] : []))
    if name == "cut-short" {
      // The time limit stops both recvs: the first has 1000 of 2000 bytes and says so.
      #expect(result.status == 1)
      #expect(result.stdout.contains(#"MSG_WAITALL) = 1000 (cut short)"#), "\(result.stdout)")
    } else {
      #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
    #expect(result.stdout.contains("sockshell> trace\nsocket(AF_"))

    guard let cc = which("cc") ?? which("gcc") else {
      Issue.record("no C compiler")
      return
    }
    let build = try runProgram(
      cc, ["-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-o", binary, c])
    #expect(build.status == 0, "cc failed:\n\(build.stderr)")
    // The socket file the session left must go first: the program's bind makes it again.
    unlink(socketPath)
    let runC = try runProgram(binary, [], environment: ["ASAN_OPTIONS": "detect_leaks=1"], timeout: 90)
    #expect(runC.status == 0, "C program differed from the session:\n\(runC.stdout)\(runC.stderr)")
    #expect(!runC.stderr.contains("Sanitizer"), "\(runC.stderr)")

    unlink(socketPath)
    let runPython = try runProgram(try #require(which("python3")), [python], timeout: 90)
    #expect(runPython.status == 0, "Python program differed:\n\(runPython.stdout)\(runPython.stderr)")
    // What the programs received is shown, as the session showed it.
    if name == "tcp" {
      #expect(runC.stdout.contains(#"got "hello\n\x00\x01?\"\\""#), "\(runC.stdout)")
      #expect(runPython.stdout.contains(#"got b'hello\n\x00\x01?"\\'"#), "\(runPython.stdout)")
      #expect(runC.stdout.contains("peer 127.0.0.1:"), "accept shows the peer")
    }
    if name == "sizes-and-files" {
      // The learner's line stands in the comment as typed: only what would end a C comment changes.
      let cText = try String(contentsOfFile: c, encoding: .utf8)
      let pythonText = try String(contentsOfFile: python, encoding: .utf8)
      #expect(cText.contains(#"// send c "*0\r\n */ ??= \x016" = 14"#), "the line exactly, in a // comment")
      #expect(pythonText.contains(#"# send c "*0\r\n */ ??= \x016" = 14"#))
      // The data is written as the shell shows it, and reads as the same bytes in C.
      #expect(cText.contains(#"send(s_c, "*0\r\n */ ?\x3f= \0016", 14, 0)"#))
      #expect(cText.contains("Build and run: cc -Wall -o"), "the header names the file written")
      #expect(cText.contains(c.split(separator: "/").last!))
    }
    if name == "unix-datagrams" {
      #expect(runC.stdout.contains("from: no address (an unnamed socket)"), "\(runC.stdout)")
    }

    // The socket file the programs left must go before the script binds it again.
    unlink(socketPath)
    let replay = try runProgram(sockshellPath, ["run", saved])
    #expect(replay.status == 0, "saved script did not replay:\n\(replay.stdout)\(replay.stderr)")
    let text = try String(contentsOfFile: saved, encoding: .utf8)
    #expect(text.contains("= 0\n"))
  }

  /// A program that meets a different kernel state says so and fails: the checks can fail.
  @Test func exportedProgramNoticesADifferentResult() throws {
    let c = temporary("differ.c")
    let binary = temporary("differ")
    let port = freePort()
    defer { for path in [c, binary] { try? FileManager.default.removeItem(atPath: path) } }
    // In the session the port is free; while the program runs, a listener holds it.
    let result = try runScript("s = socket tcp\nbind s 127.0.0.1:\(port) = 0\nexport c \(c)\n")
    #expect(result.status == 0)
    guard let cc = which("cc") ?? which("gcc") else { return }
    #expect(try runProgram(cc, ["-Wall", "-Werror", "-o", binary, c]).status == 0)
    let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(holder) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    #expect(bound == 0)
    listen(holder, 1)
    let run = try runProgram(binary, [])
    #expect(run.status == 1)
    #expect(run.stderr.contains("bind = -1 (Address already in use), but the session saw 0"))
  }
}

/// A name given with `name` is saved with the lines: the saved script replays (the lines after
/// it use the name), and the exported program is the same calls.
@Suite struct SaveNamesTests {
  @Test func aSavedScriptKeepsItsNames() throws {
    let saved = temporary("names.ss")
    defer { unlink(saved) }
    let program = temporary("names.c")
    defer { unlink(program) }
    let first = try runScript(
      "socket tcp\nname 3 srv\nbind srv 127.0.0.1:0 = 0\nlisten srv = 0\nsave \(saved)\nexport c \(program)\n")
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    let text = try String(contentsOfFile: saved, encoding: .utf8)
    #expect(text.contains("name 3 srv\nbind srv 127.0.0.1:0 = 0"), "\(text)")
    let again = try runProgram(sockshellPath, ["run", saved])
    #expect(again.status == 0, "the saved script replays: \(again.stdout)\(again.stderr)")
    let c = try String(contentsOfFile: program, encoding: .utf8)
    #expect(!c.contains("name 3 srv"), "no statement for a name")
    #expect(first.stdout.contains("a C program of 3 calls"), "\(first.stdout)")
  }
}
