#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `trace`: every system call of the session, as it was shown.
struct TraceCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "trace",
    synopsis: "trace",
    summary: "every system call this session made, strace style, with its result",
    group: .shell
  )

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    if session.records.isEmpty { session.note("No system calls yet.") }
    for record in session.records {
      session.out.line(CallText.line(record))
    }
    return .done
  }
}

/// `save FILE`: the session as a script that `sockshell run` replays.
struct SaveCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "save",
    synopsis: "save FILE",
    summary: "write the session as a script, each line with = EXPECTED (replay it with sockshell run FILE)",
    example: "save session.ss",
    group: .shell
  )

  var path: String

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    path = try arguments.word("FILE")
  }

  var arguments: [String] { [Lexer.quote(Array(path.utf8))] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    var text = "# Saved by sockshell: replay with  sockshell run \(ByteText.sanitized(path))\n"
    for entry in session.transcript { text += entry.checkedLine.text + "\n" }
    return try FileWriter.write(
      text, to: path, what: counted(session.transcript.count, "command"),
      session: session)
  }
}

/// `export c|python FILE`: the session as a program.
struct ExportCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "export",
    synopsis: "export c|python FILE",
    summary: "write the session as a C or Python program that makes the same calls and checks the results",
    example: "export c session.c",
    details: ["Build the C program with: cc -Wall -o session session.c && ./session"],
    completion: [.words(["c", "python"])],
    group: .shell
  )

  var language: String
  var path: String

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    language = try arguments.choice("language", from: ["c", "python"])
    path = try arguments.word("FILE")
  }

  var arguments: [String] { [language, Lexer.quote(Array(path.utf8))] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let program = Export.program(session.transcript, language: language == "c" ? .c : .python)
    let outcome = try FileWriter.write(
      program, to: path, what: "a \(language == "c" ? "C" : "Python") program of \(session.transcript.count) calls",
      session: session)
    if outcome == .done {
      session.note(language == "c" ? "Run it: cc -Wall -o session \(path) && ./session" : "Run it: python3 \(path)")
    }
    return outcome
  }
}

/// Writes a file whole or not at all (temporary file, fsync, rename).
enum FileWriter {
  static func write(_ text: String, to path: String, what: String, session: any CommandSession) throws(CommandRefusal)
    -> CommandOutcome
  {
    // Never overwrite someone's file: only an empty one, or one that sockshell wrote before, may
    // be replaced; and never anything but a file (renaming over /dev/null would replace the device).
    var info = stat()
    if stat(path, &info) == 0 {
      var refusal: String?
      if let kind = FileWriter.notAFile(info) {
        refusal = "\(path) is \(kind), not a file: choose a file name (nothing was written)"
      } else if info.st_size > 0 && !FileWriter.writtenBySockshell(path) {
        refusal = "\(path) exists and was not written by sockshell: choose another name (nothing was written)"
      }
      if let refusal { throw CommandRefusal(refusal) }
    }
    if let failure = FileWriter.writeAtomically(Array(text.utf8), to: path, mode: 0o644) {
      throw CommandRefusal("cannot write \(path): \(failure.message)")
    }
    session.note("Wrote \(what) to \(path).")
    return .done
  }

  /// What a path is when it is not a regular file ("a directory", "a device"...), else nil.
  static func notAFile(_ info: stat) -> String? {
    switch info.st_mode & S_IFMT {
    case S_IFREG: nil
    case S_IFDIR: "a directory"
    case S_IFCHR, S_IFBLK: "a device"
    case S_IFIFO: "a pipe (FIFO)"
    case S_IFSOCK: "a Unix socket"
    default: "a special file"
    }
  }

  /// Whether one of the first three lines of the file says "by sockshell" (save and export write
  /// that in their header).
  static func writtenBySockshell(_ path: String) -> Bool {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var head = [UInt8](repeating: 0, count: 200)
    let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    return head.prefix(max(0, count)).split(separator: 0x0A).prefix(3).contains {
      String(decoding: $0, as: UTF8.self).contains("by sockshell")
    }
  }

  /// Writes a file whole or not at all: a temporary file beside it, fsync, then rename. A crash or
  /// a full disk leaves the old file as it was. Returns the errno on failure.
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) -> Errno? {
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else { return .current }
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
    if failure == nil && fsync(fd) != 0 { failure = .current }
    close(fd)
    if failure == nil && rename(temporary, path) != 0 { failure = .current }
    if failure != nil { unlink(temporary) }
    return failure
  }
}

extension SaveCommand { static var capabilities: Capabilities { [.writesFiles] } }
extension ExportCommand { static var capabilities: Capabilities { [.writesFiles] } }
