/// A small JSON writer (the shell avoids Foundation for start-up time).
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

  static func quote(_ text: String, into out: inout String) {
    out += "\""
    // Fast path: plain ASCII needs no escaping (names, addresses, states).
    if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
      out += text
      out += "\""
      return
    }
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
          || scalar.properties.generalCategory == .format
        {
          let hex = String(scalar.value, radix: 16)
          if scalar.value > 0xFFFF {
            // Outside the BMP: a surrogate pair.
            let value = scalar.value - 0x10000
            let high = String(0xD800 + (value >> 10), radix: 16)
            let low = String(0xDC00 + (value & 0x3FF), radix: 16)
            out += "\\u\(high)\\u\(low)"
          } else {
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
          }
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    out += "\""
  }
}
