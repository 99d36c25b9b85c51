#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `sockshell present FILE`: a script presented line by line to a room. Its comments are the
/// narration (full weight, blank lines kept); before each scripted line the prompt shows it
/// ready, for Enter to run, for the presenter to edit, or to set aside for a command of their own
/// (the scripted line stays next). `next` skips, `back` and `goto N` rebuild the kernel's state
/// by running the lines before again quietly, `where` says where the talk is.
public final class Presentation {
  /// A scripted line: its number in the file, its bytes, and the narration shown before it.
  struct Line {
    let fileLine: Int
    let raw: [UInt8]
    /// What the prompt shows ready (printable: the line as typed, or written back in the language).
    let offered: String
    /// The command's name, when the line parses (an edited line of the same command takes its place).
    let command: String?
    let narration: [String]
  }

  let name: String
  let lines: [Line]
  /// Narration after the last scripted line.
  let closing: [String]
  /// The scripted line that is next (0-based; `lines.count`: the script is done).
  public private(set) var cursor = 0
  /// The narration before `cursor` was shown.
  var narrationShown = -1
  var endShown = false
  unowned let session: Session

  /// At most this many lines in a presented script (and 1 MiB).
  static let maxLines = 10_000

  /// Reads a script; nil with a message when it cannot be read.
  static func load(path: String, session: Session) -> Result<Presentation, CommandRefusal> {
    guard let reader = LineReader(path: path) else {
      return .failure(CommandRefusal("cannot open \(path): \(String(cString: strerror(errno)))"))
    }
    var lines: [Line] = []
    var narration: [String] = []
    var number = 0
    var bytes = 0
    while let raw = reader.nextBytes() {
      number += 1
      bytes += raw.count + 1
      if number > maxLines || bytes > 1 << 20 {
        return .failure(CommandRefusal("\(path) is longer than a talk: at most \(maxLines) lines and 1 MiB"))
      }
      let trimmed = raw.drop { $0 == 0x20 || $0 == 0x09 }
      if trimmed.isEmpty {
        narration.append("")
      } else if trimmed.first == UInt8(ascii: "#") {
        var text = trimmed.dropFirst()
        if text.first == 0x20 { text = text.dropFirst() }
        narration.append(ByteText.escaped(Array(text), keepQuotes: true))
      } else {
        let parsed = try? Parser.parse(bytes: raw)
        let offered =
          Parser.shownAsTyped(raw) ?? parsed?.text ?? ByteText.escaped(raw, keepQuotes: true)
        lines.append(
          Line(fileLine: number, raw: raw, offered: offered, command: parsed.map { $0.spec.name }, narration: narration)
        )
        narration = []
      }
    }
    return .success(Presentation(name: path, lines: lines, closing: narration, session: session))
  }

  init(name: String, lines: [Line], closing: [String], session: Session) {
    self.name = name
    self.lines = lines
    self.closing = closing
    self.session = session
  }

  var out: Output { session.out }

  /// The scripted line that is next, if any.
  var next: Line? { cursor < lines.count ? lines[cursor] : nil }

  /// The prompt: where the talk is.
  var prompt: String {
    cursor < lines.count ? "[\(cursor + 1)/\(lines.count)] sockshell> " : "sockshell> "
  }

  /// What the presenter sees before the prompt: the narration before the next line (once), or
  /// at the end the closing narration and what stays.
  func showUpcoming() {
    if let next {
      guard narrationShown != cursor else { return }
      narrationShown = cursor
      for text in next.narration { narrate(text) }
      return
    }
    guard !endShown else { return }
    endShown = true
    for text in closing { narrate(text) }
    let open = session.openDescriptors
    let stays =
      open.isEmpty
      ? "nothing is open" : "\(counted(open.count, "descriptor")) \(open.count == 1 ? "stays" : "stay") open"
    out.line(
      "End of \(name): \(stays). ls, timeline, tcp and inspect look at what was built; back or goto N go over it again; quit ends.",
      .note)
  }

  /// A line of narration, in full weight, wrapped to the screen (a blank line stays blank).
  func narrate(_ text: String) {
    if text.isEmpty { return out.line("") }
    out.field(text, hanging: 0)
  }

  /// What an entered line is to the talk.
  enum Entered {
    /// The scripted line as offered, or edited (the same command): it takes the line's place.
    case scripted
    /// Anything else: the presenter's own command; the scripted line stays next.
    case own
  }

  func classify(_ bytes: [UInt8]) -> Entered {
    guard let next else { return .own }
    if bytes == Array(next.offered.utf8) { return .scripted }
    let typed = (try? Parser.parse(bytes: bytes))?.map { $0.spec.name }
    return typed != nil && typed == next.command ? .scripted : .own
  }

  /// Runs an entered line: the scripted one (as offered: its own bytes; edited: as typed).
  @discardableResult
  func run(_ bytes: [UInt8]) -> LineResult {
    guard let next, classify(bytes) == .scripted else { return session.execute(bytes: bytes) }
    let number = cursor + 1
    let result = session.execute(bytes: bytes == Array(next.offered.utf8) ? next.raw : bytes)
    // A wait the presenter stopped with Ctrl-C: the line stays next, to be run again.
    if session.takeInterruptedWait() { return result }
    cursor += 1
    if !result.ok {
      let after = cursor < lines.count ? "Enter runs line \(cursor + 1), " : ""
      out.line(
        "Line \(number) did not go as the script expects (above); the talk goes on: \(after)back runs it again.",
        .note)
    }
    return result
  }

  /// `next`: skips the scripted line.
  func skip() {
    guard let line = next else { return session.note("The script is done: back or goto N go over it again.") }
    cursor += 1
    session.note("Skipped line \(cursor) (\(name):\(line.fileLine)): \(line.offered)")
  }

  /// `where`.
  func describe() {
    if let line = next {
      session.note(
        "Line \(cursor + 1) of \(lines.count) is next (\(name):\(line.fileLine)): \(line.offered). Enter runs it; next skips it; back and goto N go back."
      )
    } else {
      session.note("All \(lines.count) lines of \(name) are done: back or goto N go over them again.")
    }
  }

  /// `goto N` (and `back`: the line before): the kernel cannot undo a call, so everything is
  /// closed (with a reset, so that no port stays in TIME_WAIT) and lines 1 to N-1 run again
  /// quietly, each wait bounded; what did not run as before is said.
  func go(to number: Int) throws(CommandRefusal) {
    guard (1...max(1, lines.count + 1)).contains(number) else {
      throw CommandRefusal("goto takes a line from 1 to \(lines.count + 1) (\(lines.count + 1): after the last)")
    }
    let closed = session.startOver()
    let saved = session.options
    session.options.interactive = false
    session.options.waitLimit = 2
    out.muted = true
    var failed: [String] = []
    var skipped: [String] = []
    for (index, line) in lines.prefix(number - 1).enumerated() {
      guard let parsed = try? Parser.parse(bytes: line.raw) else {
        failed.append("\(index + 1)")
        continue
      }
      if !parsed.command.effects.isDisjoint(with: LinePolicy.forbidden) {
        skipped.append("\(index + 1) (\(parsed.spec.name))")
        continue
      }
      if !session.executeBounded(parsed, seconds: 2).ok { failed.append("\(index + 1)") }
    }
    out.muted = false
    session.options = saved
    cursor = number - 1
    narrationShown = -1
    endShown = false
    var said =
      "Rebuilt: the kernel cannot undo a call, so \(closed == 0 ? "nothing was open to close" : closed == 1 ? "the descriptor was closed (reset: no TIME_WAIT left)" : "the \(closed) descriptors were closed (reset: no TIME_WAIT left)")"
    said += number > 1 ? " and lines 1 to \(number - 1) ran again quietly." : "; the talk starts again."
    if !skipped.isEmpty {
      said += " Not run again (not socket calls): \(skipped.joined(separator: ", "))."
    }
    if !failed.isEmpty {
      said +=
        " Did not go as the script expects: line \(failed.joined(separator: ", ")) (goto that line and Enter shows why)."
    }
    session.note(said)
  }
}
