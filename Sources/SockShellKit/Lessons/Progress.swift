#if canImport(Glibc)
  import Glibc
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
