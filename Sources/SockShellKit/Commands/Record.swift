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
      session.out.line(CallText.line(record), .call)
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
    for entry in session.transcript {
      // A line that Ctrl-C or the time limit stopped after some bytes is saved for those bytes;
      // one that got nothing would wait for what never came: kept as a comment only.
      if let reproduced = entry.reproduced {
        if entry.interrupted { text += "# cut short in the session: \(ByteText.sanitized(entry.line.text))\n" }
        text += reproduced.checkedLine.text + "\n"
      } else {
        text += "# interrupted in the session: " + entry.checkedLine.text + "\n"
      }
    }
    return try FileWriter.write(
      text, to: path, what: counted(session.transcript.count, "command"),
      session: session)
  }
}

/// `export c|python FILE`: the session as a program.
struct ExportCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "export",
    synopsis: "export c|python|pcap FILE",
    summary: "write the session as a C or Python program that makes the same calls and checks the results",
    example: "export c session.c",
    details: [
      "Build the C program with: cc -Wall -o session session.c && ./session",
      "export pcap FILE writes the packets the wire showed (wire on) as a pcapng file for Wireshark or tshark -r FILE.",
    ],
    completion: [.words(["c", "python", "pcap"])],
    group: .shell
  )

  var language: String
  var path: String

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    language = try arguments.choice("language", from: ["c", "python", "pcap"])
    path = try arguments.word("FILE")
  }

  var arguments: [String] { [language, Lexer.quote(Array(path.utf8))] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    if language == "pcap" {
      guard let frames = session.wireFrames else {
        throw CommandRefusal(
          "The wire is off, so no packets were captured: turn it on with wire on (or sockshell --wire).")
      }
      let outcome = try FileWriter.write(
        Pcap.file(frames.kept), to: path, what: "\(counted(frames.kept.count, "packet")) (pcapng)", session: session)
      if frames.dropped > 0 {
        session.note(
          "The \(counted(frames.dropped, "oldest packet")) did not fit in the wire's memory and are not in it.")
      }
      if outcome == .done { session.note("Read it with: tshark -r \(path)   (or open it in Wireshark)") }
      return outcome
    }
    let program = Export.program(session.transcript, language: language == "c" ? .c : .python, file: path)
    let outcome = try FileWriter.write(
      program, to: path,
      what:
        "a \(language == "c" ? "C" : "Python") program of \(session.transcript.filter { !($0.line.command is NameCommand) }.count) calls",
      session: session)
    if outcome == .done {
      session.note(language == "c" ? "Build and run it: \(Export.buildCommand(path))" : "Run it: python3 \(path)")
    }
    return outcome
  }
}

extension SaveCommand { static var capabilities: Capabilities { [.writesFiles] } }
extension ExportCommand { static var capabilities: Capabilities { [.writesFiles] } }

extension FileWriter {
  static func write(_ text: String, to path: String, what: String, session: any CommandSession) throws(CommandRefusal)
    -> CommandOutcome
  {
    try write(Array(text.utf8), to: path, what: what, session: session)
  }

  static func write(_ bytes: [UInt8], to path: String, what: String, session: any CommandSession)
    throws(CommandRefusal) -> CommandOutcome
  {
    // Never overwrite someone's file: only an empty one, or one that sockshell wrote before, may
    // be replaced; and never anything but a file (renaming over /dev/null would replace the device).
    var info = stat()
    if lstat(path, &info) == 0 {
      var refusal: String?
      if let kind = FileWriter.notAFile(info) {
        refusal = "\(path) is \(kind), not a file: choose a file name (nothing was written)"
      } else if info.st_size > 0 && !FileWriter.writtenBySockshell(path) {
        refusal = "\(path) exists and was not written by sockshell: choose another name (nothing was written)"
      }
      if let refusal { throw CommandRefusal(refusal) }
    }
    if let failure = FileWriter.writeAtomically(bytes, to: path, mode: 0o644) {
      throw CommandRefusal("cannot write \(path): \(failure.message) (nothing was written; an old file is kept whole)")
    }
    session.note("Wrote \(what) to \(path).")
    return .done
  }

  /// Whether one of the first three lines of the file says "by sockshell" (save and export write
  /// that in their header).
  static func writtenBySockshell(_ path: String) -> Bool {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var head = [UInt8](repeating: 0, count: 200)
    let count = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    let start = Array(head.prefix(max(0, count)))
    // A pcapng file says so in its section header (Pcap.writer), not on a line of text.
    if start.starts(with: Pcap.word(0x0A0D_0D0A)) {
      return String(decoding: start, as: UTF8.self).contains(Pcap.writer)
    }
    return start.split(separator: 0x0A).prefix(3).contains {
      String(decoding: $0, as: UTF8.self).contains("by sockshell")
    }
  }
}
