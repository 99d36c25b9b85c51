#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// Reads lines from a C stream, plainly: no prompt, no libedit (for pipes and files).
public final class LineReader {
  let file: UnsafeMutablePointer<FILE>
  let ownsFile: Bool
  public private(set) var interrupted = false
  /// Whether the lines come from a file, which is all there already: from a pipe or a terminal,
  /// the next line may wait for a person or a program, so what was written goes out first.
  public private(set) lazy var isRegularFile: Bool = {
    var info = stat()
    return fstat(fileno(file), &info) == 0 && info.st_mode & S_IFMT == S_IFREG
  }()

  /// Standard input.
  public init() {
    file = fdopen(0, "r")
    ownsFile = false
  }

  /// A file, or nil (errno says why). Its descriptor is moved above 100, so that the learner's
  /// sockets are numbered from 3 as in every tutorial.
  public init?(path: String) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    var info = stat()
    if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
      close(fd)
      errno = EISDIR
      return nil
    }
    let high = fcntl(fd, F_DUPFD_CLOEXEC, 100)
    if high >= 0 { close(fd) }
    guard let opened = fdopen(high >= 0 ? high : fd, "r") else { return nil }
    file = opened
    ownsFile = true
  }

  deinit {
    if ownsFile { fclose(file) }
  }

  /// The next line's raw bytes, without its newline.
  public func nextBytes() -> [UInt8]? {
    var buffer: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(buffer) }
    errno = 0
    let count = getline(&buffer, &capacity, file)
    if count < 0 {
      if errno == EINTR { interrupted = true }
      return nil
    }
    guard let buffer else { return nil }
    var bytes = UnsafeRawBufferPointer(start: buffer, count: count).map { $0 }
    if bytes.last == 0x0A { bytes.removeLast() }
    if bytes.last == 0x0D { bytes.removeLast() }
    return bytes
  }
}

/// Runs the shell: at a terminal with the line editor, or over lines from a script or a pipe.
public enum Runner {
  /// The interactive shell. Returns the exit code.
  static let banner = "SockShell: real sockets, one system call a line. Type help, or Tab to complete."

  public static func interactive(session: Session, showBanner: Bool = true) -> Int32 {
    let directory = LineEditor.stateDirectory()
    let editor = LineEditor(
      completer: Completer(session: session), historyPath: directory.map { $0 + "/history" }, loop: session.loop,
      out: session.out)
    if showBanner { session.out.line(banner, .note) }
    editor.currentPrompt = { [unowned session] in session.prompt }
    session.host.offer = { [unowned editor] text in editor.offered = text }
    defer { session.host.offer = nil }
    let presentation = session.host.presentation
    while !session.host.wantsExit {
      // Presenting: the narration before the next line, and the line ready at the prompt.
      if let presentation {
        presentation.showUpcoming()
        editor.offered = presentation.next?.offered
      }
      editor.setPrompt(session.prompt)
      session.out.flush()
      let input = editor.readLine()
      if let signal = Signals.terminationSignal {
        editor.close()  // the terminal as it was before the shell
        session.out.write("\n")
        return endedBy(signal, session: session)
      }
      switch input {
      case .endOfInput:
        session.out.write("\n")
        session.finish()
        return 0
      case .interrupted:
        session.host.classClient?.reoffer()  // Ctrl-C cleared the line; an offered one comes back
        continue
      case .line(let bytes):
        session.out.measureWidth()  // the terminal may have been resized meanwhile
        if Signals.terminationSignal == nil && !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
          editor.remember(bytes)
          session.host.history.append(ByteText.escaped(bytes, keepQuotes: true))
          if let presentation { presentation.run(bytes) } else { session.execute(bytes: bytes) }
          session.host.lessonRun?.tick()
        }
      }
      if let signal = Signals.terminationSignal {
        editor.close()  // the terminal as it was before the shell
        return endedBy(signal, session: session)
      }
    }
    session.finish()
    return 0
  }

  public struct ScriptOptions {
    public var keepGoing = false
    public var step = false
    /// "script.ss" or "standard input", for "FILE:LINE: ..." messages.
    public var sourceName: String

    public init(keepGoing: Bool = false, step: Bool = false, sourceName: String) {
      self.keepGoing = keepGoing
      self.step = step
      self.sourceName = sourceName
    }
  }

  /// Runs lines one by one, echoing each after `sockshell> ` so the transcript reads like a
  /// session. Stops at the first line that fails unless `keepGoing`; returns 0 only when every
  /// line held.
  public static func script(_ reader: LineReader, session: Session, options: ScriptOptions) -> Int32 {
    var failures: [(Int, String)] = []
    var lineNumber = 0
    let stepper = options.step ? StepReader(loop: session.loop) : nil
    // A Ctrl-C between two lines stops the script; one that stopped a line's wait belongs to it.
    var interrupt = InterruptWatch()
    while !session.host.wantsExit,
      let raw = { () -> [UInt8]? in
        if !reader.isRegularFile { session.out.flush() }
        return reader.nextBytes()
      }()
    {
      lineNumber += 1
      if let signal = Signals.terminationSignal {
        failures.append((lineNumber, "not run: the shell was ended by \(Signals.name(of: signal))"))
        break
      }
      if interrupt.pressed {
        failures.append((lineNumber, "interrupted by Ctrl-C"))
        break
      }
      // Blank lines and comments are judged on the bytes: the line is never decoded as a whole.
      let trimmed = raw.drop { $0 == 0x20 || $0 == 0x09 }
      if trimmed.isEmpty { continue }
      if trimmed.first == UInt8(ascii: "#") {
        session.out.line(ByteText.escaped(raw, keepQuotes: true), .note)
        continue
      }
      // Echoed as typed when that is printable text; else written back in the language (what
      // was typed, read as the same command), or, when it does not parse, escaped as in errors.
      let shown =
        raw.count <= 2000
        ? Parser.shownAsTyped(raw) ?? (try? Parser.parse(bytes: raw))??.text
          ?? ByteText.escaped(raw, keepQuotes: true) : ByteText.escaped(raw.prefix(2000), keepQuotes: true)
      let more = raw.count > 2000 ? " ... (\(raw.count - 2000) more bytes)" : ""
      session.out.line("sockshell> " + shown + more)
      if let stepper {
        session.out.flush()
        if !stepper.waitForEnter(interrupt: interrupt) {
          // After a Ctrl-C the terminal echoed ^C with no newline.
          if interrupt.pressed { session.out.write("\n") }
          // The lines after did not run, so the script did not hold: exit 1, as for a failure,
          // said once (below, as FILE:LINE).
          failures.append((lineNumber, "stopped before this line; the rest did not run"))
          break
        }
      }
      session.host.history.append(shown + more)  // as echoed: bytes that are not UTF-8 stay visible
      let result = session.execute(bytes: raw)
      if session.takeInterruptedWait() { interrupt = InterruptWatch() }
      session.host.lessonRun?.tick()
      if !result.ok {
        failures.append((lineNumber, result.failure ?? "failed"))
        if !options.keepGoing { break }
      }
    }
    if let signal = Signals.terminationSignal {
      session.out.write("\n")
      _ = endedBy(signal, session: session)
      for (number, message) in failures { printError("\(options.sourceName):\(number): \(message)") }
      return 128 + signal
    }
    if reader.interrupted { failures.append((lineNumber + 1, "interrupted by Ctrl-C")) }
    session.finish()
    for (number, message) in failures {
      printError("\(options.sourceName):\(number): \(message)")
    }
    if failures.count > 1 {
      printError("\(failures.count) lines failed")
    }
    return failures.isEmpty ? 0 : 1
  }

  /// Ends the shell after SIGTERM, SIGHUP or SIGQUIT: descriptors closed (and said), one line
  /// saying why; the exit status is 128 + the signal's number.
  static func endedBy(_ signal: Int32, session: Session) -> Int32 {
    session.finish()
    printError("sockshell: ended by \(Signals.name(of: signal))")
    return 128 + signal
  }

  /// Writes a message to standard error, escaped like everything the shell prints.
  static func printError(_ text: String) {
    var bytes = Array((ByteText.sanitized(text) + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
  }
}

/// Waits for Enter between the lines of `run --step` (from the terminal, even when the script is
/// piped in).
final class StepReader {
  let fd: Int32
  let owns: Bool
  let loop: EventLoop

  init(loop: EventLoop) {
    self.loop = loop
    if isatty(0) == 1 {
      fd = 0
      owns = false
    } else {
      let tty = open("/dev/tty", O_RDONLY | O_CLOEXEC)
      let high = tty >= 0 ? fcntl(tty, F_DUPFD_CLOEXEC, 100) : -1
      if high >= 0 { close(tty) }
      fd = high >= 0 ? high : tty
      owns = fd >= 0
    }
  }

  deinit {
    if owns { close(fd) }
  }

  /// True to run the line; false when the presenter typed q or input ended.
  func waitForEnter(interrupt: InterruptWatch) -> Bool {
    guard fd >= 0 else { return true }
    var typed: [UInt8] = []
    var byte: UInt8 = 0
    while true {
      // Through the event loop: a Ctrl-C from before the read began stops it too.
      switch loop.wait(for: fd, interrupt: interrupt) {
      case .interrupted: return false
      case .failed: return !typed.isEmpty
      case .ready, .timedOut: break
      }
      let count = read(fd, &byte, 1)
      if count <= 0 { return count < 0 && errno == EINTR ? false : !typed.isEmpty }
      if byte == 0x0A { break }
      typed.append(byte)
    }
    // q (or Q, or quit), spaces around it or not, stops.
    let word = String(decoding: typed.filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }, as: UTF8.self).lowercased()
    return !(word == "q" || word == "quit")
  }
}
