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

/// Runs a program with arguments and optional standard input; waits at most `timeout` seconds.
func runProgram(
  _ path: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:],
  timeout: TimeInterval = 60
) throws -> ProcessResult {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  var env = ProcessInfo.processInfo.environment
  env["NO_COLOR"] = "1"
  for (key, value) in environment { env[key] = value }
  process.environment = env
  let out = Pipe()
  let err = Pipe()
  let inPipe = Pipe()
  process.standardOutput = out
  process.standardError = err
  process.standardInput = inPipe
  try process.run()
  if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
  try inPipe.fileHandleForWriting.close()
  // Read both pipes while the process runs, so that a full pipe cannot stall it.
  let group = DispatchGroup()
  nonisolated(unsafe) var outData = Data()
  nonisolated(unsafe) var errData = Data()
  DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
  DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
  let deadline = Date().addingTimeInterval(timeout)
  while process.isRunning && Date() < deadline { usleep(10_000) }
  if process.isRunning {
    process.terminate()
    Issue.record("\(path) \(arguments) did not finish within \(timeout) s")
  }
  process.waitUntilExit()
  group.wait()
  return ProcessResult(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
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
