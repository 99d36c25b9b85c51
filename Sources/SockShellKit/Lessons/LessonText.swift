/// Lesson prose as the terminal shows it: paragraphs reflowed to the width (now, and after a
/// resize: the width is read when the text is shown), list items with a hanging indent, inline
/// Markdown as text (`code` and *emphasis* without their marks, links as "text (address)"), and
/// code blocks indented and never reflowed. Examples (`sockshell` blocks) look like what to type.
enum LessonText {
  /// Said above each example: its names and ports are its own, and `= ...` is what the kernel
  /// answered when lesson test ran it.
  static let exampleHeading = "An example, on sockets of its own (= shows what the kernel answered):"

  enum Line: Equatable {
    /// A line of prose, with the places of its code spans and emphasis (Characters from the
    /// line's start), styled where the terminal has colour and plain text where it has not.
    case prose(String, spans: [Span] = [])
    case code(String)
    case example(String)
    case claim(String)
    case blank
  }

  /// Inline Markdown's marks, once they are gone from the text: where the styles go.
  struct Span: Equatable {
    enum Kind: Equatable { case code, emphasis, strong }
    var range: Range<Int>
    var kind: Kind
  }

  /// The lines to print for `source` (Markdown as written in the file), at `width` cells.
  static func render(_ source: [String], width: Int) -> [Line] {
    var lines: [Line] = []
    var paragraph: [String] = []
    var indent = "  "
    var hanging = "  "
    func flush() {
      guard !paragraph.isEmpty else { return }
      // One space between words (as Markdown reads a paragraph): each line break takes one.
      let joined = paragraph.joined(separator: " ").split(separator: " ").joined(separator: " ")
      let (text, spans) = styled(joined)
      var offset = 0
      for (index, piece) in Cells.wrap(text, width: max(20, width - hanging.count)).enumerated() {
        // Cells.wrap indents its continuation lines by two; the hanging indent replaces that.
        // Each break took the place of one space, so the pieces follow the text's Characters.
        let body = index == 0 ? piece : String(piece.dropFirst(2))
        let lead = index == 0 ? indent : hanging
        lines.append(.prose(lead + body, spans: clip(spans, offset..<offset + body.count, shift: lead.count)))
        offset += body.count + 1
      }
      paragraph.removeAll()
    }
    var block: String?
    for raw in source {
      if raw.hasPrefix("```") {
        flush()
        block = block == nil ? String(raw.dropFirst(3)) : nil
        // An example is not the step's task: it runs on sockets of its own (lesson test runs it).
        if block == "sockshell" { lines.append(.claim(LessonText.exampleHeading)) }
        continue
      }
      if let kind = block {
        if kind == "sockshell" {
          // `# expect: socket s state=LISTEN` reads as what was seen at that point.
          lines.append(
            raw.hasPrefix(LessonStep.expectPrefix)
              ? .claim("(then: " + raw.dropFirst(LessonStep.expectPrefix.count).drop { $0 == " " } + ")")
              : .example(raw))
        } else {
          lines.append(.code(raw))
        }
        continue
      }
      let trimmed = raw.drop { $0 == " " }
      if trimmed.isEmpty {
        flush()
        if lines.last != .blank && !lines.isEmpty { lines.append(.blank) }
        continue
      }
      // A table's rows stand as they are written (the |---| row under the heading left out):
      // never reflowed into a paragraph.
      if trimmed.hasPrefix("|") {
        flush()
        if !trimmed.allSatisfy({ "|-: ".contains($0) }) { lines.append(.code(String(trimmed))) }
        continue
      }
      // As CommonMark has it, an ordered list breaks into a paragraph only when it starts at 1:
      // a line of a paragraph that begins "42793. " (a port, once filled in) goes on with it.
      if let marker = listMarker(trimmed),
        paragraph.isEmpty || !marker.first!.isASCIIDigitCharacter || marker == "1. "
      {
        flush()
        indent = "  "
        hanging = "  " + String(repeating: " ", count: marker.count)
        paragraph = [String(trimmed)]
        continue
      }
      if trimmed.hasPrefix("#") {
        flush()
        let (text, spans) = styled(String(trimmed.drop { $0 == "#" }.drop { $0 == " " }))
        lines.append(.prose("  " + text, spans: clip(spans, 0..<text.count, shift: 2)))
        continue
      }
      if paragraph.isEmpty {
        indent = "  "
        hanging = "  "
      }
      paragraph.append(String(trimmed))
    }
    flush()
    while lines.last == .blank { lines.removeLast() }
    return lines
  }

  /// `- `, `* `, `1. `: the marker of a list item, with its space.
  static func listMarker(_ text: Substring) -> String? {
    if text.hasPrefix("- ") || text.hasPrefix("* ") || text.hasPrefix("+ ") { return String(text.prefix(2)) }
    let digits = text.prefix { $0.isASCIIDigitCharacter }
    if !digits.isEmpty, text.dropFirst(digits.count).hasPrefix(". ") { return String(digits) + ". " }
    return nil
  }

  /// The spans that fall in `range`, moved to a line that starts at `range`'s start and has
  /// `shift` Characters of indent before it.
  static func clip(_ spans: [Span], _ range: Range<Int>, shift: Int) -> [Span] {
    spans.compactMap { span in
      let lower = max(span.range.lowerBound, range.lowerBound)
      let upper = min(span.range.upperBound, range.upperBound)
      guard lower < upper else { return nil }
      return Span(range: lower - range.lowerBound + shift..<upper - range.lowerBound + shift, kind: span.kind)
    }
  }

  /// Inline Markdown as text: code spans and emphasis without their marks, links with their
  /// address after the text.
  static func inline(_ text: String) -> String { styled(text).text }

  /// Inline Markdown as text and the places of its styles: a code span's text is kept as
  /// written (no emphasis inside it); `*one*` and `_one_` are emphasis, `**two**` strong; a lone
  /// `*` between spaces stays as written, and a mark with no partner goes without a style.
  static func styled(_ text: String) -> (text: String, spans: [Span]) {
    var out: [Character] = []
    var spans: [Span] = []
    /// Emphasis opened and not yet closed: its mark, its run's length, where it began in `out`.
    var open: [(mark: Character, run: Int, at: Int)] = []
    var rest = Substring(text)
    while let first = rest.first {
      if first == "`", let close = rest.dropFirst().firstIndex(of: "`") {
        let code = rest[rest.index(after: rest.startIndex)..<close]
        spans.append(Span(range: out.count..<out.count + code.count, kind: .code))
        out += code
        rest = rest[rest.index(after: close)...]
        continue
      }
      if first == "[", let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix("("),
        let end = rest[close...].firstIndex(of: ")")
      {
        let label = styled(String(rest[rest.index(after: rest.startIndex)..<close]))
        let address = rest[rest.index(close, offsetBy: 2)..<end]
        spans += label.spans.map {
          Span(range: $0.range.lowerBound + out.count..<$0.range.upperBound + out.count, kind: $0.kind)
        }
        out += label.text + " (" + address + ")"
        rest = rest[rest.index(after: end)...]
        continue
      }
      if first == "*" || first == "_" {
        // Emphasis marks: a run of * or _ next to a word (not a lone * between spaces; an _
        // inside a word, as in SO_REUSEADDR, is a letter of it).
        let run = rest.prefix { $0 == first }
        let after = rest.dropFirst(run.count).first
        let before = out.last
        let opens = after.map { !$0.isWhitespace } ?? false
        let closes = before.map { !$0.isWhitespace } ?? false
        let inWord = first == "_" && (before?.isLetter ?? false) && (after?.isLetter ?? false)
        if (opens || closes) && !inWord {
          if closes, let match = open.lastIndex(where: { $0.mark == first && $0.run == run.count }) {
            let start = open[match].at
            open.removeSubrange(match...)
            if start < out.count {
              spans.append(Span(range: start..<out.count, kind: run.count >= 2 ? .strong : .emphasis))
            }
          } else if opens {
            open.append((first, run.count, out.count))
          }
          rest = rest.dropFirst(run.count)
          continue
        }
      }
      out.append(first)
      rest = rest.dropFirst()
    }
    return (String(out), spans.sorted { $0.range.lowerBound < $1.range.lowerBound })
  }
}
