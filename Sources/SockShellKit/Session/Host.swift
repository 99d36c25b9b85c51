/// What surrounds a session at a terminal or in a script: the lines typed (`history`), the
/// lessons and the one being taken, the prompt, and whether the learner asked to leave. Commands
/// reach it through their context's `host`: the lesson commands, history, quit, and `ls --all`
/// for the partner's sockets (`partnerSockets`, never the partner itself).
public final class Host {
  /// Lines entered, for `history`.
  public var history: [String] = []
  /// The lessons this shell offers, and the one being taken.
  public var library: LessonLibrary?
  public var lessonRun: LessonRun?
  /// Set by quit/exit.
  public var wantsExit = false
  /// The script being presented (`sockshell present FILE`).
  public internal(set) var presentation: Presentation?
  /// The class this shell serves (`class serve`) or has joined (`sockshell --join`).
  var classServer: ClassServer?
  var classClient: ClassClient?
  /// Puts a line ready at the prompt (set by the interactive shell; an instructor's command).
  var offer: ((String) -> Void)?
  /// The wire being shown (`wire on`, `--wire`), for the learner's and the partner's sockets.
  var wire: Wire?
  /// Other processes' sockets: what was seen of them, and those watched (`watch PID`).
  let processes = ProcessWatcher()
  /// The learner's session this host surrounds (set by the session).
  weak var session: Session?

  public init() {}

  /// A new run of `lesson` from `step` in the learner's session, now the lesson being taken.
  func startRun(_ lesson: Lesson, step: Int) -> LessonRun? {
    guard let session else { return nil }
    let run = LessonRun(
      lesson: lesson, step: step, session: session, ports: library?.progress.lessons[lesson.id]?.ports ?? [:])
    lessonRun = run
    return run
  }

  /// The prompt: with the lesson and step when one is being taken.
  public var prompt: String {
    lessonRun.flatMap { $0.finished ? nil : $0.prompt } ?? presentation?.prompt ?? "sockshell> "
  }

  /// The presentation that next, back, goto and where move: none while a lesson is being taken.
  var presentingNow: Presentation? {
    lessonRun.map { $0.finished } ?? true ? presentation : nil
  }

  /// Whose a descriptor of this process is, when not the learner's.
  func owner(of fd: Int32) -> String? {
    if let partner = lessonRun?.partner.session.openDescriptors.first(where: { $0.fd == fd }) {
      return "the lesson partner's socket \(partner.name.map { "'\($0)'" } ?? ""), the other side (ls --all lists it)"
    }
    if wire?.fd == fd { return "the wire's capture of loopback" }
    if classServer?.listener == fd || classServer?.students.contains(where: { $0.connection?.fd == fd }) == true
      || classClient?.connection?.fd == fd
    {
      return "a connection of the class (class shows it)"
    }
    return nil
  }

  /// The partner's sockets, for `ls --all` (none without a lesson).
  func partnerSockets() -> [SocketSnapshot] { lessonRun?.partner.session.snapshots() ?? [] }

  /// Ends the lesson being taken (its partner's descriptors are closed); the run stays, for resuming.
  func endLesson() { lessonRun?.end() }
}

extension Session {
  /// The host's lessons (for code that embeds a session: tests, `sockshell lessons`).
  public var library: LessonLibrary? {
    get { host.library }
    set { host.library = newValue }
  }

  /// The host's lesson run.
  public var lessonRun: LessonRun? { host.lessonRun }
}
