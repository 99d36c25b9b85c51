#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// How a line of output looks on a colour terminal.
public enum Style: Sendable {
  case plain
  /// The system call and its result.
  case call
  /// A plain-language explanation (dimmed).
  case note
  /// A failure.
  case error
  /// Something that worked.
  case success
  /// A heading in help and tables.
  case heading
  /// A packet on the wire (cyan), wrapped as a note is.
  case wire
}

/// Where the shell writes. Buffered: flushed before the shell waits (for input or a blocking
/// call) and at exit, so that a 20,000-line script is not 20,000 write calls.
public final class Output {
  /// The descriptor written to; nil keeps everything in `captured` (tests).
  let fd: Int32?
  public var color: Bool
  /// Cells to wrap explanations at: the terminal's width (read again before each command), or 80.
  public var width: Int {
    get {
      if let fixedWidth { return fixedWidth }
      if !measured { measureWidth() }
      return measuredWidth
    }
    set { fixedWidth = newValue }
  }
  var fixedWidth: Int?
  var measuredWidth = 80
  var measured = false
  var buffer: [UInt8] = []
  public private(set) var captured = ""
  /// With no descriptor: each line as written, with its style (the partner shows its calls and
  /// errors, not the explanations meant for the learner's own calls).
  public private(set) var capturedLines: [(text: String, style: Style)] = []

  public init(fd: Int32?, color: Bool) {
    self.fd = fd
    self.color = color
    buffer.reserveCapacity(1 << 16)
  }

  /// Reads the terminal's width (TIOCGWINSZ) again; 80 when it is not a terminal or says less
  /// than 40. The prompt calls it before each command, so a resized terminal is followed.
  public func measureWidth() {
    measured = true
    measuredWidth = 80
    guard let fd, isatty(fd) == 1 else { return }
    var size = winsize()
    if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 { measuredWidth = Int(size.ws_col) }
  }

  /// Output for a test: nothing is written, all is kept in `captured`.
  public static func capture() -> Output {
    let output = Output(fd: nil, color: false)
    output.width = 1 << 20  // no wrapping: tests read whole sentences
    return output
  }

  public func write(_ text: String) {
    if fd == nil {
      captured += text
      return
    }
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= 1 << 16 { flush() }
  }

  /// Writes one line in a style. Whatever the line holds, no control byte reaches the terminal:
  /// text that came from a script, a peer or a file is escaped here as a last guard.
  /// `wrap: false` keeps a long line whole (`FILE:LINE: message`, which editors and grep read).
  public func line(_ text: String = "", _ style: Style = .plain, wrap: Bool = true) {
    if !muted { recording?.append((text, style)) }
    let plain = Output.isPlain(text)
    let text = plain ? text : ByteText.sanitized(text)
    // Printable ASCII takes a cell a byte: measured without walking it again.
    let cells = plain ? text.utf8.count : Cells.width(text)
    // Explanations and errors are prose: wrap them to the terminal, continuing indented.
    if wrap && style == .call && cells > width {
      for part in Cells.wrapCall(text, width: width) { emit(part, style) }
      return
    }
    if wrap && style != .plain && cells > width {
      let indent = String(text.prefix { $0 == " " })
      // A packet's line keeps its data preview ("...") and its SYN options (<...>) whole: the
      // spaces inside them do not break (held as no-break spaces while the line is cut).
      let body = String(text.dropFirst(indent.count))
      let held = style == .wire ? Output.holdingSpaces(body) : body
      for part in Cells.wrap(held, width: width - indent.count) {
        let line = style == .wire ? part.replacing("\u{A0}", with: " ") : part
        emit(indent + line.trimmingSuffixSpaces, style)
      }
      return
    }
    emit(text, style)
  }

  /// A line of a view (`inspect`'s fields) wrapped at spaces to the width, its continuation
  /// lines indented by `hanging` cells so that they stand under the field's value.
  func field(_ text: String, hanging: Int) {
    if !muted { recording?.append((text, .plain)) }
    let safe = Output.isPlain(text) ? text : ByteText.sanitized(text)
    let indent = String(safe.prefix { $0 == " " })
    let continuation = String(repeating: " ", count: max(0, hanging - indent.count))
    for part in Cells.wrap(
      String(safe.dropFirst(indent.count)), width: width - indent.count, continuation: continuation)
    {
      emit(indent + part, .plain)
    }
  }

  /// A line of lesson prose with its code spans and emphasis styled (cyan, italic, bold) on a
  /// colour terminal, and as plain text (no marks) without colour. Each part is escaped as a
  /// line is; spans are Characters of `text`.
  func prose(_ text: String, spans: [LessonText.Span]) {
    guard color, !spans.isEmpty else { return line(text, .plain, wrap: false) }
    if !muted { recording?.append((text, .plain)) }
    let characters = Array(text)
    var shown = ""
    var at = 0
    func plain(_ upTo: Int) {
      guard upTo > at else { return }
      let part = String(characters[at..<upTo])
      shown += Output.isPlain(part) ? part : ByteText.sanitized(part)
      at = upTo
    }
    for span in spans {
      let lower = min(max(span.range.lowerBound, at), characters.count)
      let upper = min(max(span.range.upperBound, lower), characters.count)
      plain(lower)
      guard upper > lower else { continue }
      let part = String(characters[lower..<upper])
      let code =
        switch span.kind {
        case .code: "\u{1B}[36m"
        case .emphasis: "\u{1B}[3m"
        case .strong: "\u{1B}[1m"
        }
      shown += code + (Output.isPlain(part) ? part : ByteText.sanitized(part)) + "\u{1B}[0m"
      at = upper
    }
    plain(characters.count)
    if muted { return }
    if fd == nil { capturedLines.append((text, .plain)) }
    write(shown + "\n")
  }

  /// Nothing is shown while set (a presentation rebuilding its state quietly).
  var muted = false
  /// While set, every line shown is kept here too, whole (before it is wrapped to this
  /// terminal), with its style: what a class's students see under the instructor's command.
  var recording: [(text: String, style: Style)]?

  func emit(_ text: String, _ style: Style) {
    if muted { return }
    if fd == nil { capturedLines.append((text, style)) }
    if color, style != .plain, !text.isEmpty {
      write(Output.code(style) + text + "\u{1B}[0m\n")
    } else {
      write(text + "\n")
    }
  }

  /// The spaces inside a quoted string (escape-aware) or angle brackets, as no-break spaces.
  static func holdingSpaces(_ text: String) -> String {
    var out = ""
    var angle = false
    for (character, quoted) in zip(text, Cells.quotedCharacters(text)) {
      if !quoted && character == "<" { angle = true }
      if !quoted && character == ">" { angle = false }
      out.append(character == " " && (quoted || angle) ? "\u{A0}" : character)
    }
    return out
  }

  /// True when every byte is printable ASCII (the common case, checked fast).
  static func isPlain(_ text: String) -> Bool {
    text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
  }

  static func code(_ style: Style) -> String {
    switch style {
    case .plain: ""
    case .call: "\u{1B}[1m"
    case .note: "\u{1B}[2m"
    case .error: "\u{1B}[31m"
    case .success: "\u{1B}[32m"
    case .heading: "\u{1B}[1;4m"
    case .wire: "\u{1B}[36m"
    }
  }

  /// Clears a terminal (cursor home, erase the screen): the one escape sequence the shell writes
  /// on purpose. Nothing on a pipe or a file, where it would be noise.
  public func clearScreen() {
    guard let fd, isatty(fd) == 1 else { return }
    write("\u{1B}[H\u{1B}[2J")
  }

  /// Whether output waits in the buffer.
  public var hasPending: Bool { !buffer.isEmpty }

  /// Returns what was captured so far and forgets it.
  public func takeCaptured() -> String {
    defer {
      captured = ""
      capturedLines.removeAll()
    }
    return captured
  }

  /// Returns the lines captured so far, with their styles, and forgets them.
  func takeCapturedLines() -> [(text: String, style: Style)] {
    defer {
      captured = ""
      capturedLines.removeAll()
    }
    return capturedLines
  }

  /// Set while a line is being typed: what the loop's handlers print waits for the line editor,
  /// which puts it above the prompt (`flush(force:)`), even when a handler's call flushes.
  var holdsFlush = false

  public func flush(force: Bool = false) {
    guard let fd, !buffer.isEmpty, force || !holdsFlush else { return }
    buffer.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
        if written < 0 {
          if errno == EINTR { continue }
          break  // stdout is gone (closed pipe): nothing more can be shown
        }
        offset += written
      }
    }
    buffer.removeAll(keepingCapacity: true)
  }

  /// Decides colour for a terminal: off with NO_COLOR set, with TERM=dumb, or when not a terminal.
  public static func colorWanted(fd: Int32, mode: String?) -> Bool {
    switch mode {
    case "always": return true
    case "never": return false
    default:
      if let noColor = getenv("NO_COLOR"), noColor.pointee != 0 { return false }
      if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
      return isatty(fd) == 1
    }
  }
}
