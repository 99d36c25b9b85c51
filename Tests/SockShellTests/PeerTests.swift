import Foundation
import Testing

/// Peers from outside the project: curl, nc and python3 talk to the shell over loopback.
@Suite(.serialized) struct PeerTests {
  @Test func curlFetchesAPageServedWithSend() throws {
    guard let curl = which("curl") else { Issue.record("curl is not installed"); return }
    let port = freePort()
    let client = Process()
    client.executableURL = URL(fileURLWithPath: curl)
    client.arguments = [
      "-s", "--max-time", "20", "--retry", "40", "--retry-connrefused", "--retry-delay", "0", "--retry-max-time", "20",
      "http://127.0.0.1:\(port)/hello",
    ]
    let output = Pipe()
    client.standardOutput = output
    try client.run()
    let result = try runScript(
      """
      srv = socket tcp
      setsockopt srv reuseaddr 1
      bind srv 127.0.0.1:\(port) = 0
      listen srv
      conn = accept srv
      recv conn 4096
      send conn "HTTP/1.1 200 OK\\r\\nContent-Length: 13\\r\\nConnection: close\\r\\n\\r\\nhello, curl!\\n" = 71
      close conn
      """)
    waitBounded(client)
    let page = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(page == "hello, curl!\n")
    #expect(result.stdout.contains(#"GET /hello HTTP/1.1\r\n"#))
  }

  @Test func ncServerTalksToTheShell() throws {
    guard let nc = which("nc") else { Issue.record("nc is not installed"); return }
    let port = freePort()
    let server = Process()
    server.executableURL = URL(fileURLWithPath: nc)
    server.arguments = ["-l", "127.0.0.1", "\(port)"]
    let toServer = Pipe()
    let fromServer = Pipe()
    server.standardInput = toServer
    server.standardOutput = fromServer
    try server.run()
    defer { if server.isRunning { server.terminate() } }
    #expect(waitForListener(port: port))
    toServer.fileHandleForWriting.write(Data("hello from nc\n".utf8))
    let result = try runScript(
      """
      c = socket tcp
      connect c 127.0.0.1:\(port) = 0
      recv c 14 waitall = 14
      send c "hello from sockshell\\n" = 21
      close c
      """)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains(#""hello from nc\n""#))
    try toServer.fileHandleForWriting.close()
    waitBounded(server)
    let heard = String(decoding: fromServer.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(heard == "hello from sockshell\n")
  }

  @Test func pythonClientAndUDPPeer() throws {
    guard let python = which("python3") else { Issue.record("python3 is not installed"); return }
    let port = freePort()
    let client = Process()
    client.executableURL = URL(fileURLWithPath: python)
    client.arguments = [
      "-c",
      """
      import socket, time, sys
      for _ in range(200):
          try:
              s = socket.create_connection(("127.0.0.1", \(port)), timeout=10)
              break
          except ConnectionRefusedError:
              time.sleep(0.05)
      else:
          sys.exit("never connected")
      s.sendall(b"PING\\n")
      data = b""
      while not data.endswith(b"\\n"):
          chunk = s.recv(100)
          if not chunk: break
          data += chunk
      print(data.decode().strip())
      """,
    ]
    let output = Pipe()
    client.standardOutput = output
    try client.run()
    let result = try runScript(
      """
      srv = socket tcp
      bind srv 127.0.0.1:\(port) = 0
      listen srv
      conn = accept srv
      recv conn 5 waitall = 5
      send conn "PONG\\n" = 5
      close conn
      """)
    waitBounded(client)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "PONG\n")
    #expect(client.terminationStatus == 0)
  }

  /// Hostile peers (scripts/hostile.py, which make fuzz runs too): 100 MiB that the shell must
  /// read through, a reset in the middle of a transfer, escape sequences and invalid UTF-8, and
  /// 1,000 connections to a listener with backlog 5. The script fails a scenario when the shell
  /// dies, hangs, loses the learner's socket, or lets a raw control byte through.
  @Test func hostilePeersNeverBreakTheShell() throws {
    guard let python = which("python3") else { Issue.record("python3 is not installed"); return }
    let result = try runProgram(python, [packageRoot + "/scripts/hostile.py", sockshellPath], timeout: 600)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    let lines = result.stdout.split(separator: "\n")
    for scenario in ["flood", "reset", "escapes", "backlog"] {
      #expect(lines.contains { $0.hasPrefix(scenario + " ") && $0.hasSuffix(" ok") }, "\(scenario): \(result.stdout)")
    }
  }
}
