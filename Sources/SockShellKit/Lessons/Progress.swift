#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import SocketLayer

/// Where each learner is in each lesson, kept in progress.json in the state folder. Written
/// atomically (temporary file, fsync, rename); a file that cannot be read is set aside, never fatal.
public struct Progress: Sendable, Equatable {
  public struct Entry: Sendable, Equatable {
    public var step: Int
    public var done: Bool
  }

  public var current: String?
  public var lessons: [String: Entry] = [:]

  public init() {}

  public var json: JSON {
    .object([
      ("current", current.map(JSON.string) ?? .null),
      (
        "lessons",
        .object(
          lessons.keys.sorted().map { id in
            (id, .object([("step", .integer(lessons[id]!.step)), ("done", .bool(lessons[id]!.done))]))
          })
      ),
    ])
  }

  /// Reads the file. A missing file is an empty progress; a corrupt one is renamed aside and the
  /// warning returned.
  public static func load(path: String) -> (Progress, warning: String?) {
    guard case .success(let bytes) = Transfer.readFile(path, limit: 1 << 20) else { return (Progress(), nil) }
    if let progress = parse(bytes) { return (progress, nil) }
    let aside = path + ".corrupt-\(time(nil))"
    rename(path, aside)
    return (Progress(), "progress file \(path) could not be read; set aside as \(aside), starting afresh")
  }

  static func parse(_ bytes: [UInt8]) -> Progress? {
    guard case .object(let pairs)? = JSONReader.parse(bytes) else { return nil }
    var progress = Progress()
    for (key, value) in pairs {
      switch (key, value) {
      case ("current", .string(let id)): progress.current = id
      case ("current", .null): break
      case ("lessons", .object(let entries)):
        for (id, entry) in entries {
          guard case .object(let fields) = entry else { return nil }
          var step = 0
          var done = false
          for (name, field) in fields {
            if name == "step", case .integer(let value) = field, value >= 0 { step = value }
            if name == "done", case .bool(let value) = field { done = value }
          }
          progress.lessons[id] = Entry(step: step, done: done)
        }
      default: return nil
      }
    }
    return progress
  }

  /// Writes the file whole or not at all; on failure the previous file is kept.
  public func save(path: String) -> String? {
    guard let failure = FileWriter.writeAtomically(Array((json.text + "\n").utf8), to: path, mode: 0o600) else {
      return nil
    }
    return "cannot save progress to \(path): \(failure.message) (the previous progress is kept)"
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
          out += Array(String(Character(Unicode.Scalar(value) ?? "?")).utf8)
        default: out.append(escaped)
        }
      } else {
        out.append(byte)
      }
    }
    return nil
  }
}
