/// JSON, written (`JSON.text`) and read (`JSONReader`) in one place; hand-written, since the shell
/// avoids Foundation for start-up time.
public enum JSON: Equatable, Sendable {
  case string(String)
  case number(Double)
  case integer(Int)
  case bool(Bool)
  case null
  case array([JSON])
  /// Keys keep their order.
  case object([(String, JSON)])

  public static func == (lhs: JSON, rhs: JSON) -> Bool { lhs.text == rhs.text }

  /// Compact JSON text.
  public var text: String {
    var out = ""
    out.reserveCapacity(4096)
    write(to: &out)
    return out
  }

  func write(to out: inout String) {
    switch self {
    case .string(let value): JSON.quote(value, into: &out)
    case .number(let value): out += value.isFinite ? "\(value)" : "null"
    case .integer(let value): out += "\(value)"
    case .bool(let value): out += value ? "true" : "false"
    case .null: out += "null"
    case .array(let values):
      out += "["
      for (index, value) in values.enumerated() {
        if index > 0 { out += "," }
        value.write(to: &out)
      }
      out += "]"
    case .object(let pairs):
      out += "{"
      for (index, (key, value)) in pairs.enumerated() {
        if index > 0 { out += "," }
        JSON.quote(key, into: &out)
        out += ":"
        value.write(to: &out)
      }
      out += "}"
    }
  }

  /// A JSON string in printable ASCII alone: every other character is a `\uXXXX` escape (a
  /// surrogate pair beyond the BMP), so the text is valid JSON that no terminal can misread and
  /// that the last guard of `Output` never has to touch.
  static func quote(_ text: String, into out: inout String) {
    out += "\""
    // Fast path: plain ASCII needs no escaping (names, addresses, states).
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
      out += text
      out += "\""
      return
    }
    func unit(_ value: UInt32) {
      let hex = String(value, radix: 16)
      out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case " "..."~": out.unicodeScalars.append(scalar)
      default:
        if scalar.value > 0xFFFF {
          let value = scalar.value - 0x10000
          unit(0xD800 + (value >> 10))
          unit(0xDC00 + (value & 0x3FF))
        } else {
          unit(scalar.value)
        }
      }
    }
    out += "\""
  }
}

/// A small JSON reader (no Foundation), enough for progress files; nil for anything malformed.
enum JSONReader {
  static func parse(_ bytes: [UInt8]) -> JSON? {
    var index = 0
    guard let value = parseValue(bytes, &index, depth: 0) else { return nil }
    skipBlanks(bytes, &index)
    return index == bytes.count ? value : nil
  }

  static func skipBlanks(_ bytes: [UInt8], _ index: inout Int) {
    while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
  }

  static func parseValue(_ bytes: [UInt8], _ index: inout Int, depth: Int) -> JSON? {
    guard depth < 32 else { return nil }
    skipBlanks(bytes, &index)
    guard index < bytes.count else { return nil }
    switch bytes[index] {
    case UInt8(ascii: "{"):
      index += 1
      var pairs: [(String, JSON)] = []
      skipBlanks(bytes, &index)
      if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object(pairs)
      }
      while true {
        skipBlanks(bytes, &index)
        guard case .string(let key)? = parseString(bytes, &index) else { return nil }
        skipBlanks(bytes, &index)
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
        index += 1
        guard let value = parseValue(bytes, &index, depth: depth + 1) else { return nil }
        pairs.append((key, value))
        skipBlanks(bytes, &index)
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
        if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(pairs) }
        return nil
      }
    case UInt8(ascii: "["):
      index += 1
      var values: [JSON] = []
      skipBlanks(bytes, &index)
      if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array(values)
      }
      while true {
        guard let value = parseValue(bytes, &index, depth: depth + 1) else { return nil }
        values.append(value)
        skipBlanks(bytes, &index)
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
        if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
        return nil
      }
    case UInt8(ascii: "\""):
      return parseString(bytes, &index)
    case UInt8(ascii: "t"): return literal(bytes, &index, "true", .bool(true))
    case UInt8(ascii: "f"): return literal(bytes, &index, "false", .bool(false))
    case UInt8(ascii: "n"): return literal(bytes, &index, "null", .null)
    default:
      let start = index
      while index < bytes.count, (0x30...0x39).contains(bytes[index]) || bytes[index] == UInt8(ascii: "-") {
        index += 1
      }
      guard let number = Int(String(decoding: bytes[start..<index], as: UTF8.self)) else { return nil }
      return .integer(number)
    }
  }

  static func literal(_ bytes: [UInt8], _ index: inout Int, _ word: String, _ value: JSON) -> JSON? {
    let expected = Array(word.utf8)
    guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
      return nil
    }
    index += expected.count
    return value
  }

  static func parseString(_ bytes: [UInt8], _ index: inout Int) -> JSON? {
    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
    index += 1
    var out: [UInt8] = []
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      if byte == UInt8(ascii: "\"") { return .string(String(decoding: out, as: UTF8.self)) }
      if byte == UInt8(ascii: "\\") {
        guard index < bytes.count else { return nil }
        let escaped = bytes[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "u"):
          guard index + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
          else { return nil }
          index += 4
          var scalar = Unicode.Scalar(value)
          // A surrogate pair (\ud83d\ude00) is one character beyond the BMP.
          if (0xD800...0xDBFF).contains(value), index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
            bytes[index + 1] == UInt8(ascii: "u"),
            let low = UInt32(String(decoding: bytes[index + 2..<index + 6], as: UTF8.self), radix: 16),
            (0xDC00...0xDFFF).contains(low)
          {
            scalar = Unicode.Scalar(0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00))
            index += 6
          }
          guard let scalar else { return nil }
          out += Array(String(Character(scalar)).utf8)
        default: out.append(escaped)
        }
      } else {
        out.append(byte)
      }
    }
    return nil
  }
}
