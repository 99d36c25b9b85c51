#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// Where each learner is in each lesson, kept in progress.json in the state folder. Written
/// atomically (temporary file, fsync, rename); a file that cannot be read is set aside, never fatal.
public struct Progress: Sendable, Equatable {
  public struct Entry: Sendable, Equatable {
    public var step: Int
    /// Every step passed: a lesson whose steps were skipped is not done.
    public var done: Bool
    /// The steps (0-based) moved past with `next` before they passed.
    public var skipped: Set<Int> = []
    /// The ports the lesson's text named (`{port}` -> 49673): a resumed lesson keeps them.
    public var ports: [String: Int] = [:]
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
            (
              id,
              .object([
                ("step", .integer(lessons[id]!.step)), ("done", .bool(lessons[id]!.done)),
                ("skipped", .array(lessons[id]!.skipped.sorted().map(JSON.integer))),
                ("ports", .object(lessons[id]!.ports.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
              ])
            )
          })
      ),
    ])
  }

  /// Set when the file could not be read nor set aside: nothing is written this session (the
  /// file is never replaced by a progress that did not start from it).
  public var readOnly = false
  /// Lessons reset in this session: saved as this session has them, not merged back.
  var forgotten: Set<String> = []

  /// At most this much is read of a progress file.
  static let maximumSize = 1 << 20

  /// Reads the file. A missing file is an empty progress. One that cannot be read, is too big,
  /// is not a regular file (a planted link, a FIFO) or does not parse is renamed aside, never
  /// followed, never silently replaced, and the warning returned; when it cannot be set aside,
  /// the progress is read-only for this session.
  public static func load(path: String) -> (Progress, warning: String?) {
    var info = stat()
    if lstat(path, &info) != 0 {
      if errno == ENOENT { return (Progress(), nil) }
      return setAside(path, because: "cannot be read (\(Errno.current.message))")
    }
    if let kind = FileWriter.notAFile(info) { return setAside(path, because: "is \(kind)") }
    if info.st_size > maximumSize { return setAside(path, because: "is larger than 1 MiB") }
    if let progress = read(path) { return (progress, nil) }
    return setAside(path, because: "could not be read")
  }

  /// Renames an unusable progress file aside; read-only progress when even that fails.
  static func setAside(_ path: String, because why: String) -> (Progress, warning: String?) {
    // A name no earlier set-aside file has (two in one second keep both).
    var aside = path + ".corrupt-\(time(nil))"
    var probe = stat()
    var count = 1
    while lstat(aside, &probe) == 0 && count < 1000 {
      count += 1
      aside = path + ".corrupt-\(time(nil))-\(count)"
    }
    if rename(path, aside) == 0 {
      return (Progress(), "progress file \(path) \(why); set aside as \(aside), starting afresh")
    }
    var progress = Progress()
    progress.readOnly = true
    return (
      progress,
      "progress file \(path) \(why) and cannot be set aside (\(Errno.current.message)): your progress is not saved this session"
    )
  }

  /// The progress of two shells together: a step reached stays reached, done stays done; ours
  /// decides the current lesson and the lessons we reset.
  func merged(with other: Progress) -> Progress {
    var result = self
    for (id, theirs) in other.lessons where !forgotten.contains(id) {
      let mine = result.lessons[id]
      let done = (mine?.done ?? false) || theirs.done
      // A lesson this shell finished (saved at step 0, to be taken from the start again) or is
      // taking again keeps this shell's step; otherwise the step furthest reached.
      let step = mine?.done == true ? mine!.step : max(mine?.step ?? 0, theirs.step)
      result.lessons[id] = Entry(
        step: step, done: done,
        skipped: done ? [] : (mine?.skipped ?? []).union(theirs.skipped),
        ports: mine?.ports.isEmpty == false ? mine!.ports : theirs.ports)
    }
    return result
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
          var skipped: Set<Int> = []
          var ports: [String: Int] = [:]
          for (name, field) in fields {
            if name == "ports", case .object(let values) = field {
              for case (let key, .integer(let port)) in values.prefix(64)
              where key.hasPrefix("{port") && (1024...65535).contains(port) {
                ports[key] = port
              }
            }
            if name == "step", case .integer(let value) = field, value >= 0 { step = value }
            if name == "done", case .bool(let value) = field { done = value }
            if name == "skipped", case .array(let values) = field {
              for case .integer(let value) in values.prefix(1000) where value >= 0 { skipped.insert(value) }
            }
          }
          progress.lessons[id] = Entry(step: step, done: done, skipped: skipped, ports: ports)
        }
      default: return nil
      }
    }
    return progress
  }

  /// Writes the file whole or not at all; on failure the previous file is kept.
  /// Saves, merged with what another shell may have saved meanwhile, under a lock on the folder
  /// (read, merge, write). Returns a warning when it could not (the previous file is kept whole).
  public func save(path: String) -> String? {
    if readOnly { return nil }
    let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let lock = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if lock >= 0 {
      // Another shell holds it for a moment at most (a read and a write): wait up to a second.
      var tries = 0
      while flock(lock, LOCK_EX | LOCK_NB) != 0 && tries < 100 {
        usleep(10_000)
        tries += 1
      }
    }
    defer { if lock >= 0 { close(lock) } }
    var merged = self
    var info = stat()
    if lstat(path, &info) == 0, FileWriter.notAFile(info) == nil {
      if let onDisk = Progress.read(path) { merged = merged.merged(with: onDisk) }
    }
    guard let failure = FileWriter.writeAtomically(Array((merged.json.text + "\n").utf8), to: path, mode: 0o600) else {
      return nil
    }
    return "cannot save progress to \(path): \(failure.message) (the previous progress is kept)"
  }

  /// The file's progress, read without following a link or blocking; nil when it cannot be read
  /// or does not parse (nothing is renamed here).
  static func read(_ path: String) -> Progress? {
    guard case .success(let bytes) = Transfer.readFile(path, limit: maximumSize, followLinks: false) else {
      return nil
    }
    return parse(bytes)
  }
}
