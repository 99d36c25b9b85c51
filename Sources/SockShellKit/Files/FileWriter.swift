#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// The one writer of everything the shell writes (save, export, progress, the trimmed history):
/// a file is replaced whole or not at all, and nothing another user planted is followed.
/// A temporary file is created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW) under an unpredictable
/// name beside the target, written, fsynced, and renamed over it; a target that is a symbolic
/// link, a device, a FIFO or a directory is refused; opening never blocks.
enum FileWriter {
  /// What a path is when it is not a regular file ("a symbolic link", "a directory"...), else nil
  /// (for `lstat`'s answer: a link is not followed).
  static func notAFile(_ info: stat) -> String? {
    switch info.st_mode & S_IFMT {
    case S_IFREG: nil
    case S_IFLNK: "a symbolic link"
    case S_IFDIR: "a directory"
    case S_IFCHR, S_IFBLK: "a device"
    case S_IFIFO: "a pipe (FIFO)"
    case S_IFSOCK: "a Unix socket"
    default: "a special file"
    }
  }

  /// Writes `bytes` to `path` whole or not at all; returns the errno on failure (the old file,
  /// if any, is then as it was). `mode`: the new file's permissions.
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) -> Errno? {
    var info = stat()
    if lstat(path, &info) == 0, notAFile(info) != nil { return Errno(ELOOP) }
    guard let (fd, temporary) = createTemporary(beside: path, mode: mode) else { return .current }
    var failure: Errno?
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
      if written < 0 {
        if errno == EINTR { continue }
        failure = .current
        break
      }
      offset += written
    }
    if failure == nil && fchmod(fd, mode) != 0 { failure = .current }
    if failure == nil && fsync(fd) != 0 { failure = .current }
    close(fd)
    if failure == nil && rename(temporary, path) != 0 { failure = .current }
    if failure != nil { unlink(temporary) }
    return failure
  }

  /// A new file `PATH.tmp-RANDOM` made by this call alone (never an existing file or a link).
  static func createTemporary(beside path: String, mode: mode_t) -> (Int32, String)? {
    for _ in 0..<16 {
      let name = path + ".tmp-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
      let fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode & 0o600)
      if fd >= 0 { return (fd, name) }
      if errno != EEXIST { return nil }
    }
    errno = EEXIST
    return nil
  }

  /// Opens a regular file to append to (created with `mode` when missing), never following a
  /// link and never blocking; nil with the reason when it is not a regular file or cannot be
  /// opened.
  static func openForAppend(_ path: String, mode: mode_t) -> Result<Int32, CommandRefusal> {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode)
    if fd < 0 {
      if errno == ELOOP { return .failure(CommandRefusal("\(path) is a symbolic link")) }
      return .failure(CommandRefusal("cannot open \(path): \(Errno.current.message)"))
    }
    var info = stat()
    if fstat(fd, &info) != 0 || info.st_mode & S_IFMT != S_IFREG {
      close(fd)
      return .failure(CommandRefusal("\(path) is \(notAFile(info) ?? "not a file"), not a file"))
    }
    return .success(fd)
  }
}
