#if canImport(Glibc)
  import Glibc
#endif
import CCMark
import SocketLayer

/// A line of a lesson block, with where it stands in the file.
public struct LessonLine: Sendable, Equatable {
  public var text: String
  public var line: Int
}

/// One step: prose and examples to show, checks that decide when it is done, hints, a solution,
/// and what the partner does when the step starts.
public struct LessonStep: Sendable {
  public var title: String
  public var line: Int
  /// What the learner reads (Markdown as written, with examples).
  public var text: [String] = []
  public var checks: [LessonLine] = []
  public var hints: [String] = []
  public var solution: [LessonLine] = []
  public var partner: [LessonLine] = []
  /// A step that asks for a program of the learner's: its `program` block (where it starts, and
  /// its `key: value` lines), and the solution block's text as written (the reference program).
  public var programLine: Int?
  public var programLines: [LessonLine] = []
  public var solutionSource = ""
  /// The step's examples that claim something (`= EXPECTED` on a line, or `# expect: CHECK`):
  /// `lesson test` runs each block in a session of its own and every claim must hold.
  public var examples: [[LessonLine]] = []

  /// The prefix of an example line that asserts a check (`# expect: socket s state=LISTEN`).
  static let expectPrefix = "# expect:"

  /// Every line of the step's blocks, for placeholders and limits.
  var blockLines: [LessonLine] { checks + solution + partner + examples.flatMap { $0 } }
}

/// A lesson file: front matter, an introduction, steps.
public struct Lesson: Sendable {
  public var id: String
  public var title: String
  public var summary: String
  public var requires: [String]
  /// The part of the course it belongs to (`part: UDP and names`), for the list; "" for none.
  public var part: String = ""
  public var path: String
  public var introduction: [String] = []
  public var steps: [LessonStep] = []

  /// Whether a check or a claim of an example reads the wire (`segment ...`): `lesson test`
  /// then runs it with the wire on.
  var checksTheWire: Bool {
    steps.contains { step in
      let claims = step.examples.flatMap { $0 }.compactMap { line -> String? in
        line.text.hasPrefix(LessonStep.expectPrefix) ? String(line.text.dropFirst(LessonStep.expectPrefix.count)) : nil
      }
      return (step.checks.map(\.text) + claims).contains { text in
        let words = text.split(separator: " ")
        return words.first == "segment" || words.first == "segments" || words.prefix(2) == ["no", "segment"]
      }
    }
  }

  /// The `{port}`, `{port2}`... placeholders the lesson uses.
  public var portPlaceholders: [String] {
    var found: Set<String> = []
    func scan(_ text: String) {
      var rest = Substring(text)
      while let open = rest.firstRange(of: "{port") {
        let after = rest[open.upperBound...]
        let digits = after.prefix { $0.isASCIIDigitCharacter }
        if after.dropFirst(digits.count).first == "}" { found.insert("{port\(digits)}") }
        rest = after
      }
    }
    for line in introduction { scan(line) }
    for step in steps {
      for line in step.text + step.hints + [step.title] { scan(line) }
      for line in step.blockLines { scan(line.text) }
    }
    return found.sorted()
  }

  /// Whether a line or text of the lesson names the run's folder (`{dir}`).
  var usesFolder: Bool {
    let placeholder = LinePolicy.folderPlaceholder
    if introduction.contains(where: { $0.contains(placeholder) }) { return true }
    return steps.contains { step in
      (step.text + step.hints + [step.title]).contains { $0.contains(placeholder) }
        || step.blockLines.contains { $0.text.contains(placeholder) }
    }
  }

  /// The text with every `{portN}` replaced by a valid port, for checking syntax.
  static func withStandInPorts(_ text: String) -> String {
    var result = ""
    var rest = Substring(text)
    while let open = rest.firstRange(of: "{port") {
      let after = rest[open.upperBound...]
      let digits = after.prefix { $0.isASCIIDigitCharacter }
      result += rest[..<open.lowerBound]
      if after.dropFirst(digits.count).first == "}" {
        result += "40000"
        rest = after.dropFirst(digits.count + 1)
      } else {
        result += "{port"
        rest = after
      }
    }
    return result + rest
  }

  /// The lesson with each placeholder replaced (ports picked when the lesson starts).
  public func substituting(_ values: [String: String]) -> Lesson {
    func fill(_ text: String) -> String {
      var result = text
      for (key, value) in values { result = result.replacing(key, with: value) }
      return result
    }
    func fill(_ line: LessonLine) -> LessonLine { LessonLine(text: fill(line.text), line: line.line) }
    var copy = self
    copy.introduction = introduction.map(fill)
    copy.steps = steps.map { step in
      var step = step
      step.title = fill(step.title)
      step.text = step.text.map(fill)
      step.hints = step.hints.map(fill)
      step.checks = step.checks.map(fill)
      step.solution = step.solution.map(fill)
      step.partner = step.partner.map(fill)
      step.programLines = step.programLines.map(fill)
      step.examples = step.examples.map { $0.map(fill) }
      return step
    }
    return copy
  }
}

/// Problems in a lesson file, each as `FILE:LINE: message`.
public struct LessonError: Error, Sendable, CustomStringConvertible {
  public var problems: [String]
  public var description: String { problems.joined(separator: "\n") }
}

/// Reads lesson files with libcmark (CommonMark) and libyaml (front matter).
public enum LessonLoader {
  static let blockKinds: Set<String> = ["sockshell", "check", "hint", "solution", "partner", "program"]
  /// Code blocks that are only shown (C or Python next to the shell commands, output).
  static let displayKinds: Set<String> = ["", "c", "python", "sh", "shell", "console", "text", "bash"]
  static let frontMatterKeys: Set<String> = ["id", "title", "summary", "requires", "part"]

  public static func load(path: String) throws(LessonError) -> Lesson {
    let bytes: [UInt8]
    switch Transfer.readFile(path, limit: 1 << 20) {
    case .success(let read): bytes = read
    case .failure(let refusal): throw LessonError(problems: ["\(path):1: \(refusal.message)"])
    }
    guard let source = String(validating: bytes, as: UTF8.self) else {
      // Say where: the line of the first byte that is not UTF-8.
      var parser = Unicode.UTF8.ForwardParser()
      var iterator = bytes.makeIterator()
      var valid = 0
      while case .valid(let scalar) = parser.parseScalar(from: &iterator) { valid += scalar.count }
      let line = bytes[..<valid].count(where: { $0 == 0x0A }) + 1
      throw LessonError(problems: ["\(path):\(line): the file is not UTF-8 text: save it as UTF-8"])
    }
    return try parse(source, path: path)
  }

  public static func parse(_ source: String, path: String) throws(LessonError) -> Lesson {
    var problems: [String] = []
    func problem(_ line: Int, _ message: String) { problems.append("\(path):\(line): \(message)") }
    var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }

    // Front matter between --- lines.
    var bodyStart = 0
    var front = FrontMatter()
    if lines.first == "---", let close = lines.dropFirst().firstIndex(of: "---") {
      let yaml = lines[1..<close].joined(separator: "\n")
      do {
        front = try FrontMatter.parse(yaml)
      } catch {
        problem(error.line + 2, error.message)
      }
      bodyStart = close + 1
    } else {
      problem(1, "a lesson starts with front matter: ---, then id: and title:, then ---")
    }
    for key in front.values.keys where !frontMatterKeys.contains(key) {
      problem((front.lines[key] ?? 0) + 2, "unknown front matter key '\(key)' (use id, title, summary, requires, part)")
    }
    func text(_ key: String) -> String? {
      if case .text(let value)? = front.values[key] { return value }
      return nil
    }
    let id = text("id") ?? ""
    if id.isEmpty || !DescriptorRef.isValidName(id) {
      problem(1, "the front matter needs an id: letters, digits, - and _ (id: first-server)")
    }
    let title = text("title") ?? ""
    if title.isEmpty { problem(1, "the front matter needs a title") }
    var requires: [String] = []
    switch front.values["requires"] {
    case .list(let list)?: requires = list
    case .text(let one)?: requires = one.isEmpty ? [] : [one]
    case nil: break
    }
    var lesson = Lesson(
      id: id, title: title, summary: text("summary") ?? "", requires: requires, path: path)
    lesson.part = text("part") ?? ""

    // The body, parsed by libcmark. Line numbers from cmark are 1-based within the body.
    let body = lines[bodyStart...].joined(separator: "\n")
    let offset = bodyStart
    guard let document = cmark_parse_document(body, body.utf8.count, CMARK_OPT_DEFAULT) else {
      throw LessonError(problems: ["\(path):1: cannot parse the Markdown"])
    }
    defer { cmark_node_free(document) }
    var node = cmark_node_first_child(document)
    var current: LessonStep?
    func appendText(_ newLines: [String]) {
      if current != nil { current!.text += newLines } else { lesson.introduction += newLines }
    }
    while let this = node {
      let start = Int(cmark_node_get_start_line(this))
      let end = Int(cmark_node_get_end_line(this))
      let fileLine = start + offset
      let sourceLines = Array(lines[min(lines.count, offset + start - 1)..<min(lines.count, offset + end)])
      switch cmark_node_get_type(this) {
      case CMARK_NODE_HEADING:
        let level = cmark_node_get_heading_level(this)
        let heading = plainText(this)
        if level == 2 {
          if let finished = current { lesson.steps.append(finished) }
          current = LessonStep(title: heading, line: fileLine)
        } else if level > 2 {
          appendText(sourceLines)
        }
      case CMARK_NODE_CODE_BLOCK:
        // A fence never closed runs to the end of the file: the steps after it would be code.
        if let opening = sourceLines.first?.drop(while: { $0 == " " }), let fence = opening.first,
          fence == "`" || fence == "~"
        {
          let length = opening.prefix { $0 == fence }.count
          let closing = sourceLines.count > 1 ? sourceLines[sourceLines.count - 1].drop { $0 == " " } : ""
          let closed =
            closing.prefix { $0 == fence }.count >= length && closing.drop { $0 == fence }.allSatisfy { $0 == " " }
          if length >= 3 && !closed {
            problem(fileLine, "this code block is never closed: what follows it, to the end of the file, would be code")
          } else if length >= 3,
            let inner = sourceLines.dropFirst().dropLast().firstIndex(where: { line in
              let text = line.drop { $0 == " " }
              return text.prefix { $0 == fence }.count >= length && text.drop { $0 == fence }.contains { $0 != " " }
            })
          {
            // A fence with an info string inside a block: the block's own closing fence is missing.
            problem(
              fileLine + inner - sourceLines.startIndex,
              "a code block opens inside another (\(sourceLines[inner].drop { $0 == " " })): close the block before it with \(String(repeating: fence, count: length))"
            )
          }
        }
        let info = cmark_node_get_fence_info(this).map { String(cString: $0) } ?? ""
        let kind = info.split(separator: " ").first.map(String.init) ?? ""
        let literal = cmark_node_get_literal(this).map { String(cString: $0) } ?? ""
        var blockLines: [LessonLine] = []
        // An example's `# expect: CHECK` lines are claims: kept (and shown) with the example.
        var claims: [LessonLine] = []
        for (index, text) in literal.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
          let trimmed = text.drop { $0 == " " }
          let line = LessonLine(text: String(trimmed), line: fileLine + 1 + index)
          if kind == "sockshell" && trimmed.hasPrefix(LessonStep.expectPrefix) {
            blockLines.append(line)
            claims.append(line)
            continue
          }
          if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
          blockLines.append(LessonLine(text: String(text), line: fileLine + 1 + index))
        }
        if blockKinds.contains(kind) && kind != "sockshell" && current == nil {
          problem(fileLine, "a \(kind) block belongs to a step: put a ## heading before it")
          break
        }
        switch kind {
        case "sockshell":
          for line in blockLines where !line.text.hasPrefix(LessonStep.expectPrefix) {
            do {
              if try Parser.parse(Lesson.withStandInPorts(line.text))?.expected != nil { claims.append(line) }
            } catch {
              problem(line.line, "example: \(error.message)")
            }
          }
          if !claims.isEmpty {
            if current == nil {
              problem(fileLine, "an example that claims a result belongs to a step: put a ## heading before it")
            } else {
              current!.examples.append(blockLines)
            }
          }
          appendText(["```sockshell"] + blockLines.map(\.text) + ["```"])
        case "check":
          current!.checks += blockLines
        case "hint":
          current!.hints.append(literal.trimmingTrailingNewlines)
        case "solution":
          current!.solution += blockLines
          current!.solutionSource += literal
        case "program":
          if current!.programLine != nil {
            problem(fileLine, "a step has at most one program block")
          } else {
            current!.programLine = fileLine
            current!.programLines = blockLines
          }
        case "partner":
          current!.partner += blockLines
        default:
          if displayKinds.contains(kind) {
            appendText(sourceLines)
          } else {
            problem(
              fileLine,
              "unknown block kind '\(kind)': use sockshell, check, hint, solution, partner or program (or c, python, text to show code)"
            )
          }
        }
      default:
        appendText(sourceLines + [""])
      }
      node = cmark_node_next(this)
    }
    if let finished = current { lesson.steps.append(finished) }
    if lesson.steps.isEmpty { problem(offset + 1, "a lesson needs at least one step: a ## heading") }
    // A program step gives {port} to the learner's program: a socket of another step on it
    // (the learner's, the partner's) would hold the port the program must listen on.
    if let program = lesson.steps.first(where: { $0.programLine != nil }) {
      for step in lesson.steps where step.programLine == nil {
        let used = (step.checks + step.solution + step.partner).first { $0.text.contains("{port}") }
        if let used {
          problem(
            used.line,
            "{port} is the port a program step (line \(program.programLine ?? program.line)) gives the learner's program: the other steps use {port2}, {port3}... so that no socket of theirs holds it"
          )
        }
      }
    }

    // Validate each step against the languages and the policy for lines from elsewhere, with
    // stand-in ports and folder: exactly what a run will parse (RunnableStep), so that a lesson
    // outside the policy is refused before anything of it runs.
    let placeholders = lesson.portPlaceholders
    if lesson.steps.count > LinePolicy.maxSteps {
      problem(offset + 1, "the lesson has \(lesson.steps.count) steps: at most \(LinePolicy.maxSteps)")
    } else if placeholders.count > LinePolicy.maxPortPlaceholders {
      problem(
        offset + 1,
        "the lesson uses \(placeholders.count) port placeholders ({port}, {port2}...): at most \(LinePolicy.maxPortPlaceholders)"
      )
    } else {
      var standIns = [LinePolicy.folderPlaceholder: LinePolicy.folderStandIn]
      for (index, placeholder) in placeholders.enumerated() { standIns[placeholder] = "\(40000 + index)" }
      let checkable = lesson.substituting(standIns)
      for step in checkable.steps {
        if step.checks.isEmpty { problem(step.line, "step '\(step.title)' has no check block: how would it end?") }
        let lines = step.blockLines.count + step.hints.count
        if lines > LinePolicy.maxLinesPerStep {
          problem(step.line, "step '\(step.title)' has \(lines) lines of blocks: at most \(LinePolicy.maxLinesPerStep)")
          continue
        }
        var found: [String] = []
        _ = RunnableStep(step, path: path, folder: LinePolicy.folderStandIn, problems: &found)
        problems += found
      }
    }
    if !problems.isEmpty {
      // In the order of the file's lines, whatever found them.
      func line(_ problem: String) -> Int {
        Int(problem.dropFirst(path.count + 1).prefix { $0.isASCIIDigitCharacter }) ?? 0
      }
      throw LessonError(problems: problems.enumerated().sorted { (line($0.1), $0.0) < (line($1.1), $1.0) }.map(\.1))
    }
    return lesson
  }

  /// The text of a heading (its text and code children).
  static func plainText(_ node: OpaquePointer) -> String {
    var text = ""
    var child = cmark_node_first_child(node)
    while let this = child {
      if let literal = cmark_node_get_literal(this) { text += String(cString: literal) }
      text += plainText(this)
      child = cmark_node_next(this)
    }
    return text
  }
}

extension String {
  var trimmingTrailingNewlines: String {
    var copy = self
    while copy.last == "\n" { copy.removeLast() }
    return copy
  }
}
