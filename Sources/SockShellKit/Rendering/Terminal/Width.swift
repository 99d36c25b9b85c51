import CSupport

/// The one measure of text on a terminal: cells, not Characters. `中` takes two cells, `é` one
/// whether written as one scalar or two, a combining mark none. Tables, wrapping, padding, the
/// parse error's caret, Tab's columns and the timeline all measure with it.
enum Cells {
  /// The cells `text` takes.
  static func width(_ text: some StringProtocol) -> Int {
    if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.utf8.count }
    return text.reduce(0) { $0 + width(of: $1) }
  }

  /// The cells one character (a grapheme) takes: its base's width; an emoji presentation
  /// selector (U+FE0F) or a flag (two regional indicators) makes it two. Terminals differ on
  /// joined emoji sequences; this counts them as their first glyph.
  static func width(of character: Character) -> Int {
    let scalars = character.unicodeScalars
    guard let first = scalars.first else { return 0 }
    if first.value < 0x80 { return first.value >= 0x20 && first.value != 0x7F ? 1 : 0 }
    if scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
    if (0x1F1E6...0x1F1FF).contains(first.value) && scalars.count == 2 { return 2 }
    return max(0, Int(csupport_wcwidth(first.value)))
  }

  /// `text` with spaces after it up to `cells` (as it is when already as wide).
  static func pad(_ text: String, to cells: Int) -> String {
    let current = width(text)
    return current >= cells ? text : text + String(repeating: " ", count: cells - current)
  }

  /// The longest start of `text` that fits in `cells` (whole characters only).
  static func truncate(_ text: String, to cells: Int) -> String {
    var used = 0
    var result = ""
    for character in text {
      let next = width(of: character)
      if used + next > cells { break }
      used += next
      result.append(character)
    }
    return result
  }

  /// `text` cut into pieces of at most `cells` each (whole characters), all of it kept.
  static func pieces(_ text: String, width cells: Int) -> [String] {
    var pieces: [String] = []
    var rest = Substring(text)
    while !rest.isEmpty {
      let piece = truncate(String(rest), to: max(1, cells))
      if piece.isEmpty { return pieces + [String(rest)] }
      pieces.append(piece)
      rest = rest.dropFirst(piece.count)
    }
    return pieces.isEmpty ? [""] : pieces
  }

  /// A system call's line cut to `cells` at its argument boundaries (after ", " outside quoted
  /// data), never inside a token; the lines after the first are indented by four. A name after
  /// the call (`= 5    conn`) loses its padding when it would not fit.
  static func wrapCall(_ text: String, width cells: Int) -> [String] {
    guard width(text) > cells, cells > 20 else { return [text] }
    var compact = text
    while compact.contains("   ") && width(compact) > cells { compact = compact.replacing("   ", with: "  ") }
    // The places after ", " outside double quotes.
    var pieces: [String] = []
    var current = ""
    var previous: Character = " "
    for (character, quoted) in zip(compact, quotedCharacters(compact)) {
      current.append(character)
      if !quoted && character == " " && previous == "," {
        pieces.append(current)
        current = ""
      }
      previous = character
    }
    if !current.isEmpty { pieces.append(current) }
    var lines: [String] = []
    var line = ""
    for piece in pieces {
      let indent = lines.isEmpty ? "" : "    "
      if !line.isEmpty && width(indent + line + piece) > cells {
        lines.append(indent + line.trimmingSuffixSpaces)
        line = piece
      } else {
        line += piece
      }
    }
    if !line.isEmpty { lines.append((lines.isEmpty ? "" : "    ") + line) }
    return lines
  }

  /// For each Character of `text`, whether it stands inside double quotes (a quote is escaped
  /// as \" inside them; the quotes themselves count as inside).
  static func quotedCharacters(_ text: String) -> [Bool] {
    var result: [Bool] = []
    var inQuotes = false
    var escaped = false
    for character in text {
      if inQuotes {
        result.append(true)
        if escaped {
          escaped = false
        } else if character == "\\" {
          escaped = true
        } else if character == "\"" {
          inQuotes = false
        }
      } else {
        inQuotes = character == "\""
        result.append(inQuotes)
      }
    }
    return result
  }

  /// Splits text at spaces into lines of at most `cells` (a longer word stays whole); lines
  /// after the first are indented by two spaces.
  static func wrap(_ text: String, width cells: Int, continuation: String = "  ") -> [String] {
    guard width(text) > cells, cells > 20 else { return [text] }
    if text.utf8.allSatisfy({ $0 < 0x80 }) && continuation.utf8.allSatisfy({ $0 < 0x80 }) {
      return wrapASCII(Array(text.utf8), width: cells, continuation: continuation)
    }
    var lines: [String] = []
    var current = ""
    var currentWidth = 0
    // A continuation line that holds nothing yet: spaces where the line broke are not carried
    // to its start.
    var fresh = false
    for word in text.split(separator: " ", omittingEmptySubsequences: false) {
      if fresh && word.isEmpty { continue }
      let wordWidth = width(word)
      if fresh {
        current += word
        currentWidth += wordWidth
        fresh = false
      } else if current.isEmpty {
        current = String(word)
        currentWidth = wordWidth
      } else if currentWidth + 1 + wordWidth > cells {
        lines.append(current)
        current = continuation + word
        currentWidth = width(continuation) + wordWidth
        fresh = word.isEmpty
      } else {
        current += " " + word
        currentWidth += 1 + wordWidth
      }
    }
    if !current.isEmpty { lines.append(current) }
    return lines
  }
}

extension Cells {
  /// `wrap` for ASCII text (nearly every explanation): bytes are cells, so the text is cut
  /// where the same rule cuts it, without walking Characters.
  fileprivate static func wrapASCII(_ bytes: [UInt8], width cells: Int, continuation: String) -> [String] {
    var lines: [String] = []
    var line: [UInt8] = []
    line.reserveCapacity(cells + 1)
    let lead = Array(continuation.utf8)
    var start = 0
    var fresh = false
    func add(_ word: ArraySlice<UInt8>) {
      if fresh && word.isEmpty { return }
      if fresh {
        line += word
        fresh = false
      } else if line.isEmpty {
        line += word
      } else if line.count + 1 + word.count > cells {
        lines.append(String(decoding: line, as: UTF8.self))
        line = lead + word
        fresh = word.isEmpty
      } else {
        line.append(0x20)
        line += word
      }
    }
    for index in bytes.indices where bytes[index] == 0x20 {
      add(bytes[start..<index])
      start = index + 1
    }
    add(bytes[start...])
    if !line.isEmpty { lines.append(String(decoding: line, as: UTF8.self)) }
    return lines
  }
}

extension String {
  var trimmingSuffixSpaces: String {
    var copy = self
    while copy.last == " " { copy.removeLast() }
    return copy
  }

  /// Pads with spaces to a width in terminal cells (table columns, the name after a call).
  func padded(to cells: Int) -> String { Cells.pad(self, to: cells) }
}
