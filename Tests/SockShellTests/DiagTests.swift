import Foundation
import SocketLayer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// sock_diag's dumps (what another process's sockets are read with) agree with `ss` for the
/// same sockets: a listener with a full accept queue, an established pair, CLOSE_WAIT,
/// TIME_WAIT, a Unix listener with a connection waiting; and /proc/PID/fd maps descriptors to
/// their sockets' inodes.
@Suite struct DiagTests {
  func loopback(_ fd: Int32) -> SocketAddress { (try? Sys.getsockname(fd).get()) ?? .unnamed }

  /// `ss` rows for the TCP sockets whose local or peer port is one of `ports`, by inode:
  /// state, Recv-Q, Send-Q.
  func ssRows(_ arguments: [String]) throws -> [UInt64: (state: String, receive: Int, send: Int)] {
    guard let ss = which("ss") else { return [:] }
    let result = try runProgram(ss, arguments)
    var rows: [UInt64: (String, Int, Int)] = [:]
    for line in result.stdout.split(separator: "\n").dropFirst() {
      let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      guard words.count >= 4, let inodeWord = words.first(where: { $0.hasPrefix("ino:") }),
        let inode = UInt64(inodeWord.dropFirst(4))
      else { continue }
      // Netid first when -x or several kinds are asked for.
      let offset = ["tcp", "udp", "u_str", "u_dgr", "u_seq"].contains(words[0]) ? 1 : 0
      guard let receive = Int(words[offset + 1]), let send = Int(words[offset + 2]) else { continue }
      rows[inode] = (words[offset], receive, send)
    }
    return rows
  }

  @Test func tcpDumpAgreesWithSS() throws {
    guard which("ss") != nil else {
      print("skipped: needs ss (iproute2)")
      return
    }
    var fds: [Int32] = []
    defer { fds.forEach { _ = Sys.close($0) } }
    func open() throws -> Int32 {
      let fd = try Sys.socket(.ipv4, .stream).get()
      fds.append(fd)
      return fd
    }
    // A listener with backlog 1 and three connections: two finished (one more than the backlog
    // waits), the third's SYN not answered.
    let listener = try open()
    try Sys.bind(listener, .ipv4([127, 0, 0, 1], port: 0)).get()
    try Sys.listen(listener, backlog: 1).get()
    for _ in 0..<3 {
      let client = try open()
      _ = Sys.setNonBlocking(client, true)
      _ = Sys.connect(client, loopback(listener))
    }
    usleep(100_000)
    // An established pair with unread bytes, and one whose peer closed (CLOSE_WAIT).
    let server = try open()
    try Sys.bind(server, .ipv4([127, 0, 0, 1], port: 0)).get()
    try Sys.listen(server, backlog: 8).get()
    let a = try open()
    try Sys.connect(a, loopback(server)).get()
    let accepted = try Sys.accept(server).get().fd
    fds.append(accepted)
    _ = try Sys.send(a, Array("unread".utf8), flags: 0).get()
    let b = try open()
    try Sys.connect(b, loopback(server)).get()
    let closing = try Sys.accept(server).get().fd
    fds.append(closing)
    _ = Sys.close(b)  // closing's peer closed: CLOSE_WAIT; b in FIN_WAIT2 (an orphan)
    // TIME_WAIT: a connection closed first by this side, both ends closed.
    let c = try open()
    try Sys.connect(c, loopback(server)).get()
    let d = try Sys.accept(server).get().fd
    _ = Sys.close(c)
    usleep(50_000)
    _ = Sys.close(d)
    usleep(100_000)

    let dump = try SockDiag.dump(.tcp, family: .ipv4).get()
    let ss = try ssRows(["-tan", "-e"])
    let byInode = Dictionary(dump.map { ($0.inode, $0) }, uniquingKeysWith: { first, _ in first })
    let mine = try [listener, a, accepted, closing].map { fd in (fd, try Sys.inode(fd).get()) }
    for (fd, inode) in mine {
      let row = try #require(byInode[inode], "fd \(fd) is in the dump")
      let theirs = try #require(ss[inode], "fd \(fd) is in ss")
      // ss writes ESTAB, CLOSE-WAIT where the kernel's names are ESTABLISHED, CLOSE_WAIT.
      let ours = row.state?.name.replacing("_", with: "-").replacing("ESTABLISHED", with: "ESTAB")
      #expect(ours == theirs.state, "fd \(fd): \(String(describing: row.state)) against ss's \(theirs.state)")
      #expect(row.receiveQueue == theirs.receive && row.sendQueue == theirs.send, "fd \(fd): \(row) against \(theirs)")
    }
    #expect(byInode[try Sys.inode(listener).get()]?.receiveQueue == 2, "two finished connections wait (backlog 1)")
    #expect(byInode[try Sys.inode(listener).get()]?.sendQueue == 1, "the backlog")
    #expect(byInode[try Sys.inode(accepted).get()]?.receiveQueue == 6, "six unread bytes")
    #expect(byInode[try Sys.inode(closing).get()]?.state == .closeWait)
    #expect(byInode[try Sys.inode(accepted).get()]?.tcpInfo?.state == .established, "TCP_INFO comes with it")
    // The TIME_WAIT leftover (no inode: no socket holds it) is in the dump with its timer.
    let port = loopback(server).port
    #expect(
      dump.contains { $0.state == .timeWait && $0.remote.port == port && $0.timer == 3 },
      "the TIME_WAIT leftover of c, the side that closed first")
  }

  @Test func unixDumpAndTheProcessesDescriptors() throws {
    let path = NSTemporaryDirectory() + "diag-\(UUID().uuidString).sock"
    defer { unlink(path) }
    let listener = try Sys.socket(.unix, .stream).get()
    defer { _ = Sys.close(listener) }
    try Sys.bind(listener, .unix(path: Array(path.utf8))).get()
    try Sys.listen(listener, backlog: 4).get()
    let client = try Sys.socket(.unix, .stream).get()
    defer { _ = Sys.close(client) }
    try Sys.connect(client, .unix(path: Array(path.utf8))).get()
    let dump = try SockDiag.dumpUnix().get()
    let inode = try Sys.inode(listener).get()
    let row = try #require(dump.first { $0.inode == inode })
    #expect(row.path == path)
    #expect(row.state == 10, "listening")
    #expect(row.receiveQueue == 1 && row.sendQueue == 4, "one connection waits; backlog 4 (as ss shows)")
    // Once accepted, the client names its peer: the accepted socket (before, the connection
    // waiting in the queue has no inode to name).
    let accepted = try Sys.accept(listener).get().fd
    defer { _ = Sys.close(accepted) }
    let after = try SockDiag.dumpUnix().get()
    let clientRow = try #require(after.first { $0.inode == (try? Sys.inode(client).get()) })
    #expect(clientRow.peer == (try Sys.inode(accepted).get()), "a connected socket names its peer's inode")
    // /proc/self/fd: the descriptors that are sockets, with their inodes.
    let descriptors = try ProcessSockets.descriptors(of: getpid()).get()
    #expect(descriptors.contains { $0.fd == listener && $0.inode == inode })
    #expect(descriptors.contains { $0.fd == client })
    #expect(!descriptors.contains { $0.fd == 0 || $0.fd == 1 }, "only sockets")
    if case .failure(let errno) = ProcessSockets.descriptors(of: 999_999_999) { #expect(errno.code == ENOENT) }
  }
}

/// `ls PID` of a python3 server: the same sockets, states and queues as `ss -p` shows for that
/// process; another user's process is refused with the reason.
@Suite struct ListPIDTests {
  @Test func lsOfAPythonServerAgreesWithSS() throws {
    guard let python = which("python3"), let ss = which("ss") else {
      print("skipped: needs python3 and ss")
      return
    }
    let path = temporary("peer.sock")
    let server = Process()
    server.executableURL = URL(fileURLWithPath: python)
    server.arguments = [
      "-c",
      """
      import socket, sys, time, os
      l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
      port = l.getsockname()[1]
      clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
      a, _ = l.accept(); clients[0].send(b"unread")
      a2, _ = l.accept()
      b = socket.create_connection(("127.0.0.1", port)); c, _ = l.accept(); b.close()
      waiting = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
      u = socket.socket(socket.AF_UNIX); u.bind(sys.argv[1]); u.listen(4)
      print("ready", flush=True)
      time.sleep(30)
      """, path,
    ]
    let output = Pipe()
    server.standardOutput = output
    try server.run()
    defer {
      server.terminate()
      unlink(path)
    }
    _ = output.fileHandleForReading.availableData  // "ready"
    usleep(100_000)
    let result = try runScript("ls --wide \(server.processIdentifier)\nls --json \(server.processIdentifier)")
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    let theirs = try runProgram(ss, ["-tanp"]).stdout.split(separator: "\n").filter {
      $0.contains("pid=\(server.processIdentifier),")
    }
    // Every TCP socket ss shows for the process is in ls PID, with ss's state and queues.
    // The listener, four clients, three accepted (one in CLOSE_WAIT); two wait in the queue.
    #expect(theirs.count == 8, "\(theirs)")
    for line in theirs {
      let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      let state = words[0].replacing("ESTAB", with: "ESTABLISHED").replacing("-", with: "_")
      let row = "\(state)  .*\(NSRegularExpression.escapedPattern(for: words[3])).*  \(words[1])  +\(words[2])"
      #expect(result.stdout.range(of: row, options: .regularExpression) != nil, "\(line)\n\(result.stdout)")
    }
    #expect(result.stdout.contains("unix-stream  LISTEN"), "\(result.stdout)")
    #expect(
      result.stdout.range(of: "LISTEN +127.0.0.1:[0-9]+ +- +2 +1", options: .regularExpression) != nil,
      "two wait, backlog 1")
    #expect(result.stdout.contains("\"pid\":\(server.processIdentifier)"), "\(result.stdout)")
    #expect(result.stdout.contains("\"state\":\"CLOSE_WAIT\""), "\(result.stdout)")
  }

  /// As another user (setpriv), ls PID and inspect PID:FD of root's process are refused with the
  /// reason.
  @Test(arguments: ["ls 1", "inspect 1:3"])
  func anotherUsersProcessIsRefusedWithTheReason(line: String) throws {
    guard getuid() == 0, let setpriv = which("setpriv") else {
      print("skipped: needs root and setpriv to be another user")
      return
    }
    let result = try runProgram(
      setpriv, ["--reuid", "65534", "--regid", "65534", "--clear-groups", sockshellPath, "run", "-"],
      input: line + "\n")
    #expect(result.status != 0)
    #expect(
      result.stdout.contains("process 1's descriptors (/proc/1/fd) cannot be read (EACCES)"),
      "\(result.stdout)\(result.stderr)")
  }
}
