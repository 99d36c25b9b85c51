#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// The lessons a shell can offer: found in a folder, loaded and validated, with the learner's progress.
public final class LessonLibrary {
  public let directory: String?
  /// The lessons, read and checked the first time they are asked for (a script that takes no
  /// lesson never reads them: they are most of the shell's start-up otherwise).
  public var lessons: [Lesson] { loaded.lessons }
  /// What was wrong with the lesson files (FILE:LINE: message), then the progress file's warning.
  public var problems: [String] { loaded.problems + progressProblems }
  /// What happened to the progress file (set aside, read-only), as "warning: ..." lines.
  public private(set) var progressProblems: [String] = []
  /// The files that did not load (their problems are in `problems`).
  public var unloaded: [String] { loaded.unloaded }
  public var progress = Progress()
  let progressPath: String?
  private var files: (lessons: [Lesson], problems: [String], unloaded: [String])?

  /// Lessons from, in order: `--lessons DIR`, `SOCKSHELL_LESSONS`, the installed share folder, the
  /// source tree's Lessons/.
  public init(directory explicit: String?, progressPath: String?) {
    directory = LessonLibrary.findDirectory(explicit)
    self.progressPath = progressPath
    if let progressPath {
      let (loaded, warning) = Progress.load(path: progressPath)
      progress = loaded
      if let warning { progressProblems.append("warning: " + warning) }
    }
  }

  private var loaded: (lessons: [Lesson], problems: [String], unloaded: [String]) {
    if let files { return files }
    var lessons: [Lesson] = []
    var problems: [String] = []
    var unloaded: [String] = []
    if let directory {
      for file in LessonLibrary.markdownFiles(in: directory) where !file.hasSuffix("/README.md") {
        do {
          lessons.append(try LessonLoader.load(path: file))
        } catch {
          problems += error.problems
          unloaded.append(file)
        }
      }
    }
    let checked = LessonLibrary.checkTogether(lessons)
    lessons = checked.kept
    problems += checked.problems
    unloaded += checked.leftOut
    files = (lessons, problems, unloaded)
    return files!
  }

  /// What lessons taken together must hold: an id of each one's own (two files with one id would
  /// share progress, and `lesson ID` could reach only one: the later is left out), and what each
  /// requires among them or `alsoKnown`. The lessons kept, the problems, the files left out.
  static func checkTogether(_ lessons: [Lesson], alsoKnown: Set<String> = []) -> (
    kept: [Lesson], problems: [String], leftOut: [String]
  ) {
    var problems: [String] = []
    var leftOut: [String] = []
    var seen: [String: String] = [:]
    let kept = lessons.filter { lesson in
      if let first = seen[lesson.id] {
        problems.append(
          "\(lesson.path):1: the id '\(lesson.id)' is taken already by \(first): each lesson needs an id of its own (this file is left out)"
        )
        leftOut.append(lesson.path)
        return false
      }
      seen[lesson.id] = lesson.path
      return true
    }
    let ids = Set(kept.map(\.id)).union(alsoKnown)
    for lesson in kept {
      for required in lesson.requires where !ids.contains(required) {
        problems.append("\(lesson.path):1: requires names a lesson that does not exist: \(required)")
      }
    }
    return (kept, problems, leftOut)
  }

  public func lesson(_ id: String) -> Lesson? { lessons.first { $0.id == id } }

  /// The lesson a learner means: its id, its number in the list (`lesson 1`, `lesson 01`), or its
  /// file name (`01-sockets`, `01-sockets.md`).
  public func lesson(named word: String) -> Lesson? {
    if let found = lesson(word) { return found }
    if let number = Int(word) {
      // Numbered files (16-your-server.md): the number in the name. Otherwise the place in the list.
      let numbered = lessons.filter { fileNumber($0) != nil }
      if !numbered.isEmpty { return numbered.first { fileNumber($0) == number } }
      if (1...lessons.count).contains(number) { return lessons[number - 1] }
    }
    let stem = word.hasSuffix(".md") ? String(word.dropLast(3)) : word
    return lessons.first { $0.path.split(separator: "/").last.map { $0.dropLast(3) == stem[...] } == true }
  }

  /// What `lesson NUMBER` takes to reach it: its file's number, or else its place in the list.
  public func number(of lesson: Lesson) -> Int? {
    if lessons.contains(where: { fileNumber($0) != nil }) { return fileNumber(lesson) }
    return lessons.firstIndex { $0.id == lesson.id }.map { $0 + 1 }
  }

  /// The number a lesson's file name starts with (16 for 16-your-server.md).
  func fileNumber(_ lesson: Lesson) -> Int? {
    let name = lesson.path.split(separator: "/").last ?? ""
    let digits = name.prefix { $0.isASCIIDigitCharacter }
    return digits.isEmpty || name.dropFirst(digits.count).first != "-" ? nil : Int(digits)
  }

  public func save() -> String? { progressPath.flatMap { progress.save(path: $0) } }

  static func findDirectory(_ explicit: String?) -> String? {
    if let explicit { return explicit }
    if let env = getenv("SOCKSHELL_LESSONS"), env.pointee != 0 { return String(cString: env) }
    // Next to the executable: PREFIX/bin/sockshell -> PREFIX/share/sockshell/lessons; a build in
    // .build/<config>/ -> the source tree's Lessons/.
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if count > 0 {
      var folder = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      folder = String(folder[..<(folder.lastIndex(of: "/") ?? folder.endIndex)])
      let installed = folder + "/../share/sockshell/lessons"
      if isDirectory(installed) { return installed }
      var up = folder
      for _ in 0..<5 {
        if isDirectory(up + "/Lessons") && access(up + "/Package.swift", F_OK) == 0 { return up + "/Lessons" }
        up += "/.."
      }
    }
    return isDirectory("Lessons") ? "Lessons" : nil
  }

  static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
  }

  static func markdownFiles(in directory: String) -> [String] {
    guard let handle = opendir(directory) else { return [] }
    defer { closedir(handle) }
    var files: [String] = []
    while let entry = readdir(handle) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name.hasSuffix(".md") { files.append(directory + "/" + name) }
    }
    return files.sorted()
  }
}

/// A step as a run uses it: each line parsed once, with the run's ports, when the run starts;
/// nothing is parsed again while it runs.
struct RunnableStep {
  var checks: [(check: Check, text: String)] = []
  /// Whether a check reads the wire.
  var checksTheWire: Bool { checks.contains { $0.check.readsTheWire } }
  var solution: [ParsedLine] = []
  var partner: [PartnerLine] = []
  /// The examples that claim results, each block in order: lines to run, and checks to hold.
  var examples: [[ExampleLine]] = []
  /// The program the step asks the learner for, and the lesson's reference program (its solution).
  var program: ProgramSpec?
  var programSolution = ""

  enum ExampleLine {
    case command(ParsedLine, LessonLine)
    case expect(Check, LessonLine)
  }

  /// Parses the step's lines and holds them to the policy for lines from elsewhere (`folder`: the
  /// run's own); each one that does not parse or is outside the policy is a problem
  /// ("FILE:LINE: ...") and is left out.
  init(_ step: LessonStep, path: String, folder: String, problems: inout [String]) {
    func problem(_ line: LessonLine, _ block: String, _ message: String) {
      problems.append("\(path):\(line.line): \(block): \(message)")
    }
    for line in step.checks {
      do { checks.append((try Check.parse(line.text), line.text)) } catch { problem(line, "check", error.message) }
    }
    /// A line that runs unattended as a solution does (solutions, and examples in lesson test):
    /// parsed, and held to the policy; nil for a comment or a problem.
    func unattended(_ line: LessonLine, _ block: String) -> ParsedLine? {
      do {
        guard let parsed = try Parser.parse(line.text) else { return nil }
        if let why = LinePolicy.refusal(parsed, from: .solution, folder: folder) {
          problem(line, block, why)
          return nil
        }
        return parsed
      } catch {
        problem(line, block, error.message)
        return nil
      }
    }
    if let line = step.programLine {
      let (spec, found) = ProgramSpec.parse(step.programLines, at: line)
      for (at, message) in found { problems.append("\(path):\(at): program: \(message)") }
      program = spec
      // The solution of a program step is the reference program, not lines of the shell.
      programSolution = step.solutionSource
      if step.solutionSource.isEmpty {
        problems.append("\(path):\(line): program: the step needs a solution block with a reference program")
      }
    } else {
      solution = step.solution.compactMap { unattended($0, "solution") }
    }
    // Examples run in lesson test as solutions do: held to the same policy.
    for block in step.examples {
      var lines: [ExampleLine] = []
      for line in block {
        if line.text.hasPrefix(LessonStep.expectPrefix) {
          do {
            lines.append(.expect(try Check.parse(String(line.text.dropFirst(LessonStep.expectPrefix.count))), line))
          } catch { problem(line, "example", error.message) }
        } else if let parsed = unattended(line, "example") {
          lines.append(.command(parsed, line))
        }
      }
      examples.append(lines)
    }
    for line in step.partner {
      do {
        let parsed = try PartnerLine.parse(line.text)
        var why: String?
        switch parsed {
        case .command(let command): why = LinePolicy.refusal(command, from: .partner, folder: folder)
        case .waitListening(let pattern): why = LinePolicy.refusal(waitPattern: pattern)
        case .waitReadable, .waitBlocked, .sleep: why = nil
        }
        if let why { problem(line, "partner", why) } else { partner.append(parsed) }
      } catch { problem(line, "partner", error.message) }
    }
  }
}

/// A lesson being taken: the current step, its checks run after every command, the partner.
public final class LessonRun {
  public let lesson: Lesson
  /// The steps' lines, parsed with this run's ports.
  let runnable: [RunnableStep]
  /// Lines that did not parse with this run's ports (shown when the lesson starts).
  let problems: [String]
  public private(set) var stepIndex: Int
  /// The learner's session, which owns this run through its host (unowned: no cycle).
  unowned let session: Session
  let partner: Partner
  var stepStart = 0
  /// The wire's packet count when the step began (0 when it was off: all it shows counts).
  var wireStart = 0
  /// Whether the wire was on when the step began (its checks of packets stand aside otherwise,
  /// unless it was turned on since).
  var wireOnAtStart = false
  var partnerStart = 0
  private(set) var hintIndex = 0
  private var solutionAsked = false
  public private(set) var finished = false
  /// Print step texts and partner output (false for `lesson test`).
  let verbose: Bool
  /// The partner's turn in the event loop, while the lesson runs.
  var turnTimer: Int?
  /// True while `tick` runs (a turn inside it is skipped).
  var ticking = false

  /// The folder this run owns for the lesson's Unix sockets (`{dir}`), removed at the end.
  let folder: String?

  init(lesson template: Lesson, step: Int, session: Session, verbose: Bool = true, ports wanted: [String: Int] = [:]) {
    // Free ports for {port}, {port2}...: picked now, so that learners on one machine never clash;
    // a resumed lesson keeps the ones it had while they are free.
    var values: [String: String] = [:]
    var changed: [String] = []
    for placeholder in template.portPlaceholders {
      if let port = wanted[placeholder], LessonRun.isFree(UInt16(port)) {
        values[placeholder] = String(port)
      } else {
        values[placeholder] = String(LessonRun.freePort())
        if let port = wanted[placeholder] { changed.append("\(port) is taken now: \(values[placeholder]!) instead") }
      }
    }
    portChanges = changed
    programPort = UInt16(values["{port}"] ?? "") ?? LessonRun.freePort()
    ports = values.compactMapValues(Int.init).filter { $0.key.hasPrefix("{port") }
    // A folder of its own, made only for a lesson that names one.
    let folder = template.usesFolder ? LinePolicy.makeFolder() : nil
    self.folder = folder
    let place = folder ?? LinePolicy.folderStandIn
    values[LinePolicy.folderPlaceholder] = place
    let lesson = template.substituting(values)
    self.lesson = lesson
    var problems: [String] = []
    runnable = lesson.steps.map { RunnableStep($0, path: template.path, folder: place, problems: &problems) }
    self.problems = problems
    stepIndex = min(max(0, step), max(0, template.steps.count - 1))
    self.session = session
    self.verbose = verbose
    partner = Partner(out: verbose ? session.out : nil, loop: session.loop, folder: folder)
    // The partner reaches only the sockets of this lesson: the learner's and its own.
    let partnerSession = partner.session
    partnerSession.addressPolicy = unattendedPolicy
  }

  /// The policy for lines that run unseen (the partner's, and `lesson test`'s solutions): they
  /// reach a socket of this lesson, or an address nobody is bound to (a refused connection is a
  /// lesson), never another program's service.
  var unattendedPolicy: AddressResolver.Policy {
    let partnerSession = partner.session
    return .linesFromElsewhere(
      folder: folder,
      reachable: { [unowned session, unowned partnerSession] address in
        session.hasBound(address) || partnerSession.hasBound(address) || LinePolicy.nobodyIsBound(to: address)
      })
  }

  /// The port a step's program is given ({port}), and the step's last try of it.
  let programPort: UInt16
  var programReport: ProgramReport?
  /// `lesson watch`: the program's file watched, with its last change seen.
  var watchTimer: Int?
  var watchedStamp: [Int] = []

  /// The ports of this run (saved with the progress) and what changed from the saved ones.
  let ports: [String: Int]
  let portChanges: [String]

  /// Whether a port of loopback can be bound now (nobody holds it).
  static func isFree(_ port: UInt16) -> Bool {
    guard case .success(let fd) = Sys.socket(.ipv4, .stream) else { return false }
    defer { _ = Sys.close(fd) }
    return (try? Sys.bind(fd, .loopback(.ipv4, port: port)).get()) != nil
  }

  static func freePort() -> UInt16 {
    guard case .success(let fd) = Sys.socket(.ipv4, .stream) else { return 0 }
    defer { _ = Sys.close(fd) }
    _ = Sys.bind(fd, .loopback(.ipv4, port: 0))
    return (try? Sys.getsockname(fd).get().port) ?? 0
  }

  public var step: LessonStep { lesson.steps[stepIndex] }
  var current: RunnableStep { runnable[stepIndex] }

  /// `[first-server 2/5] sockshell> `
  public var prompt: String { "[\(lesson.id) \(stepIndex + 1)/\(lesson.steps.count)] sockshell> " }

  /// Starts (or restarts) the current step: shows it and starts its partner block.
  func begin() {
    stepStart = session.records.count
    wireStart = session.host.wire?.shownCount ?? 0
    wireOnAtStart = session.host.wire?.isOn == true
    partnerStart = partner.session.records.count
    hintIndex = 0
    solutionAsked = false
    programReport = nil
    if watchTimer != nil {
      stopWatching()
      if verbose { session.note("lesson watch stops with the step you left (lesson watch starts it again here).") }
    }
    partner.start(current.partner)
    if verbose { show() }
    partner.advance(learner: session)
    wake()
  }

  /// Makes again what steps 1 to `step` made, by their solutions with the partner playing its
  /// part (said first): a resumed step starts from the sockets it needs. Each line is held to the
  /// policy for lines from elsewhere, and bounded.
  func replay(upTo step: Int) {
    // Program steps leave nothing of the shell's to make again.
    guard step > 0, runnable.prefix(step).contains(where: { $0.program == nil }) else { return }
    session.note(
      "Resuming at step \(step + 1): " + (step == 1 ? "step 1 is" : "steps 1 to \(step) are")
        + " made again from \(step == 1 ? "its solution" : "their solutions"), with the partner, so that the sockets this step needs are there."
    )
    let policy = session.addressPolicy
    session.addressPolicy = unattendedPolicy
    defer { session.addressPolicy = policy }
    for index in 0..<step {
      // A program step leaves no socket of the shell's behind: nothing to make again.
      if runnable[index].program != nil { continue }
      stepIndex = index
      stepStart = session.records.count
      wireStart = session.host.wire?.shownCount ?? 0
      wireOnAtStart = session.host.wire?.isOn == true
      partnerStart = partner.session.records.count
      partner.start(runnable[index].partner)
      partner.advance(learner: session)
      for line in runnable[index].solution {
        session.executeBounded(line, seconds: 3)
        partner.advance(learner: session)
      }
      // Let the partner finish its part (bounded), as when the learner waits at the prompt.
      let deadline = EventLoop.now() + 3
      while !failures().isEmpty && EventLoop.now() < deadline {
        partner.advance(learner: session)
        _ = session.loop.wait(for: nil, deadline: min(deadline, EventLoop.now() + 0.01), interrupt: InterruptWatch())
      }
      if failures().isEmpty { passedSteps.insert(index) }
      partner.stop()
    }
    stepIndex = step
  }

  /// When the learner or the partner last did something: the turns stop a while after, so that a
  /// shell sitting in a lesson does not wake (the terminal and a learner's command wake it).
  var lastActivity = EventLoop.now()
  /// How long the turns go on after the last activity: what the kernel does after a command
  /// (an ACK that moves FIN_WAIT1 to FIN_WAIT2) is seen well within it.
  static let settleTime = 2.0

  /// Turns every 50 ms from now until things settle.
  func wake() {
    lastActivity = EventLoop.now()
    if turnTimer == nil && !finished { turnTimer = session.loop.every(0.05) { [weak self] in self?.turn() } }
  }

  /// The partner's turn, every 50 ms of any wait: while the learner's command runs (a blocking
  /// accept), the partner acts; at the prompt, the step is checked too, so that a step the
  /// partner completes passes while the learner sits idle.
  func turn() {
    let before = partner.session.records.count
    if session.isRunningCommand {
      partner.advance(learner: session)
    } else {
      checkStep()
    }
    if partner.session.records.count != before { lastActivity = EventLoop.now() }
    // Quiet once settled: nothing moves until the learner types (a sleeping partner keeps time).
    if !session.isRunningCommand && partner.sleepUntil == nil
      && EventLoop.now() - lastActivity > LessonRun.settleTime
    {
      stopTurns()
    }
  }

  func stopTurns() {
    if let turnTimer { session.loop.cancel(turnTimer) }
    turnTimer = nil
  }

  func show() {
    let out = session.out
    for problem in problems { out.line("error: \(problem)", .error) }
    out.line("")
    out.line("\(lesson.title): step \(stepIndex + 1) of \(lesson.steps.count): \(step.title)", .heading)
    LessonRun.print(step.text, to: out)
    if current.checksTheWire && !session.wireOn {
      out.line(
        "  This step is about the packets: type wire on (or start sockshell --wire) to see them; without the wire they are not checked.",
        .note)
    }
    out.line("  (check: see what is missing; hint: a clue; solution: the answer)", .note)
  }

  /// Prints lesson prose at the terminal's width (LessonText).
  static func print(_ source: [String], to out: Output) {
    for line in LessonText.render(source, width: out.width) {
      switch line {
      case .prose(let text, let spans): out.prose(text, spans: spans)
      case .code(let text): out.line("    " + text, .plain)
      // Examples look like what to type at the prompt; a claim is what the learner sees after.
      case .example(let text): out.line("    sockshell> " + text, .call)
      case .claim(let text): out.line("    " + text, .note)
      case .blank: out.line("")
      }
    }
  }

  /// Lines of lesson text without the blank lines at their end.
  static func trimmed(_ lines: [String]) -> [String] {
    Array(lines.reversed().drop { $0.allSatisfy(\.isWhitespace) }.reversed())
  }

  /// Each failing check line and why.
  func failures() -> [(String, String)] {
    let context = CheckContext(
      session: session, stepStart: stepStart, partner: partner.session, partnerStart: partnerStart,
      wireStart: wireStart, wireOnAtStart: wireOnAtStart, program: programReport)
    return current.checks.compactMap { check, text in
      let (holds, why) = check.evaluate(context)
      return holds ? nil : (text, why)
    }
  }

  /// After each command (and while the learner waits on a blocking call): let the partner run,
  /// check the step, and move on when it holds.
  /// After each learner command: the partner acts, the step is checked, and turns go on until
  /// things settle.
  public func tick() {
    wake()
    checkStep()
  }

  func checkStep() {
    guard !finished, !ticking else { return }
    ticking = true
    defer { ticking = false }
    var rounds = 0
    while rounds < 20 {
      rounds += 1
      partner.advance(learner: session)
      guard failures().isEmpty else { return }
      complete()
      if finished { return }
    }
  }

  /// The steps that passed in this run (moving past them again is not skipping).
  var passedSteps: Set<Int> = []

  func complete() {
    let out = session.out
    if watchTimer != nil {
      stopWatching()
      if verbose { session.note("lesson watch stops: the step is done.") }
    }
    passedSteps.insert(stepIndex)
    if verbose { out.line("\(Glyphs.choose(ascii: false).done) Step \(stepIndex + 1) done: \(step.title)", .success) }
    partner.stop()
    let passed = stepIndex
    if stepIndex + 1 < lesson.steps.count {
      stepIndex += 1
      saveProgress(done: false, passed: passed)
      begin()
    } else {
      finished = true
      stopTurns()
      // Done, it is saved at step 0: taken again, it starts from the beginning. With steps
      // skipped it stays at its last step, which is where a grader sees it ended.
      saveProgress(done: true, passed: passed, at: skippedSteps.isEmpty ? 0 : nil)
      let skipped = skippedSteps
      if verbose && !skipped.isEmpty {
        let which =
          skipped.count == 1
          ? "step \(skipped[0]) was" : "steps \(skipped.map(String.init).joined(separator: ", ")) were"
        out.line(
          "Last step done; the lesson is not complete: \(which) skipped (prev, or lesson reset, to take \(skipped.count == 1 ? "it" : "them")).",
          .success)
      } else if verbose {
        out.line("Lesson complete: \(lesson.title).", .success)
        session.note(
          nextLesson.map { "Next: lesson \($0.id) (\($0.title)): type next, or lessons for the list." }
            ?? "You have done every lesson.")
      }
    }
  }

  /// The first lesson not done yet after this one, else before it (what `next` starts after
  /// the last step); never this one.
  var nextLesson: Lesson? {
    guard let library = session.host.library else { return nil }
    let all = library.lessons
    let here = all.firstIndex { $0.id == lesson.id } ?? -1
    let order = all.indices.filter { $0 > here } + all.indices.filter { $0 < here }
    return order.map { all[$0] }.first { library.progress.lessons[$0.id]?.done != true }
  }

  /// The number of the hint to show now (each call moves on to the next, staying at the last).
  func takeHint() -> Int {
    defer { hintIndex += 1 }
    return min(hintIndex, max(0, step.hints.count - 1))
  }

  /// Whether the learner has confirmed wanting the solution (the first ask only warns).
  func confirmSolution() -> Bool {
    defer { solutionAsked = true }
    return solutionAsked
  }

  /// Saves where the learner is: `passed` the step that just passed (no longer skipped),
  /// `skipped` one moved past with `next`; the lesson is done when its last step passed and none
  /// was skipped, and stays done.
  func saveProgress(done: Bool, passed: Int? = nil, skipped: Int? = nil, at step: Int? = nil) {
    guard let library = session.host.library else { return }
    library.progress.current = lesson.id
    let old = library.progress.lessons[lesson.id]
    var skippedSteps = old?.skipped ?? []
    // A lesson once done stays done: going through it again (next past a step) loses nothing.
    let wasDone = old?.done == true
    if let passed { skippedSteps.remove(passed) }
    if let skipped, !wasDone { skippedSteps.insert(skipped) }
    let isDone = wasDone || (done && skippedSteps.isEmpty)
    library.progress.lessons[lesson.id] = Progress.Entry(
      step: step ?? stepIndex, done: isDone, skipped: skippedSteps, ports: ports)
    if let problem = library.save() { session.out.line("warning: \(problem)", .error) }
  }

  /// The steps skipped so far, 1-based, as a learner counts them.
  var skippedSteps: [Int] {
    (session.host.library?.progress.lessons[lesson.id]?.skipped ?? []).sorted().map { $0 + 1 }
  }

  /// `next` (+1) and `prev` (-1). Moving on from a step that did not pass records it as skipped.
  /// Returns false when there is no such step (`next` on the last: the caller goes on to the
  /// next lesson).
  @discardableResult
  func move(by delta: Int) -> Bool {
    // After the last step passed, prev shows that step again.
    let target = finished && delta < 0 ? stepIndex : stepIndex + delta
    // Moving on from a step that passed in this run is not skipping it.
    let skipping = delta > 0 && !finished && !passedSteps.contains(stepIndex)
    guard target >= 0 && target < lesson.steps.count else {
      if delta < 0 { session.note("This is the first step.") }
      if skipping {
        saveProgress(done: false, skipped: stepIndex)
        session.note(
          "Step \(stepIndex + 1) skipped: the lesson is not done until every step passes (skipped: \(skippedSteps.map(String.init).joined(separator: ", ")))."
        )
      }
      return false
    }
    partner.stop()
    let from = stepIndex
    stepIndex = target
    finished = false
    saveProgress(done: false, skipped: skipping ? from : nil)
    if skipping { session.note("Step \(from + 1) skipped: it counts as not done until it passes.") }
    begin()
    return true
  }

  /// Ends the lesson: the partner's descriptors are closed.
  func end() {
    stopWatching()
    stopTurns()
    partner.stop()
    partner.session.closeAllBounded(seconds: LinePolicy.partnerWait)
    if let folder { LinePolicy.removeFolder(folder) }
  }
}

extension LessonRun {
  /// The learner's folder, where their program's file is.
  static var workingFolder: String {
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return "." }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Builds, runs and tries the step's program (in `folder`, the learner's by default), keeps
  /// the report for the checks, and shows what happened: the build's messages, a line for each
  /// thing tried, why it failed (from the kernel), the program's own output (escaped).
  @discardableResult
  func tryProgram(in folder: String? = nil) -> ProgramReport? {
    guard let spec = current.program else { return nil }
    let out = session.out
    if verbose {
      out.line("Trying your program \(spec.file) on port \(programPort)...", .heading)
      out.flush(force: true)
    }
    let report = ProgramVerifier.verify(
      spec, folder: folder ?? LessonRun.workingFolder, port: programPort, loop: session.loop,
      interrupt: InterruptWatch())
    programReport = report
    guard verbose else { return report }
    if !report.buildOutput.isEmpty {
      out.line("The compiler said:", .heading)
      LessonRun.showOutput(report.buildOutput, dropped: 0, to: out)
    }
    for line in report.summary { out.field("  " + line, hanging: 4) }
    if let problem = report.problem { out.line("  " + problem, .error) }
    if report.interrupted { out.line("  interrupted: your program was stopped", .error) }
    if !report.output.isEmpty {
      out.line("Your program printed:", .heading)
      LessonRun.showOutput(report.output, dropped: report.outputDropped, to: out)
    }
    return report
  }

  /// A program's output, each line escaped by the byte renderer (a control byte cannot reach the
  /// terminal), at most 40 lines, each wrapped to the terminal under its bar.
  static func showOutput(_ bytes: [UInt8], dropped: Int, to out: Output) {
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    let shown = lines.count > 40 ? Array(lines.prefix(40)) : Array(lines)
    for line in shown.last?.isEmpty == true ? Array(shown.dropLast()) : shown {
      // Wrapped to the terminal: a line of its own starts with the bar, its continuation without.
      out.field("  | " + ByteText.escaped(line, keepQuotes: true), hanging: 4)
    }
    let more = max(0, lines.count - 40)
    if more > 0 || dropped > 0 {
      var parts: [String] = []
      if more > 0 { parts.append("\(more) more lines") }
      if dropped > 0 { parts.append("\(dropped) bytes not kept") }
      out.line("  | ... (" + parts.joined(separator: ", ") + ")", .note)
    }
  }

  /// `lesson watch`: tries the program again each time its file changes (looked at every 0.5 s).
  func startWatching() -> Result<String, CommandRefusal> {
    guard let spec = current.program else {
      return .failure(
        CommandRefusal("this step asks for no program: lesson watch tries a step's program when its file changes"))
    }
    stopWatching()
    let path = LessonRun.workingFolder + "/" + spec.file
    watchedStamp = LessonRun.stamp(path)
    watchTimer = session.loop.every(0.5) { [weak self] in
      guard let self, !self.session.isRunningCommand else { return }
      let now = LessonRun.stamp(path)
      guard now != self.watchedStamp, !now.isEmpty else { return }
      self.watchedStamp = now
      self.session.out.line("\(spec.file) changed:", .heading)
      self.tryProgram()
      self.showChecks()
      self.checkStep()
    }
    return .success(path)
  }

  func stopWatching() {
    if let watchTimer { session.loop.cancel(watchTimer) }
    watchTimer = nil
  }

  /// A file's modification time, size and inode (empty when it is not there).
  static func stamp(_ path: String) -> [Int] {
    var info = stat()
    guard stat(path, &info) == 0 else { return [] }
    return [info.st_mtim.tv_sec, info.st_mtim.tv_nsec, Int(info.st_size), Int(info.st_ino)]
  }

  /// Each check, failing ones with why, and the explanations of the program's report.
  func showChecks() {
    let out = session.out
    let failing = failures()
    if failing.isEmpty {
      out.line("Every check holds.", .success)
      return
    }
    // A reason shared by several checks (the program's file is not there) is said once.
    var said: Set<String> = []
    for (line, why) in failing {
      out.line("\(Glyphs.choose(ascii: false).notYet) \(line)", .error)
      session.note(said.contains(why) ? "(the same reason)" : why)
      said.insert(why)
    }
    for line in programReport?.explanations ?? [] {
      out.field("Why: " + line, hanging: 5)
    }
  }
}
