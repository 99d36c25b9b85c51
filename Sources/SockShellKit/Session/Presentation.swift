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

  /// The same command on the same descriptor: `connect c 127.0.0.1:7001` is an edit of
  /// `connect c srv`, and `c = socket udp` of `c = socket tcp` (the name is the descriptor);
  /// `u = socket udp` is not one of `c = socket tcp`.
  static func identity(_ line: ParsedLine) -> String {
    if let name = line.name { return name + " = " + line.spec.name }
    return [line.spec.name, line.command.arguments.first ?? ""].joined(separator: " ")
  }

  /// The presenter's own commands (moving the talk, ending it): a script's line cannot run them.
  static let presenterCommands: Set<String> = ["goto", "prev", "next", "where", "quit"]

  /// How each line went when it ran at the talk ("ok", or why it failed): a rebuild says which
  /// went otherwise.
  var liveResults: [Int: String] = [:]

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
    if let command = (try? Parser.parse(bytes: bytes))??.spec.name, Presentation.presenterCommands.contains(command) {
      ranInstead[cursor] = .some(nil)
      cursor += 1
      say(
        "Line \(number) (\(next.offered)) moves or ends the talk: a script's line does not; type it yourself to mean it."
      )
      return LineResult(ok: true)
    }
    let result = session.execute(bytes: asOffered ? next.raw : bytes)
    // A wait the presenter stopped with Ctrl-C: the line stays next, to be run again.
    if session.takeInterruptedWait() { return result }
    if asOffered { ranInstead.removeValue(forKey: cursor) } else { ranInstead[cursor] = .some(bytes) }
    liveResults[cursor] = result.ok ? "ok" : result.failure ?? "failed"
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
    liveResults[cursor] = nil
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
      say("All \(counted(lines.count, "line")) of \(name) were run or skipped: back or goto N go over them again.")
    }
  }

  /// `goto N` (and `back`: the line before): the kernel cannot undo a call, so everything is
  /// closed (TCP with a reset, so that it leaves no TIME_WAIT of its own; the Unix socket files
  /// they were bound to removed) and lines 1 to N-1 run quietly, as they ran (an edited line as
  /// edited, a skipped one not at all), each wait bounded; Ctrl-C stops the rebuild where it is.
  /// What went otherwise than at the talk is said.
  func go(to number: Int) throws(CommandRefusal) {
    guard !lines.isEmpty else { throw CommandRefusal("\(name) has no lines to go to, only narration") }
    guard (1...lines.count + 1).contains(number) else {
      throw CommandRefusal("goto takes a line from 1 to \(lines.count + 1) (\(lines.count + 1): after the last)")
    }
    let upTo = number == 2 ? "line 1" : "lines 1 to \(number - 1)"
    if number > 1 { say("Rebuilding: \(upTo) run again quietly (Ctrl-C stops) ...") }
    out.flush()
    let interrupt = InterruptWatch()
    let (closed, tcp, removed) = session.startOver()
    let saved = session.options
    session.options.interactive = false
    session.options.waitLimit = 1
    out.muted = true
    var changed: [String] = []
    var firstFailed: [String] = []
    var firstTime = 0
    var skipped: [String] = []
    var reached = number - 1
    var progressSaid = EventLoop.now()
    for index in 0..<(number - 1) {
      if interrupt.pressed {
        reached = index
        break
      }
      if EventLoop.now() - progressSaid > 1 {
        progressSaid = EventLoop.now()
        out.muted = false
        say("... line \(index + 1) of \(number - 1)")
        out.flush()
        out.muted = true
      }
      let bytes: [UInt8]
      switch ranInstead[index] {
      case .some(nil): continue  // skipped with next when it came
      case .some(let edited?): bytes = edited
      case nil: bytes = lines[index].raw
      }
      guard let parsed = try? Parser.parse(bytes: bytes) else { continue }
      // Files are not written again and the shell not changed; the wire is put as it was and
      // names given again.
      if !parsed.command.effects.isDisjoint(with: LinePolicy.forbidden) && !["wire", "name"].contains(parsed.spec.name)
      {
        skipped.append("\(index + 1) (\(parsed.text))")
        continue
      }
      let result = session.executeBounded(parsed, seconds: 1)
      if interrupt.pressed {
        reached = index  // stopped inside it: this line is next
        break
      }
      let now = result.ok ? "ok" : result.failure ?? "failed"
      if let before = liveResults[index] {
        if before != now {
          changed.append(
            "\(index + 1) (now: \(now == "ok" ? "it went" : now); at the talk: \(before == "ok" ? "it went" : before))")
        }
      } else {
        firstTime += 1
        if now != "ok" { firstFailed.append("\(index + 1) (\(now))") }
      }
    }
    out.muted = false
    session.options = saved
    // What was typed while the rebuild ran is not meant for the lines after it.
    tcflush(0, TCIFLUSH)
    cursor = reached
    narrationShown = -1
    endShown = false
    var said = "Rebuilt: the kernel cannot undo a call, so "
    if closed == 0 {
      said += "nothing was open to close"
    } else {
      said += closed == 1 ? "the descriptor was closed" : "the \(closed) descriptors were closed"
      if tcp > 0 { said += " (TCP with a reset, leaving no TIME_WAIT of its own)" }
    }
    if !removed.isEmpty {
      said += "; removed the Unix socket files they were bound to (\(removed.joined(separator: ", ")))"
    }
    if reached < number - 1 {
      said += "; Ctrl-C stopped the rebuild: line \(reached + 1) is next."
    } else if number > 1 {
      said += firstTime == number - 1 ? " and \(upTo) ran quietly." : " and \(upTo) ran again quietly."
    } else {
      said += "; the talk starts again."
    }
    if firstTime > 0 && firstTime < number - 1 {
      said += " (\(counted(firstTime, "line")) of them had not run at the talk.)"
    }
    if !skipped.isEmpty { said += " Not run again (not socket calls): \(Presentation.listed(skipped))." }
    if !changed.isEmpty { said += " Went otherwise than at the talk: \(Presentation.listed(changed))." }
    if !firstFailed.isEmpty { said += " Did not go as the script expects: \(Presentation.listed(firstFailed))." }
    say(said)
  }

  /// "line 3", "lines 3 and 5", "lines 3, 5 and 7".
  static func listed(_ items: [String]) -> String {
    items.count <= 1
      ? "line " + items.joined() : "lines " + items.dropLast().joined(separator: ", ") + " and " + items.last!
  }
}
