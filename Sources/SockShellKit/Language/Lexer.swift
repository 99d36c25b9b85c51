import SocketLayer

/// A problem in a typed line, a script or a lesson block, with the column it points at.
public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
  public var message: String
  /// 1-based column in the line, when the problem has a place.
  public var column: Int?
  /// The usage line of the command, when the problem is in its arguments.
  public var usage: String?

  public init(_ message: String, column: Int? = nil, usage: String? = nil) {
    self.message = message
    self.column = column
    self.usage = usage
  }

  public var description: String { message }
}

/// One word of a command line.
public struct Token: Equatable, Sendable {
  public enum Quoting: Sendable { case bare, double, single }
  /// The word's bytes after quotes and escapes are removed.
  public var bytes: [UInt8]
  public var quoting: Quoting
  /// 1-based column where the word starts.
  public var column: Int

  /// The word as text (bytes that are not UTF-8 become U+FFFD).
  public var text: String { String(decoding: bytes, as: UTF8.self) }
  /// The word as an error message quotes it: bytes that are not UTF-8, and control bytes, as
  /// escapes (`\xff`), never as U+FFFD or raw.
  public var shown: String {
    // A huge word (a pasted 100 KB line) is quoted by its start, with a count of the rest.
    let limit = 200
    guard bytes.count > limit else { return ByteText.escaped(bytes, keepQuotes: true) }
    return ByteText.escaped(bytes.prefix(limit), keepQuotes: true) + "... (\(bytes.count - limit) more bytes)"
  }
  public var isBare: Bool { quoting == .bare }
  /// True for the bare word `=`, which binds a name or starts an expected result.
  public var isEquals: Bool { quoting == .bare && bytes == [0x3D] }
}

/// Splits a line into words: bare words, "double quoted" with C escapes, 'single quoted' literally.
/// `#` at the start of a word begins a comment.
public enum Lexer {
  public static func tokenize(_ line: String) throws(ParseError) -> [Token] {
    try tokenize(bytes: Array(line.utf8))
  }

  /// Tokenizes raw bytes: a script line that is not valid UTF-8 keeps its bytes in quoted data.
  public static func tokenize(bytes: [UInt8]) throws(ParseError) -> [Token] {
    var tokens: [Token] = []
    var index = 0
    // Columns count characters, not bytes, so that carets line up under non-ASCII text. They are
    // counted incrementally: a long line must not cost quadratic time.
    var countedTo = 0
    var countedColumn = 1
    func column(_ byteIndex: Int) -> Int {
      if byteIndex < countedTo {
        countedTo = 0
        countedColumn = 1
      }
      while countedTo < byteIndex {
        if bytes[countedTo] & 0xC0 != 0x80 { countedColumn += 1 }
        countedTo += 1
      }
      return countedColumn
    }
    while index < bytes.count {
      let byte = bytes[index]
      if byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A {
        index += 1
        continue
      }
      if byte == 0x23 { break }  // '#': the rest is a comment
      let start = index
      var word: [UInt8] = []
      var quoting = Token.Quoting.bare
      // A word runs to the next blank; quoted parts may be glued to bare parts ("a"b).
      while index < bytes.count {
        let current = bytes[index]
        if current == 0x20 || current == 0x09 || current == 0x0D || current == 0x0A { break }
        if current == 0x22 {  // "
          quoting = .double
          index += 1
          var closed = false
          while index < bytes.count {
            let inner = bytes[index]
            if inner == 0x22 {
              closed = true
              index += 1
              break
            }
            if inner == 0x5C {
              let (decoded, consumed) = try escape(bytes, at: index, column: column(index))
              word += decoded
              index += consumed
            } else {
              word.append(inner)
              index += 1
            }
          }
          if !closed {
            throw ParseError("this double quote is never closed: add a \" at the end", column: column(start))
          }
        } else if current == 0x27 {  // '
          if quoting == .bare { quoting = .single }
          index += 1
          var closed = false
          while index < bytes.count {
            if bytes[index] == 0x27 {
              closed = true
              index += 1
              break
            }
            word.append(bytes[index])
            index += 1
          }
          if !closed {
            throw ParseError("this single quote is never closed: add a ' at the end", column: column(start))
          }
        } else {
          word.append(current)
          index += 1
        }
      }
      tokens.append(Token(bytes: word, quoting: quoting, column: column(start)))
    }
    return tokens
  }

  /// Decodes one backslash escape at `index`; returns its bytes and how many input bytes it used.
  static func escape(_ bytes: [UInt8], at index: Int, column: Int) throws(ParseError) -> ([UInt8], Int) {
    guard index + 1 < bytes.count else {
      throw ParseError("a backslash ends the line: write \\\\ for a backslash", column: column)
    }
    switch bytes[index + 1] {
    case UInt8(ascii: "n"): return ([0x0A], 2)
    case UInt8(ascii: "r"): return ([0x0D], 2)
    case UInt8(ascii: "t"): return ([0x09], 2)
    case UInt8(ascii: "0")...UInt8(ascii: "7"):
      // One to three octal digits, as in C and Python: \0, \012, \0016 (that is \001 then 6).
      var value = 0
      var end = index + 1
      while end < bytes.count, end < index + 4, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[end]) {
        value = value * 8 + Int(bytes[end] - UInt8(ascii: "0"))
        end += 1
      }
      guard value <= 0xFF else {
        throw ParseError(
          "\\\(String(value, radix: 8)) is more than a byte: octal escapes go up to \\377", column: column)
      }
      return ([UInt8(value)], end - index)
    case UInt8(ascii: "e"): return ([0x1B], 2)
    case UInt8(ascii: "\\"): return ([0x5C], 2)
    case UInt8(ascii: "\""): return ([0x22], 2)
    case UInt8(ascii: "'"): return ([0x27], 2)
    case UInt8(ascii: "x"):
      guard index + 3 < bytes.count, let high = hexValue(bytes[index + 2]), let low = hexValue(bytes[index + 3])
      else {
        throw ParseError("\\x needs two hex digits, as in \\x1b or \\x00", column: column)
      }
      return ([high << 4 | low], 4)
    case UInt8(ascii: "u"):
      // \u{HEX}: one Unicode scalar, written as UTF-8.
      guard index + 2 < bytes.count, bytes[index + 2] == UInt8(ascii: "{"),
        let close = bytes[(index + 3)...].firstIndex(of: UInt8(ascii: "}")), close > index + 3, close - index <= 11
      else {
        throw ParseError("\\u needs a hex number in braces, as in \\u{e9}", column: column)
      }
      var value: UInt32 = 0
      for digit in bytes[(index + 3)..<close] {
        guard let nibble = hexValue(digit) else {
          throw ParseError("\\u needs a hex number in braces, as in \\u{e9}", column: column)
        }
        value = value << 4 | UInt32(nibble)
      }
      guard let scalar = Unicode.Scalar(value) else {
        throw ParseError("\\u{\(String(value, radix: 16))} is not a Unicode character", column: column)
      }
      return (Array(String(Character(scalar)).utf8), close - index + 1)
    default:
      // The whole character after the backslash (it may take several bytes), escaped if need be.
      var end = index + 2
      while end < bytes.count && bytes[end] & 0xC0 == 0x80 && end < index + 5 { end += 1 }
      let raw = bytes[(index + 1)..<end]
      let shown = ByteText.escaped(raw, keepQuotes: true)
      // A character that cannot be shown as it is gets its escape, after words (not "\\xff").
      let message =
        shown == String(decoding: raw, as: UTF8.self)
        ? "unknown escape \\\(shown)" : "unknown escape: a backslash before \(shown)"
      throw ParseError(
        message + ": use \\n \\r \\t \\0 \\e \\\\ \\\" \\xNN, \\NNN (octal) or \\u{NNNN}",
        column: column)
    }
  }

  static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  /// Writes a word so that `tokenize` reads it back as the same bytes: bare when it is a plain
  /// word, otherwise double-quoted with escapes.
  public static func quote(_ bytes: [UInt8]) -> String {
    let plain =
      !bytes.isEmpty
      && bytes.allSatisfy { byte in
        (byte >= 0x21 && byte <= 0x7E) && byte != 0x22 && byte != 0x27 && byte != 0x5C && byte != 0x23
      } && bytes != [0x3D]
    if plain { return String(decoding: bytes, as: UTF8.self) }
    return ByteText.quoted(bytes)
  }
}
