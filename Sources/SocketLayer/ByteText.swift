import CSupport

/// The one renderer of bytes (from the network, a file, a path, a typed line). What it writes
/// inside double quotes reads back as exactly the same bytes in three languages: the shell's own
/// DATA syntax, C and Python (b"..."). No control byte, escape sequence or invisible character
/// ever reaches the screen raw.
///
/// Text is shown as text only when it is printable: letters, digits, punctuation, symbols, the
/// space, and combining marks after a base letter. Everything else is a byte escape: `\n \r \t
/// \\ \"`, `\0`, `\xNN`, and, where the next byte shown is a hex digit (C would read `\x016` as
/// one byte), three octal digits (`\0016`), which all three languages read the same way; the
/// `?` that would make a C trigraph (`??=`) is escaped too.
public enum ByteText {
  /// How non-ASCII text is written.
  public enum Form: Sendable {
    /// Printable UTF-8 stays as it is (the terminal, the shell's DATA words, C strings).
    case text
    /// Every byte outside printable ASCII is escaped (a Python bytes literal).
    case ascii
  }

  /// A quoted string: `"GET / HTTP/1.1\r\n"`. When more than `limit` bytes are given, the rest is
  /// left out and `...` follows the closing quote, as strace does.
  public static func quoted(_ bytes: some Collection<UInt8>, limit: Int = .max, form: Form = .text) -> String {
    let array = Array(bytes)
    let shown = array.count > limit ? Array(array.prefix(max(0, limit))) : array
    var out = "\""
    out += escaped(shown, form: form)
    out += "\""
    if array.count > shown.count { out += "..." }
    return out
  }

  /// Text typed by a person or read from a file (a script line, a name, a message), made safe to
  /// print: the same escapes, but quotes and backslashes stay as typed and tabs become spaces.
  public static func sanitized(_ text: String) -> String {
    escaped(Array(text.utf8), keepQuotes: true)
  }

  /// Whether the bytes are shown as themselves: printable text that needs no escape (with
  /// `keepQuotes`, as prose: no tab either, which prose shows as a space).
  public static func showsAsItself(_ bytes: some Collection<UInt8>, keepQuotes: Bool = false) -> Bool {
    escaped(bytes, keepQuotes: keepQuotes) == String(decoding: bytes, as: UTF8.self)
  }

  /// The escaped text of `bytes`, without quotes (see the type's rules).
  public static func escaped(_ bytes: some Collection<UInt8>, keepQuotes: Bool = false, form: Form = .text) -> String {
    let array = Array(bytes)
    var out = ""
    out.reserveCapacity(array.count)
    var index = 0
    /// Whether the last thing written was a character shown as itself that a mark may join.
    var base = false
    /// A variation selector only follows a non-ASCII character (an emoji, a CJK ideograph).
    var symbolBase = false
    var marks = 0
    func nextIsHexDigit(_ at: Int) -> Bool { at < array.count && isHexDigit(array[at]) }
    func escapeByte(_ byte: UInt8, next: Int) {
      if byte == 0 && !nextIsHexDigit(next) {
        out += "\\0"
      } else if nextIsHexDigit(next) {
        // \x would run on into the hex digit in C: three octal digits end where they end.
        out += "\\" + String(byte >> 6) + String(byte >> 3 & 7) + String(byte & 7)
      } else {
        out += "\\x" + hex2(byte)
      }
    }
    while index < array.count {
      let byte = array[index]
      if byte < 0x80 {
        switch byte {
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += keepQuotes ? " " : "\\t"
        case 0x5C, 0x22:
          if keepQuotes {
            out.unicodeScalars.append(Unicode.Scalar(byte))
          } else {
            out += byte == 0x5C ? "\\\\" : "\\\""
          }
        case 0x3F
        where !keepQuotes && index > 0 && array[index - 1] == 0x3F && index + 1 < array.count
          && trigraphEnds.contains(array[index + 1]) && !out.hasSuffix("\\x3f"):
          escapeByte(byte, next: index + 1)  // "??=" would be a trigraph to a C compiler
        case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
        default: escapeByte(byte, next: index + 1)
        }
        // An ASCII letter or digit may carry a mark (e + U+0301 is é); punctuation may not.
        base = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        symbolBase = false
        marks = 0
        index += 1
        continue
      }
      if form == .text, let (scalar, length) = decodeScalar(array, at: index) {
        switch shownAs(scalar) {
        case .base:
          out.unicodeScalars.append(scalar)
          base = true
          symbolBase = true
          marks = 0
          index += length
          continue
        case .mark where base && marks < maximumMarks && (symbolBase || !scalar.properties.isVariationSelector):
          out.unicodeScalars.append(scalar)
          marks += 1
          index += length
          continue
        default:
          for offset in 0..<length { escapeByte(array[index + offset], next: index + offset + 1) }
          base = false
          index += length
          continue
        }
      }
      escapeByte(byte, next: index + 1)
      base = false
      index += 1
    }
    return out
  }

  static func isHexDigit(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
  }

  /// What follows `??` in a C trigraph (`??=` is `#`).
  static let trigraphEnds: Set<UInt8> = Set("=(/)'<!>-".utf8)

  /// Combining marks shown on one base at most; more (a "zalgo" tower) are escaped.
  static let maximumMarks = 4

  enum Shown { case base, mark, escaped }

  /// How a non-ASCII scalar is shown: as a character of its own (a letter, digit, punctuation or
  /// symbol the terminal gives one or two cells), as a mark on the character before it, or
  /// escaped (controls, format characters such as bidi overrides and zero-width joiners, line
  /// and paragraph separators, spaces other than the space, private use, surrogates, unassigned,
  /// and anything the C library does not know the width of).
  static func shownAs(_ scalar: Unicode.Scalar) -> Shown {
    // A variation selector picks how the character before it looks: a mark, shown on a base only.
    if scalar.properties.isVariationSelector { return .mark }
    // Characters that draw nothing (Hangul fillers, zero-width ones, the blank Braille pattern).
    if scalar.properties.isDefaultIgnorableCodePoint || scalar.value == 0x2800 { return .escaped }
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark:
      return csupport_wcwidth(scalar.value) >= 0 ? .mark : .escaped
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber,
      .letterNumber, .otherNumber, .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol,
      .otherSymbol:
      return csupport_wcwidth(scalar.value) >= 1 ? .base : .escaped
    default:
      return .escaped
    }
  }

  /// True when the bytes read as text: at most one byte in four needs an escape (beyond newlines
  /// and tabs). Otherwise (mostly binary) a hex dump shows them better.
  public static func looksLikeText(_ bytes: some Collection<UInt8>) -> Bool {
    let array = Array(bytes.prefix(4096))
    if array.isEmpty { return true }
    var unusual = 0
    var index = 0
    while index < array.count {
      let byte = array[index]
      if byte < 0x80 {
        if byte < 0x20 && byte != 0x0A && byte != 0x0D && byte != 0x09 || byte == 0x7F { unusual += 1 }
        index += 1
      } else if let (scalar, length) = decodeScalar(array, at: index), shownAs(scalar) != .escaped {
        index += length
      } else {
        unusual += 1
        index += 1
      }
    }
    return unusual * 4 <= array.count
  }

  /// A hex dump, 16 bytes a line, with an ASCII column: `0000  48 65 6c 6c 6f  |Hello|`.
  /// At most `limit` bytes are shown; a last line counts what was left out.
  public static func hexDump(_ bytes: some Collection<UInt8>, limit: Int = 256, indent: String = "  ") -> [String] {
    let array = Array(bytes)
    let shown = array.prefix(max(0, limit))
    var lines: [String] = []
    var offset = 0
    while offset < shown.count {
      let row = shown[offset..<min(offset + 16, shown.count)]
      var hex = row.map { hex2($0) }.joined(separator: " ")
      hex += String(repeating: " ", count: (16 - row.count) * 3)
      let ascii = String(row.map { $0 >= 0x20 && $0 < 0x7F ? Character(Unicode.Scalar($0)) : "." })
      let address = String(offset, radix: 16)
      lines.append(
        indent + String(repeating: "0", count: max(0, 4 - address.count)) + address + "  " + hex + " |" + ascii + "|")
      offset += 16
    }
    if array.count > shown.count {
      lines.append(indent + "... \(array.count - shown.count) more bytes not shown")
    }
    return lines
  }

  /// Two lowercase hex digits.
  public static func hex2(_ byte: UInt8) -> String {
    let digits: [Character] = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
  }

  /// Decodes one well-formed UTF-8 sequence at `index` (no overlong forms, no surrogates).
  public static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
    let lead = bytes[index]
    let length: Int
    var value: UInt32
    switch lead {
    case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
    case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F)
    case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07)
    default: return nil
    }
    guard index + length <= bytes.count else { return nil }
    for offset in 1..<length {
      let next = bytes[index + offset]
      guard next & 0xC0 == 0x80 else { return nil }
      value = value << 6 | UInt32(next & 0x3F)
    }
    let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
    guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value),
      let scalar = Unicode.Scalar(value)
    else { return nil }
    return (scalar, length)
  }
}
