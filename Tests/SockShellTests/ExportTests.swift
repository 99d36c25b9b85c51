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
      send c "hello\\n\\x00\\x01?\\"\\\\" = 11
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
    let script = script.replacing("SOCKETPATH", with: socketPath)
    let result = try runScript(script + "\nsave \(saved)\nexport c \(c)\nexport python \(python)\ntrace\n")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("sockshell> trace\nsocket(AF_"))

    guard let cc = which("cc") ?? which("gcc") else {
      Issue.record("no C compiler")
      return
    }
    let build = try runProgram(cc, ["-Wall", "-Werror", "-o", binary, c])
    #expect(build.status == 0, "cc failed:\n\(build.stderr)")
    let runC = try runProgram(binary, [])
    #expect(runC.status == 0, "C program differed from the session:\n\(runC.stdout)\(runC.stderr)")

    let runPython = try runProgram(try #require(which("python3")), [python])
    #expect(runPython.status == 0, "Python program differed:\n\(runPython.stdout)\(runPython.stderr)")

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
