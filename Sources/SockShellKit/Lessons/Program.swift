#if canImport(Glibc)
  import Glibc
#endif
import CSupport
import SocketLayer

/// A lesson step that asks for a program of the learner's own: the file they write, and how the
/// engine exercises it (the `program` block). The lesson names only a file in the learner's
/// folder and what its clients send; it supplies no code and no arguments but the port.
public struct ProgramSpec: Sendable, Equatable {
  public enum Language: Sendable, Equatable {
    case c, python
  }

  /// A plain file name in the learner's folder: `echo_server.c`, `echo_server.py`.
  public var file: String
  /// Clients connected at once.
  public var clients = 10
  /// What each client sends; `{n}` is its number.
  public var message: [UInt8] = Array("hello {n}\n".utf8)
  /// What each client must get back: nil for its own message (an echo).
  public var reply: [UInt8]?
  /// A client with a small receive buffer that sends 128 KiB and reads it back slowly (an echo
  /// only). Off unless the block asks for it.
  public var slowReader = false
  /// A client that sends, then resets its connection (close with SO_LINGER 0); then one more.
  /// Off unless the block asks for it.
  public var reset = false
  public var line: Int

  public var language: Language { file.hasSuffix(".c") ? .c : .python }

  static let keys = ["file", "clients", "send", "expect", "slow-reader", "reset"]
  static let maxClients = 50

  /// Parses a `program` block's `key: value` lines; problems as (line, message).
  static func parse(_ lines: [LessonLine], at line: Int) -> (ProgramSpec?, [(Int, String)]) {
    var spec = ProgramSpec(file: "", line: line)
    var problems: [(Int, String)] = []
    for entry in lines where !entry.text.allSatisfy({ $0 == " " }) {
      guard let colon = entry.text.firstIndex(of: ":") else {
        problems.append((entry.line, "a program block has KEY: VALUE lines (\(keys.joined(separator: ", ")))"))
        continue
      }
      let key = entry.text[..<colon].trimmingCharacters(in: " ").lowercased()
      // One word or one quoted text; a `#` word after it starts a comment.
      let tokens = (try? Lexer.tokenize(String(entry.text[entry.text.index(after: colon)...]))) ?? []
      let words = Array(tokens.prefix { !($0.isBare && $0.text.hasPrefix("#")) })
      let value = words.count == 1 ? words[0].text : words.isEmpty ? "" : "\u{0}"
      func yes() -> Bool? {
        ["yes", "on", "true"].contains(value) ? true : ["no", "off", "false"].contains(value) ? false : nil
      }
      func bytes() -> [UInt8]? {
        guard words.count == 1, !words[0].bytes.isEmpty, words[0].bytes.count <= 4096 else { return nil }
        return words[0].bytes
      }
      switch key {
      case "file":
        if let why = fileProblem(value) { problems.append((entry.line, why)) } else { spec.file = value }
      case "clients":
        if let number = Int(value), (1...maxClients).contains(number) {
          spec.clients = number
        } else {
          problems.append((entry.line, "clients: a number from 1 to \(maxClients)"))
        }
      case "send":
        if let message = bytes() {
          spec.message = message
        } else {
          problems.append((entry.line, "send: one quoted text of 1 to 4096 bytes (\"hello {n}\\n\")"))
        }
      case "expect":
        if value == "echo" {
          spec.reply = nil
        } else if let reply = bytes() {
          spec.reply = reply
        } else {
          problems.append((entry.line, "expect: echo, or one quoted text of 1 to 4096 bytes"))
        }
      case "slow-reader", "reset":
        guard let on = yes() else {
          problems.append((entry.line, "\(key): yes or no"))
          continue
        }
        if key == "reset" { spec.reset = on } else { spec.slowReader = on }
      default:
        problems.append((entry.line, "unknown key '\(key)' in a program block: use \(keys.joined(separator: ", "))"))
      }
    }
    if spec.slowReader && spec.reply != nil {
      let at = lines.first { $0.text.lowercased().contains("slow-reader") }?.line ?? line
      problems.append(
        (at, "slow-reader: yes needs expect: echo (the slow client sends 128 KiB and wants the same bytes back)"))
    }
    if spec.file.isEmpty && !problems.contains(where: { $0.1.hasPrefix("file") }) {
      problems.append((line, "a program block needs file: NAME.c or NAME.py"))
    }
    return (spec.file.isEmpty ? nil : spec, problems)
  }

  /// Why `name` cannot be a program's file: a plain name in the learner's folder, ending .c or .py.
  static func fileProblem(_ name: String) -> String? {
    let allowed = name.unicodeScalars.allSatisfy {
      $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "."
    }
    guard allowed, !name.hasPrefix("."), name.count <= 64, name.hasSuffix(".c") || name.hasSuffix(".py") else {
      return
        "file: a plain file name in the learner's folder (letters, digits, _ - .; no / or ..), ending .c or .py, at most 64 characters"
    }
    return nil
  }

  /// A client's message with its number.
  func message(for number: Int) -> [UInt8] {
    Array(String(decoding: message, as: UTF8.self).replacing("{n}", with: "\(number)").utf8)
  }

  /// What a client must get back.
  func reply(for number: Int) -> [UInt8] {
    reply.map { Array(String(decoding: $0, as: UTF8.self).replacing("{n}", with: "\(number)").utf8) }
      ?? message(for: number)
  }
}

extension StringProtocol {
  fileprivate func trimmingCharacters(in set: Character) -> String {
    String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
  }
}

/// A learner's program (or its compiler) running under limits, in a process group of its own,
/// its standard output and error read (the first 16 KiB kept) and always stopped at the end.
final class ProgramProcess {
  let pid: Int32
  let outputFD: Int32
  private(set) var output: [UInt8] = []
  private(set) var outputDropped = 0
  /// The wait status once it ended.
  private(set) var status: Int32?
  static let keptOutput = 16384

  struct Limits {
    var cpuSeconds = 5
    var openFiles = 256
    var memoryBytes = 1 << 30
    var fileBytes = 1 << 20
  }

  private init(pid: Int32, outputFD: Int32) {
    self.pid = pid
    self.outputFD = outputFD
  }

  /// Starts `path`; the reason it could not be started, in words.
  static func start(
    _ path: String, arguments: [String], environment: [String], directory: String, limits: Limits
  ) -> Result<ProgramProcess, CommandRefusal> {
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else {
      return .failure(CommandRefusal("cannot make a pipe for the program's output: \(Errno(errno).name)"))
    }
    for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    _ = fcntl(pipeFDs[0], F_SETFL, fcntl(pipeFDs[0], F_GETFL) | O_NONBLOCK)
    var cLimits = csupport_limits(
      cpu_seconds: limits.cpuSeconds, open_files: limits.openFiles, memory_bytes: limits.memoryBytes,
      file_bytes: limits.fileBytes)
    var error: Int32 = 0
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer {
      for pointer in argv + envp { free(pointer) }
    }
    let pid = argv.withUnsafeBufferPointer { argvBuffer in
      envp.withUnsafeBufferPointer { envBuffer in
        csupport_spawn_limited(
          path, argvBuffer.baseAddress, envBuffer.baseAddress, directory, pipeFDs[1], pipeFDs[1], &cLimits, &error)
      }
    }
    _ = Glibc.close(pipeFDs[1])
    guard pid > 0 else {
      _ = Glibc.close(pipeFDs[0])
      let errno = Errno(error)
      return .failure(CommandRefusal("cannot start \(path): \(errno.name) (\(errno.message))"))
    }
    return .success(ProgramProcess(pid: pid, outputFD: pipeFDs[0]))
  }

  /// Reads what it printed so far; notes whether it ended.
  func poll() {
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = read(outputFD, &buffer, buffer.count)
      guard count > 0 else { break }
      let room = max(0, ProgramProcess.keptOutput - output.count)
      output += buffer.prefix(min(room, count))
      outputDropped += count - min(room, count)
    }
    if status == nil {
      var waited: Int32 = 0
      if waitpid(pid, &waited, WNOHANG) == pid { status = waited }
    }
  }

  var running: Bool {
    poll()
    return status == nil
  }

  /// Stops it (and anything it started in its group): SIGTERM, then SIGKILL after `grace`
  /// seconds. How it was stopped, in words; nil when it had ended by itself.
  @discardableResult
  func stop(grace: Double = 0.3) -> String? {
    poll()
    defer {
      // Its children too, whatever it did.
      kill(-pid, SIGKILL)
      poll()
      _ = Glibc.close(outputFD)
    }
    guard status == nil else { return nil }
    kill(-pid, SIGTERM)
    let deadline = EventLoop.now() + grace
    while EventLoop.now() < deadline {
      poll()
      if status != nil { return "stopped with SIGTERM" }
      usleep(5000)
    }
    kill(-pid, SIGKILL)
    var waited: Int32 = 0
    if waitpid(pid, &waited, 0) == pid { status = waited }
    return "it ignored SIGTERM for \(Int(grace * 1000)) ms: killed with SIGKILL"
  }

  /// How it ended, in words ("exited with status 1", "killed by SIGPIPE").
  var ending: String? {
    guard let status else { return nil }
    if status & 0x7F == 0 { return "exited with status \((status >> 8) & 0xFF)" }
    let signal = status & 0x7F
    return "killed by \(Signals.name(of: signal))"
  }

  /// The signal that ended it, if one did.
  var signal: Int32? {
    guard let status, status & 0x7F != 0 else { return nil }
    return status & 0x7F
  }

  /// The first executable `name` on PATH.
  static func find(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
    for folder in path.split(separator: ":") where folder.hasPrefix("/") {
      let candidate = "\(folder)/\(name)"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }
}

/// One client the engine runs against a learner's program: non-blocking, on loopback, moved on
/// a little at each tick of the verification.
final class ProgramClient {
  let number: Int
  let fd: Int32
  let sent: [UInt8]
  let expected: [UInt8]
  private(set) var written = 0
  private(set) var received: [UInt8] = []
  private(set) var error: String?
  private(set) var connected = false
  private(set) var peerClosed = false
  /// At most this many bytes read per tick (the slow reader); nil: all there is.
  let readPerTick: Int?
  /// Reset the connection right after the first send, in the same step (the reset client): the
  /// server then has most of it still to read.
  var resetOnceWritten = false
  private(set) var closed = false

  init?(
    port: UInt16, number: Int, sending: [UInt8], expecting: [UInt8], receiveBuffer: Int? = nil, readPerTick: Int? = nil
  ) {
    guard case .success(let fd) = Sys.socket(.ipv4, .stream) else { return nil }
    self.fd = fd
    self.number = number
    sent = sending
    expected = expecting
    self.readPerTick = readPerTick
    if let receiveBuffer {
      _ = Sys.setsockopt(fd, level: SOL_SOCKET, name: SO_RCVBUF, bytes: ProgramClient.int(Int32(receiveBuffer)))
    }
    _ = Sys.setNonBlocking(fd, true)
    switch Sys.connect(fd, .ipv4([127, 0, 0, 1], port: port)) {
    case .success: connected = true
    case .failure(let errno) where errno.code == EINPROGRESS: break
    case .failure(let errno): error = "connect failed: \(errno.name)"
    }
  }

  static func int(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }

  var done: Bool { error != nil || peerClosed || received.count >= expected.count }
  var served: Bool { received == expected }

  /// Moves the client on without waiting: finish connecting, send what is left, read what came.
  func step() {
    guard error == nil, !peerClosed, !closed else { return }
    if !connected {
      guard case .success(let events) = Sys.poll([fd], events: Int16(POLLOUT), timeoutMilliseconds: 0),
        events[0] != 0
      else { return }
      let code = (try? Sys.getsockopt(fd, level: SOL_SOCKET, name: SO_ERROR).get()) ?? 0
      if code != 0 {
        error = "connect failed: \(Errno(code).name)"
        return
      }
      connected = true
    }
    // As much as the kernel takes now (up to EAGAIN), 64 KiB a call.
    sending: while written < sent.count {
      switch Sys.send(fd, Array(sent[written...].prefix(65536)), flags: Int32(MSG_NOSIGNAL)) {
      case .success(let count): written += count
      case .failure(let errno) where errno.code == EAGAIN: break sending
      case .failure(let errno):
        error = "send failed: \(errno.name)"
        return
      }
    }
    if resetOnceWritten && written > 0 {
      close(reset: true)
      return
    }
    var budget = readPerTick ?? Int.max
    while budget > 0 && received.count < expected.count {
      switch Sys.recv(fd, maxLength: min(budget, 65536), flags: 0) {
      case .success(let result):
        if result.count == 0 {
          peerClosed = true
          return
        }
        received += result.bytes.prefix(result.count)
        budget -= result.count
      case .failure(let errno) where errno.code == EAGAIN: return
      case .failure(let errno):
        error = "recv failed: \(errno.name)"
        return
      }
    }
  }

  /// Closes it: with a FIN, or (`reset`) with SO_LINGER 0, a RST.
  func close(reset: Bool = false) {
    guard !closed else { return }
    closed = true
    if reset {
      var value = linger(l_onoff: 1, l_linger: 0)
      let bytes = withUnsafeBytes(of: &value) { Array($0) }
      _ = Sys.setsockopt(fd, level: SOL_SOCKET, name: SO_LINGER, bytes: bytes)
    }
    _ = Sys.close(fd)
  }

  /// What it got, for a report: "all 9 bytes", or what differs.
  var outcome: String {
    if served { return "got back \(ByteText.quoted(received, limit: 40))" }
    var what =
      received.isEmpty
      ? "got nothing back"
      : received.count > expected.count
        ? "got \(received.count) bytes back, more than the \(expected.count) it should: \(ByteText.quoted(received, limit: 40))"
        : "got \(received.count) of \(expected.count) bytes back: \(ByteText.quoted(received, limit: 40))"
    if let error { what += " (\(error))" } else if peerClosed { what += " (then the program closed the connection)" }
    if !connected && error == nil { what = "could not connect" }
    return what
  }
}
