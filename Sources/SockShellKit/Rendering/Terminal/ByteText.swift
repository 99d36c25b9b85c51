/// Turns bytes (from the network, a file, a path) into text that is safe to print on a terminal:
/// no control byte, escape sequence or invisible format character ever reaches the screen raw.
public enum ByteText {
  /// A C-style quoted string: `"GET / HTTP/1.1\r\n"`. Printable ASCII and printable UTF-8 stay as
  /// they are; everything else is escaped (`\n`, `\x1b`, `\u{202e}`). When more than `limit` bytes
  /// are given, the rest is left out and `...` follows the closing quote, as strace does.
  public static func quoted(_ bytes: some Collection<UInt8>, limit: Int = .max) -> String {
    let array = Array(bytes)
    let shown = array.prefix(max(0, limit))
    var out = "\""
    out += escaped(shown)
    out += "\""
    if array.count > shown.count { out += "..." }
    return out
  }

  /// Text typed by a person (a script line, a name), made safe to print: control bytes and
  /// invisible characters are escaped, but quotes and backslashes stay as typed, tabs become spaces.
  public static func sanitized(_ text: String) -> String {
    escaped(Array(text.utf8), keepQuotes: true)
  }

  /// The escaped text of `bytes`, without quotes.
  public static func escaped(_ bytes: some Collection<UInt8>, keepQuotes: Bool = false) -> String {
    let array = Array(bytes)
    var out = ""
    out.reserveCapacity(array.count)
    var index = 0
    while index < array.count {
      let byte = array[index]
      if byte < 0x80 {
        switch byte {
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += keepQuotes ? " " : "\\t"
        case 0x00: out += "\\0"
        case 0x5C, 0x22:
          if keepQuotes {
            out.unicodeScalars.append(Unicode.Scalar(byte))
          } else {
            out += byte == 0x5C ? "\\\\" : "\\\""
          }
        case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
        default: out += hexEscape(byte)
        }
        index += 1
        continue
      }
      if let (scalar, length) = decodeScalar(array, at: index) {
        if isSafeToShow(scalar) {
          out.unicodeScalars.append(scalar)
        } else {
          out += "\\u{" + String(scalar.value, radix: 16) + "}"
        }
        index += length
      } else {
        out += hexEscape(byte)
        index += 1
      }
    }
    return out
  }

  /// True when the bytes read as text (UTF-8 with at most a few control bytes beyond
  /// newlines and tabs), false when a hex dump shows them better.
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
      } else if let (_, length) = decodeScalar(array, at: index) {
        index += length
      } else {
        unusual += 1
        index += 1
      }
    }
    return unusual * 10 <= array.count
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

  static func hexEscape(_ byte: UInt8) -> String { "\\x" + hex2(byte) }

  /// Scalars that print as themselves: not controls, format characters (bidi overrides,
  /// zero-width marks), line/paragraph separators, private use, surrogates or unassigned.
  static func isSafeToShow(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
      return false
    default:
      return true
    }
  }

  /// Decodes one well-formed UTF-8 sequence at `index` (no overlong forms, no surrogates).
  static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
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
