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
    /// What an edit of the line keeps: the command, the name it gives and its first argument
    /// (the descriptor), when the line parses.
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
          Line(
            fileLine: number, raw: raw, offered: offered, command: parsed.map(Presentation.identity),
            narration: narration)
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
    if lines.isEmpty { return say("\(name) has no lines to run, only narration: the shell is yours; quit ends.") }
    say(
      "End of \(name): \(stays). ls, timeline, tcp and inspect look at what was built; back or goto N go over it again; quit ends."
    )
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

  /// The same command on the same descriptor, giving the same name: `connect c 127.0.0.1:7001`
  /// is an edit of `connect c srv`; `u = socket udp` is not one of `c = socket tcp`.
  static func identity(_ line: ParsedLine) -> String {
    [line.name ?? "", line.spec.name, line.command.arguments.first ?? ""].joined(separator: " ")
  }

  func classify(_ bytes: [UInt8]) -> Entered {
    guard let next else { return .own }
    if bytes == Array(next.offered.utf8) { return .scripted }
    let typed = (try? Parser.parse(bytes: bytes))?.map(Presentation.identity)
    return typed != nil && typed == next.command ? .scripted : .own
  }

  /// What ran in each line's place, where it was not the line itself: an edit's bytes, or nil
  /// for a line skipped with next. A rebuild runs what ran.
  var ranInstead: [Int: [UInt8]?] = [:]

  /// Runs an entered line: the scripted one (as offered: its own bytes; edited: as typed).
  @discardableResult
  func run(_ bytes: [UInt8]) -> LineResult {
    guard let next, classify(bytes) == .scripted else { return session.execute(bytes: bytes) }
    let number = cursor + 1
    let asOffered = bytes == Array(next.offered.utf8)
    let result = session.execute(bytes: asOffered ? next.raw : bytes)
    // A wait the presenter stopped with Ctrl-C: the line stays next, to be run again.
    if session.takeInterruptedWait() { return result }
    if asOffered { ranInstead.removeValue(forKey: cursor) } else { ranInstead[cursor] = .some(bytes) }
    cursor += 1
    if !asOffered { say("(That was line \(number), edited: back and goto run it as you typed it.)") }
    if !result.ok {
      let after = cursor < lines.count ? "Enter runs line \(cursor + 1), " : ""
      out.line(
        "Line \(number) did not go as the script expects (above); the talk goes on: \(after)back runs it again.",
        .error)
    }
    return result
  }

  /// A word to the presenter, in full weight (a projector shows dim text faintly), wrapped.
  func say(_ text: String) { out.field("  " + text, hanging: 4) }

  /// `next`: skips the scripted line.
  func skip() {
    guard let line = next else { return say("The script is done: back or goto N go over it again.") }
    ranInstead[cursor] = .some(nil)
    cursor += 1
    say("Skipped line \(cursor) (\(name):\(line.fileLine)): \(line.offered)")
  }

  /// `where`.
  func describe() {
    if lines.isEmpty { return say("\(name) has no lines to run, only narration.") }
    if let line = next {
      say(
        "Line \(cursor + 1) of \(lines.count) is next (\(name):\(line.fileLine)): \(line.offered). Enter runs it; next skips it; back and goto N go back."
      )
    } else {
      say("All \(counted(lines.count, "line")) of \(name) are done: back or goto N go over them again.")
    }
  }

  /// `goto N` (and `back`: the line before): the kernel cannot undo a call, so everything is
  /// closed (TCP with a reset, so that it leaves no TIME_WAIT) and lines 1 to N-1 run again
  /// quietly, as they ran (an edited line as edited, a skipped one not at all), each wait
  /// bounded; Ctrl-C stops the rebuild where it is. What did not run as before is said.
  func go(to number: Int) throws(CommandRefusal) {
    guard !lines.isEmpty else { throw CommandRefusal("\(name) has no lines to go to, only narration") }
    guard (1...lines.count + 1).contains(number) else {
      throw CommandRefusal("goto takes a line from 1 to \(lines.count + 1) (\(lines.count + 1): after the last)")
    }
    if number > 1 { say("Rebuilding: lines 1 to \(number - 1) run again quietly (Ctrl-C stops) ...") }
    out.flush()
    let interrupt = InterruptWatch()
    let closed = session.startOver()
    let saved = session.options
    session.options.interactive = false
    session.options.waitLimit = 1
    out.muted = true
    var failed: [String] = []
    var skipped: [String] = []
    var reached = number - 1
    for index in 0..<(number - 1) {
      if interrupt.pressed {
        reached = index
        break
      }
      let bytes: [UInt8]
      switch ranInstead[index] {
      case .some(nil): continue  // skipped with next when it came
      case .some(let edited?): bytes = edited
      case nil: bytes = lines[index].raw
      }
      guard let parsed = try? Parser.parse(bytes: bytes) else {
        failed.append("\(index + 1) (it does not parse)")
        continue
      }
      // Files are not written again and the shell not changed, but the wire is put as it was.
      if !parsed.command.effects.isDisjoint(with: LinePolicy.forbidden) && parsed.spec.name != "wire" {
        skipped.append("\(index + 1) (\(parsed.text))")
        continue
      }
      let result = session.executeBounded(parsed, seconds: 1)
      if !result.ok { failed.append("\(index + 1) (\(result.failure ?? "failed"))") }
    }
    out.muted = false
    session.options = saved
    cursor = reached
    narrationShown = -1
    endShown = false
    var said = "Rebuilt: the kernel cannot undo a call, so "
    said +=
      closed == 0
      ? "nothing was open to close"
      : "\(closed == 1 ? "the descriptor was" : "the \(closed) descriptors were") closed (TCP with a reset, leaving no TIME_WAIT of its own)"
    if reached < number - 1 {
      said += "; Ctrl-C stopped the rebuild after line \(reached): line \(reached + 1) is next."
    } else {
      said +=
        number > 1 ? " and lines 1 to \(number - 1) ran again quietly, as they ran before." : "; the talk starts again."
    }
    if !skipped.isEmpty { said += " Not run again (not socket calls): \(Presentation.listed(skipped))." }
    if !failed.isEmpty { said += " Did not go as before: \(Presentation.listed(failed))." }
    say(said)
  }

  /// "line 3", "lines 3 and 5", "lines 3, 5 and 7".
  static func listed(_ items: [String]) -> String {
    items.count <= 1
      ? "line " + items.joined() : "lines " + items.dropLast().joined(separator: ", ") + " and " + items.last!
  }
}
