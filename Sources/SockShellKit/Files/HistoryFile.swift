#if canImport(Glibc)
  import Glibc
#endif
import CEditLine
import SocketLayer

/// The history file of the prompt (libedit's format): loaded once, appended one line per command
/// (never rewritten in place, so two shells keep both their lines), and trimmed to its limit
/// rarely and atomically. A history that is not a regular file (a planted link, a FIFO) turns
/// history off for the session with a warning; it is never followed or opened.
final class HistoryFile {
  let path: String
  /// Why the history is not kept this session (shown once), or nil.
  private(set) var off: String?
  /// Entries kept in memory (libedit's size) and on disk after a trim.
  static let limit = 1000
  /// Past this size at start the file is trimmed to the last `limit` entries.
  static let trimSize = 256 << 10
  static let header = "_HiStOrY_V2_\n"

  init(path: String) {
    self.path = path
    var info = stat()
    if lstat(path, &info) == 0, let kind = FileWriter.notAFile(info) {
      off = "the history file \(path) is \(kind): history is not kept this session"
    }
  }

  /// Loads the entries into libedit's history; trims a file grown too big.
  func load(into history: OpaquePointer) {
    guard off == nil else { return }
    // Opened here, never following a link and never blocking, and checked to be a file; libedit
    // then reads that very file through /proc/self/fd (nothing can be swapped in between).
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else {
      if errno != ENOENT {
        off = "the history file \(path) cannot be read (\(Errno.current.message)): history is not kept"
      }
      return
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      off = "the history file \(path) is \(FileWriter.notAFile(info) ?? "not a file"): history is not kept this session"
      return
    }
    cedit_history_load(history, "/proc/self/fd/\(fd)")
    if info.st_size > HistoryFile.trimSize { trim(history) }
  }

  /// Rewrites the file with the entries in memory (the last `limit`), whole or not at all.
  func trim(_ history: OpaquePointer) {
    var text = HistoryFile.header
    for index in 0..<cedit_history_count(history) {
      guard let entry = cedit_history_entry(history, Int32(index)) else { break }
      text += HistoryFile.encoded(Array(String(cString: entry).utf8)) + "\n"
    }
    if let failure = FileWriter.writeAtomically(Array(text.utf8), to: path, mode: 0o600) {
      off = "the history file \(path) could not be trimmed (\(failure.message)): it is kept as it was"
    }
  }

  /// Appends one line; returns a warning the first time it cannot (a full disk, a file that
  /// turned into a link), and then keeps the history in memory only.
  func append(_ line: [UInt8]) -> String? {
    guard off == nil else { return nil }
    switch FileWriter.openForAppend(path, mode: 0o600) {
    case .failure(let refusal):
      off = "history is not saved this session: \(refusal.message)"
      return off
    case .success(let fd):
      defer { close(fd) }
      var info = stat()
      fstat(fd, &info)
      var bytes = Array(
        ((info.st_size == 0 ? HistoryFile.header : "") + HistoryFile.encoded(line) + "\n").utf8)
      // One write: a line is added whole or, on a full disk, taken back whole.
      let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if written != bytes.count {
        let failure = written < 0 ? Errno.current.message : "the disk is full"
        if written > 0 { ftruncate(fd, info.st_size) }
        off = "history is not saved this session: cannot write \(path) (\(failure)); the file is kept as it was"
        return off
      }
      return nil
    }
  }

  /// A line in libedit's file format (strvis): visible ASCII as it is, every other byte (space,
  /// backslash, control, UTF-8) as a backslash and three octal digits.
  static func encoded(_ bytes: [UInt8]) -> String {
    var out = ""
    for byte in bytes {
      if byte > 0x20 && byte < 0x7F && byte != 0x5C {
        out.unicodeScalars.append(Unicode.Scalar(byte))
      } else {
        let octal = String(byte, radix: 8)
        out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
      }
    }
    return out
  }
}
