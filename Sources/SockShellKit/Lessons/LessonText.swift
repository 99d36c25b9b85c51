/// Lesson prose as the terminal shows it: paragraphs reflowed to the width (now, and after a
/// resize: the width is read when the text is shown), list items with a hanging indent, inline
/// Markdown as text (`code` and *emphasis* without their marks, links as "text (address)"), and
/// code blocks indented and never reflowed. Examples (`sockshell` blocks) look like what to type.
enum LessonText {
  enum Line: Equatable {
    case prose(String)
    case code(String)
    case example(String)
    case claim(String)
    case blank
  }

  /// The lines to print for `source` (Markdown as written in the file), at `width` cells.
  static func render(_ source: [String], width: Int) -> [Line] {
    var lines: [Line] = []
    var paragraph: [String] = []
    var indent = "  "
    var hanging = "  "
    func flush() {
      guard !paragraph.isEmpty else { return }
      let text = inline(paragraph.joined(separator: " "))
      for (index, piece) in Cells.wrap(text, width: max(20, width - hanging.count)).enumerated() {
        // Cells.wrap indents its continuation lines by two; the hanging indent replaces that.
        let body = index == 0 ? piece : String(piece.dropFirst(2))
        lines.append(.prose((index == 0 ? indent : hanging) + body))
      }
      paragraph.removeAll()
    }
    var block: String?
    for raw in source {
      if raw.hasPrefix("```") {
        flush()
        block = block == nil ? String(raw.dropFirst(3)) : nil
        continue
      }
      if let kind = block {
        if kind == "sockshell" {
          lines.append(raw.hasPrefix(LessonStep.expectPrefix) ? .claim(raw) : .example(raw))
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
      if let marker = listMarker(trimmed) {
        flush()
        indent = "  "
        hanging = "  " + String(repeating: " ", count: marker.count)
        paragraph = [String(trimmed)]
        continue
      }
      if trimmed.hasPrefix("#") {
        flush()
        lines.append(.prose("  " + inline(String(trimmed.drop { $0 == "#" }.drop { $0 == " " }))))
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

  /// Inline Markdown as text: code spans and emphasis without their marks, links with their
  /// address after the text.
  static func inline(_ text: String) -> String {
    var out = ""
    var rest = Substring(text)
    while let first = rest.first {
      if first == "`", let close = rest.dropFirst().firstIndex(of: "`") {
        out += rest[rest.index(after: rest.startIndex)..<close]
        rest = rest[rest.index(after: close)...]
        continue
      }
      if first == "[", let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix("("),
        let end = rest[close...].firstIndex(of: ")")
      {
        let label = rest[rest.index(after: rest.startIndex)..<close]
        let address = rest[rest.index(close, offsetBy: 2)..<end]
        out += inline(String(label)) + " (" + address + ")"
        rest = rest[rest.index(after: end)...]
        continue
      }
      if first == "*" || first == "_" {
        // Emphasis marks: a run of * or _ next to a word (not a lone * between spaces).
        let run = rest.prefix { $0 == first }
        let after = rest.dropFirst(run.count).first
        let before = out.last
        let opens = after.map { !$0.isWhitespace } ?? false
        let closes = before.map { !$0.isWhitespace } ?? false
        if (opens || closes) && (first == "*" || !(before?.isLetter ?? false) || !(after?.isLetter ?? false)) {
          rest = rest.dropFirst(run.count)
          continue
        }
      }
      out.append(first)
      rest = rest.dropFirst()
    }
    return out
  }
}
