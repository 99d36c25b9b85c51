import CSupport
import Foundation
import SocketLayer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The built `sockshell` executable, next to the test bundle.
let sockshellPath: String = {
  if let path = ProcessInfo.processInfo.environment["SOCKSHELL_BIN"] { return path }
  let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
  return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("sockshell").path
}()

struct ProcessResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// A program the tests started, with posix_spawn and waitpid of its own pid only (Foundation's
/// Process once never saw a child end, and its waitUntilExit hung the whole run).
final class Child {
  let pid: pid_t
  /// Its standard input, output and error, as this process's ends of pipes.
  private(set) var input: Int32
  let output: Int32
  let errors: Int32
  private(set) var status: Int32?

  init(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    for (key, value) in environment { env[key] = value }
    var pipes: [[Int32]] = []
    for _ in 0..<3 {
      var ends: [Int32] = [0, 0]
      // Close-on-exec: another test's child, spawned meanwhile, must not hold an end open.
      guard csupport_pipe_cloexec(&ends) == 0 else { throw POSIXError(.EMFILE) }
      pipes.append(ends)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
    posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
    posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var child: pid_t = 0
    let failed = posix_spawn(&child, path, &actions, nil, argv, envp)
    close(pipes[0][0])
    close(pipes[1][1])
    close(pipes[2][1])
    guard failed == 0 else {
      for fd in [pipes[0][1], pipes[1][0], pipes[2][0]] { close(fd) }
      throw POSIXError(POSIXErrorCode(rawValue: failed) ?? .ENOENT)
    }
    pid = child
    input = pipes[0][1]
    output = pipes[1][0]
    errors = pipes[2][0]
  }

  deinit {
    for fd in [input, output, errors] where fd >= 0 { close(fd) }
    if status == nil {
      kill(pid, SIGKILL)
      _ = wait(seconds: 5)
    }
  }

  func write(_ text: String) {
    _ = text.utf8CString.dropLast().withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
  }
  /// Closes its standard input (once: a number closed twice may be another file's by then).
  func closeInput() {
    guard input >= 0 else { return }
    close(input)
    input = -1
  }

  /// Waits at most `seconds` for it to end; its wait status (nil: still running). A child that
  /// is gone without a status for this process (ECHILD) counts as ended, with -1.
  func wait(seconds: Double) -> Int32? {
    let deadline = Date().addingTimeInterval(seconds)
    while status == nil {
      var waited: Int32 = 0
      let got = waitpid(pid, &waited, WNOHANG)
      if got == pid {
        status = waited
      } else if got < 0 && errno == ECHILD {
        status = -1
      } else if Date() >= deadline {
        return nil
      } else {
        usleep(5_000)
      }
    }
    return status
  }

  /// The exit code (128 + N for a signal), as a shell gives it.
  var exitCode: Int32 {
    guard let status, status >= 0 else { return -1 }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }

  /// Everything it writes on `fd` until it closes it, read on a thread of its own.
  static func drain(_ fd: Int32) -> () -> Data {
    nonisolated(unsafe) var data = Data()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
      var buffer = [UInt8](repeating: 0, count: 65536)
      while true {
        let count = read(fd, &buffer, buffer.count)
        if count > 0 {
          data.append(contentsOf: buffer.prefix(count))
        } else if count < 0 && errno == EINTR {
          continue
        } else {
          break
        }
      }
      done.signal()
    }
    return {
      done.wait()
      return data
    }
  }
}

/// Runs a program with arguments and optional standard input; waits at most `timeout` seconds.
func runProgram(
  _ path: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
  timeout: TimeInterval = 60
) throws -> ProcessResult {
  let child = try Child(path, arguments, environment: environment)
  // Read both pipes while the program runs, so that a full pipe cannot stall it.
  let out = Child.drain(child.output)
  let err = Child.drain(child.errors)
  if let input { child.write(input) }
  child.closeInput()
  if child.wait(seconds: timeout) == nil {
    kill(child.pid, SIGKILL)
    Issue.record("\(path) \(arguments) did not finish within \(timeout) s")
    _ = child.wait(seconds: 10)
  }
  return ProcessResult(
    status: child.exitCode, stdout: String(decoding: out(), as: UTF8.self),
    stderr: String(decoding: err(), as: UTF8.self))
}

/// Waits at most `seconds` for a Foundation Process to end, without its waitUntilExit (which
/// hung once on a child that had ended): a process that is gone counts as ended.
func waitBounded(_ process: Process, seconds: Double = 30) {
  let deadline = Date().addingTimeInterval(seconds)
  while process.isRunning && Date() < deadline {
    if kill(process.processIdentifier, 0) != 0 && errno == ESRCH { return }
    usleep(10_000)
  }
  if process.isRunning { process.terminate() }
}

/// Runs `sockshell run` on a script written to a temporary file.
func runScript(_ script: String, arguments: [String] = [], environment: [String: String] = [:]) throws
  -> ProcessResult
{
  let path = NSTemporaryDirectory() + "sockshell-\(getpid())-\(UUID().uuidString).ss"
  try script.write(toFile: path, atomically: true, encoding: .utf8)
  defer { try? FileManager.default.removeItem(atPath: path) }
  return try runProgram(sockshellPath, ["run", path] + arguments, environment: environment)
}

/// A TCP port that was free a moment ago (bound to port 0, then closed): for peers that need the
/// number before the shell runs.
func freePort() -> UInt16 {
  // Below the kernel's ephemeral range (32768 and up by default): a port the kernel handed out
  // for a moment would soon be another connection's local port (the class tests make many), and
  // an outside peer's bind to it could fail. One that binds now, and is not ephemeral, is kept.
  for _ in 0..<200 {
    let candidate = UInt16.random(in: 20_000..<32_000)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = candidate.bigEndian
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if bound == 0 { return candidate }
  }
  return 29_999
}

/// Waits (at most `seconds`) until something listens on 127.0.0.1:port, read from /proc/net/tcp.
func waitForListener(port: UInt16, seconds: Double = 10) -> Bool {
  // sock_diag's exact lookup of 127.0.0.1:PORT in LISTEN (a read of /proc/net/tcp walks the
  // whole table, and on this kernel did not always show a listener made a moment before).
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if let row = SockDiag.lookup(.tcp, local: .ipv4([127, 0, 0, 1], port: port), remote: nil),
      row.state == .listen
    {
      return true
    }
    usleep(20_000)
  }
  return false
}

/// The path of a program on PATH (Debian's first), or nil.
/// A fresh path in the temporary folder, for a test's file.
func temporary(_ name: String) -> String {
  NSTemporaryDirectory() + "sockshell-test-\(UUID().uuidString)-\(name)"
}

func which(_ name: String) -> String? {
  for directory in ["/usr/bin", "/bin", "/usr/local/bin"] {
    let path = directory + "/" + name
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  return nil
}
