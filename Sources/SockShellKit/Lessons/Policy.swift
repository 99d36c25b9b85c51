#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// The one policy for lines that run from somewhere other than the learner's keyboard: a lesson's
/// partner and solution lines today, a classroom feed tomorrow. A lesson is a shared document, so
/// its lines may make socket calls on loopback and nothing else: no file is read or written, no
/// lesson started, nothing of the shell changed, no name looked up but `localhost`. Checked when a
/// lesson is loaded (a line outside it is a `FILE:LINE` problem, so nothing of the lesson runs),
/// again when a run parses its lines, and once more when an address is resolved (`allows`).
enum LinePolicy {
  /// Where a line comes from.
  enum Source: String, Sendable {
    /// The lesson's partner: runs on its own, unseen until it has run.
    case partner
    /// A step's solution: shown to the learner before it runs (`solution`), and run unattended
    /// by `lesson test`. It may bind every address: a lesson can teach what 0.0.0.0 means.
    case solution
    /// A class's instructor: shown to the student, and run on the student's Enter (or at once
    /// with `follow on`). Any numeric address (the instructor's server is on another machine),
    /// no name to look up but `localhost`, no Unix path; a bind to every address only on the
    /// student's own Enter (`bindsEveryAddress`).
    case instructor
  }

  /// At most this many distinct `{portN}` placeholders in a lesson.
  static let maxPortPlaceholders = 16
  /// At most this many steps in a lesson (and its file is at most 1 MiB).
  static let maxSteps = 100
  /// At most this many lines in a step's check, solution, partner and hint blocks together.
  static let maxLinesPerStep = 200
  /// A partner's call waits at most this long in the kernel (a connect to a full queue, a send
  /// to a full buffer), so that the learner's prompt is answered within 100 ms.
  static let partnerWait = 0.05
  /// What a lesson writes for the folder its run owns and removes (`{dir}/server.sock`).
  static let folderPlaceholder = "{dir}"
  /// The folder's stand-in when a lesson is checked at load.
  static let folderStandIn = "/nonexistent/sockshell-lesson-folder"

  /// What a line from elsewhere may never do.
  static let forbidden: Capabilities = [.readsFiles, .writesFiles, .changesShell, .readsProcesses]

  /// Why `line` may not run as a `source` line, or nil when it may. `folder`: the run's own
  /// folder (or its stand-in), the only place for Unix socket paths.
  static func refusal(_ line: ParsedLine, from source: Source, folder: String) -> String? {
    let effects = line.command.effects
    if !effects.isDisjoint(with: forbidden) {
      var what: [String] = []
      if effects.contains(.readsFiles) { what.append("reads a file") }
      if effects.contains(.writesFiles) { what.append("writes a file") }
      if effects.contains(.changesShell) { what.append("changes the shell") }
      if effects.contains(.readsProcesses) { what.append("reads another process's sockets") }
      let whose = source == .instructor ? "an instructor's lines" : "a lesson's \(source.rawValue) lines"
      return "\(line.spec.name) \(what.joined(separator: " and ")): \(whose) may make socket calls only"
    }
    for address in line.command.namedAddresses {
      if let why = refusal(address, from: source, folder: folder) { return why }
    }
    return line.command.refusalFromElsewhere.map { "\(line.spec.name): \($0)" }
  }

  /// Why a lesson's line may not name `address`, or nil.
  static func refusal(_ address: AddressSpec, from source: Source, folder: String) -> String? {
    if source == .instructor {
      switch address {
      case .host(let host, let port):
        if SocketAddress.numeric(host, port: port) != nil || host.lowercased() == "localhost" { return nil }
        return "'\(host)' is a name to look up: the instructor's lines use numeric addresses or localhost"
      case .unixPath: return "the instructor's lines do not name paths on your machine (abstract names @NAME do)"
      case .partnerListening: return "{listening} is for a lesson's partner"
      case .any, .abstract, .descriptor: return nil
      }
    }
    switch address {
    case .host(let host, let port):
      if let numeric = SocketAddress.numeric(host, port: port) {
        // A group: bound to receive, or sent to from a socket whose multicast leaves by loopback
        // (checked when the line runs).
        if numeric.isLoopback || numeric.isMulticast { return nil }
        if numeric.isWildcard { return source == .partner ? everyAddress : nil }
        return
          "\(host) is not a loopback address: a lesson's lines use 127.0.0.0/8, ::1, localhost or a multicast group sent by loopback only"
      }
      if host.lowercased() == "localhost" { return nil }
      return "'\(host)' is a name to look up: a lesson's lines use localhost, 127.0.0.0/8 or ::1 only (no DNS)"
    case .any:
      return source == .partner ? everyAddress : nil
    case .unixPath(let path):
      return isInside(path, folder) ? nil : unixPlace
    case .abstract, .descriptor, .partnerListening:
      return nil
    }
  }

  /// Whether a line binds every address (0.0.0.0, ::, *:PORT): from an instructor, it runs only
  /// on the student's own Enter.
  static func bindsEveryAddress(_ line: ParsedLine) -> Bool {
    guard line.spec.name == "bind" else { return false }
    return line.command.namedAddresses.contains { address in
      switch address {
      case .any: return true
      case .host(let host, let port): return SocketAddress.numeric(host, port: port)?.isWildcard == true
      default: return false
      }
    }
  }

  /// `wait listening ADDR`: the partner waits for a listener on loopback (or anywhere: `*`).
  static func refusal(waitPattern pattern: String) -> String? {
    if pattern == "*" { return nil }
    let host = Check.patternParts(pattern).host
    if host == "*" || host.lowercased() == "localhost" { return nil }
    if let numeric = SocketAddress.numeric(host, port: 0), numeric.isLoopback || numeric.isWildcard { return nil }
    if pattern.hasPrefix("/") || pattern.hasPrefix("@") { return nil }  // a Unix listener: waited for, not reached
    return "wait listening \(pattern): the partner waits for a listener on loopback (127.0.0.1:PORT, [::1]:PORT) or *"
  }

  /// Whether a resolved address may be used by a line from elsewhere (checked as it is resolved,
  /// whatever the line said): loopback, an abstract name, or a path inside the run's folder; a
  /// multicast group only from a socket whose multicast datagrams leave by loopback (`sender`).
  static func allows(_ address: SocketAddress, folder: String?, sender: Int32? = nil) -> Bool {
    if address.isMulticast { return sender.map { multicastStaysOnLoopback($0, family: address.family) } ?? false }
    switch address {
    case .ipv4, .ipv6: return address.isLoopback || address.isWildcard
    case .abstract, .unnamed: return true
    case .unix(let path): return folder.map { isInside(String(decoding: path, as: UTF8.self), $0) } ?? false
    }
  }

  /// Whether the socket's multicast datagrams leave by loopback: its IP_MULTICAST_IF is a
  /// loopback address, or its IPV6_MULTICAST_IF is `lo` (read from the kernel, whatever set it).
  static func multicastStaysOnLoopback(_ fd: Int32, family: SocketFamily) -> Bool {
    // In the sandbox nothing reaches beyond it: mc0 and mc1 lead only to each other.
    if Sandbox.entered { return true }
    guard let option = SocketOption.named("multicast_if")?.matching(family),
      case .success(.interface(let interface)) = option.get(fd)
    else { return false }
    return interface.isLoopback
  }

  /// Whether no socket of this machine is bound to `address` (a TCP and a UDP socket can both
  /// bind it now): a connection or datagram there reaches no program.
  static func nobodyIsBound(to address: SocketAddress) -> Bool {
    switch address {
    case .ipv4, .ipv6:
      for type in [SocketType.stream, .datagram] {
        guard case .success(let fd) = Sys.socket(address.family, type) else { return false }
        defer { _ = Sys.close(fd) }
        guard case .success = Sys.bind(fd, address) else { return false }
      }
      return true
    case .abstract:
      guard case .success(let fd) = Sys.socket(.unix, .stream) else { return false }
      defer { _ = Sys.close(fd) }
      if case .success = Sys.bind(fd, address) { return true }
      return false
    case .unix, .unnamed:
      return true  // a path in the run's own folder (the policy checked it), or no address
    }
  }

  /// A path below `folder`, with no `..` to climb out of it.
  static func isInside(_ path: String, _ folder: String) -> Bool {
    guard path.hasPrefix(folder + "/") else { return false }
    let rest = path.dropFirst(folder.count + 1)
    return !rest.isEmpty && !rest.split(separator: "/").contains("..")
  }

  static let everyAddress =
    "a partner never binds or sends to every address (*:PORT, 0.0.0.0, ::): use 127.0.0.1:PORT"
  static let unixPlace =
    "a lesson's Unix socket paths are inside the folder its run owns ({dir}/NAME), or abstract names (@NAME)"

  /// A folder of the run's own for its Unix sockets (`/tmp/sockshell-lesson-XXXXXX`, mode 0700).
  static func makeFolder() -> String? {
    let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    var template = Array((base + "/sockshell-lesson-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { return nil }
    return String(cString: made)
  }

  /// Removes the run's folder and what its sockets left in it (entries only, never following a link).
  static func removeFolder(_ folder: String) {
    if let handle = opendir(folder) {
      let fd = dirfd(handle)
      while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { unlinkat(fd, name, 0) }
      }
      closedir(handle)
    }
    rmdir(folder)
  }
}

extension LessonLoader {
  /// The lines of a loaded lesson that the policy refuses, checked again from scratch, as
  /// `FILE:LINE: ...` (empty for every lesson that loads: the fuzz target holds it to that).
  public static func linesOutsidePolicy(_ lesson: Lesson) -> [String] {
    var standIns = [LinePolicy.folderPlaceholder: LinePolicy.folderStandIn]
    for (index, placeholder) in lesson.portPlaceholders.enumerated() { standIns[placeholder] = "\(40000 + index)" }
    var problems: [String] = []
    for step in lesson.substituting(standIns).steps {
      let runnable = RunnableStep(step, path: lesson.path, folder: LinePolicy.folderStandIn, problems: &problems)
      for line in runnable.solution {
        if let why = LinePolicy.refusal(line, from: .solution, folder: LinePolicy.folderStandIn) {
          problems.append("\(lesson.path): solution: \(why)")
        }
      }
    }
    return problems
  }
}
