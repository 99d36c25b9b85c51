#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `sockshell lesson test`: proves each step of a lesson works. For each step, in a fresh session
/// with the partner running: the earlier steps' solutions are replayed, the step's checks must FAIL,
/// then its solution runs and they must PASS (the partner gets a few seconds). Then every example
/// that claims a result (`= EXPECTED`, `# expect: CHECK`) runs in a session of its own, and each
/// claim must hold: what a lesson says the kernel does, the kernel is seen to do.
public enum LessonTester {
  /// A lesson that checks the wire is tested with it on: its packet checks are proved like the
  /// others. Where this machine cannot capture, that is said (once) and counts as a failure: a
  /// claim that cannot be proved here is not proved.
  static func wire(_ session: Session, for lesson: Lesson, out: Output, say: Bool) -> Bool {
    guard lesson.checksTheWire else { return true }
    if case .failure(let why) = session.startWire() {
      if say { out.line("FAIL \(lesson.path):1: its packet checks cannot be proved here: \(why.message)") }
      return false
    }
    return true
  }

  /// How long a step's partner gets, after its solution, to make the step pass.
  static let stepLimit: Double = 5
  /// How long one lesson file may take in all.
  static let fileLimit: Double = 20

  /// Tests one lesson; prints a line per step; returns whether every step held. A Ctrl-C
  /// (`interrupt`) stops it at once.
  public static func test(_ lesson: Lesson, out: Output, interrupt: InterruptWatch = InterruptWatch()) -> Bool {
    var ok = true
    let started = EventLoop.now()
    for index in lesson.steps.indices {
      if interrupt.pressed { return false }
      if EventLoop.now() - started > fileLimit {
        out.line(
          "FAIL \(lesson.path):\(lesson.steps[index].line): lesson test gave up after \(Int(fileLimit)) s on this lesson: steps \(index + 1) to \(lesson.steps.count) were not tested"
        )
        return false
      }
      let session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 3))
      let run = LessonRun(lesson: lesson, step: 0, session: session, verbose: false)
      // The solutions run unattended: held to the policy for lines from elsewhere as they resolve.
      session.addressPolicy = run.unattendedPolicy
      session.host.lessonRun = run
      if !wire(session, for: lesson, out: out, say: index == 0) { ok = false }
      if !run.problems.isEmpty {
        // A line that does not parse with this run's ports (said once, for the first step).
        if index == 0 { for problem in run.problems { out.line("FAIL \(problem)") } }
        ok = false
      }
      run.begin()
      // Replay the earlier steps as a learner would have solved them.
      var replayed = true
      while run.stepIndex < index && !run.finished {
        let before = run.stepIndex
        solve(run, session)
        settle(run, until: { run.stepIndex != before }, interrupt: interrupt)
        if run.stepIndex == before {
          replayed = false
          break
        }
      }
      let step = lesson.steps[index]
      guard replayed else {
        out.line(
          "FAIL \(lesson.path):\(step.line): step \(index + 1) cannot be reached: an earlier solution does not pass")
        ok = false
        session.closeAllBounded(seconds: 3)
        continue
      }
      // A program step: tried first with no program written (its checks must fail then).
      if run.current.program != nil, let empty = LinePolicy.makeFolder() {
        run.tryProgram(in: empty)
        LinePolicy.removeFolder(empty)
      }
      let before = run.failures()
      if before.isEmpty {
        out.line(
          "FAIL \(lesson.path):\(step.line): step \(index + 1) '\(step.title)' passes before its solution runs")
        ok = false
      }
      // A solution line may fail on purpose (an error is the lesson); the checks decide.
      let failedLines = solve(run, session, until: started + fileLimit)
      settle(run, until: { run.stepIndex != index || run.finished }, interrupt: interrupt)
      if run.stepIndex == index && !run.finished {
        out.line(
          "FAIL \(lesson.path):\(step.line): step \(index + 1) '\(step.title)' did not pass within \(Int(stepLimit)) s of its solution"
        )
        // What went wrong on the way (a line may fail on purpose: shown only when the step fails).
        for failure in failedLines { out.line("FAIL \(lesson.path):\(step.line): step \(index + 1): \(failure)") }
        for (line, why) in run.failures() {
          out.line("FAIL \(lesson.path):\(step.line): step \(index + 1) '\(step.title)': \(line): \(why)")
        }
        ok = false
      } else if !before.isEmpty {
        out.line("ok   \(lesson.id) step \(index + 1): \(step.title)")
      }
      session.closeAllBounded(seconds: 3)
    }
    for index in lesson.steps.indices where !lesson.steps[index].examples.isEmpty {
      if interrupt.pressed { return false }
      if !testExamples(lesson, step: index, out: out) { ok = false }
    }
    return ok
  }

  /// Runs the current step's solution: its lines, or for a program step the reference program,
  /// written in a folder of its own and tried as a learner's would be.
  /// Runs the current step's solution; the lines that failed, with why (`FILE:LINE: ...`).
  @discardableResult
  static func solve(_ run: LessonRun, _ session: Session, until deadline: Double = .infinity) -> [String] {
    if let spec = run.current.program {
      guard let folder = LinePolicy.makeFolder() else { return [] }
      defer { LinePolicy.removeFolder(folder) }
      _ = FileWriter.writeAtomically(Array(run.current.programSolution.utf8), to: folder + "/" + spec.file, mode: 0o600)
      run.tryProgram(in: folder)
      run.tick()
      return []
    }
    var failed: [String] = []
    for line in run.current.solution where EventLoop.now() <= deadline {
      let result = session.executeBounded(line, seconds: 3)
      if !result.ok {
        failed.append("solution line '\(line.shownSource)' failed: \(result.failure ?? "it did not succeed")")
      }
      run.tick()
    }
    return failed
  }

  /// Runs a step's claiming examples, each block in a fresh session with fresh ports; prints a
  /// FAIL line for each claim the kernel does not bear out.
  static func testExamples(_ lesson: Lesson, step index: Int, out: Output) -> Bool {
    var ok = true
    let step = lesson.steps[index]
    for blockIndex in step.examples.indices {
      let session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 3))
      let run = LessonRun(lesson: lesson, step: index, session: session, verbose: false)
      session.addressPolicy = run.unattendedPolicy
      session.host.lessonRun = run
      defer { session.closeAllBounded(seconds: 3) }
      _ = wire(session, for: lesson, out: out, say: false)
      guard blockIndex < run.runnable[index].examples.count else { continue }
      var claims = 0
      for line in run.runnable[index].examples[blockIndex] {
        switch line {
        case .command(let parsed, let source):
          _ = session.out.takeCaptured()
          let result = session.executeBounded(parsed, seconds: 3)
          guard parsed.expected != nil else { continue }
          claims += 1
          if !result.ok {
            out.line(
              "FAIL \(lesson.path):\(source.line): step \(index + 1) example: \(source.text): \(result.failure ?? "does not hold")"
            )
            ok = false
          }
        case .expect(let check, let source):
          claims += 1
          let (holds, why) = check.evaluate(
            CheckContext(session: session, stepStart: 0, partner: nil, partnerStart: 0, wireStart: 0))
          if !holds {
            out.line("FAIL \(lesson.path):\(source.line): step \(index + 1) example: \(source.text): \(why)")
            ok = false
          }
        }
      }
      if ok {
        out.line("ok   \(lesson.id) step \(index + 1) example \(blockIndex + 1): \(counted(claims, "claim")) held")
      }
    }
    return ok
  }

  /// Lets the partner work for up to `stepLimit` seconds until `done`: a turn every 10 ms, waiting in the
  /// event loop between turns (its other sources are served meanwhile).
  static func settle(_ run: LessonRun, until done: () -> Bool, interrupt: InterruptWatch) {
    let deadline = EventLoop.now() + stepLimit
    while !done() && EventLoop.now() < deadline && !interrupt.pressed {
      run.tick()
      if done() { return }
      _ = run.session.loop.wait(for: nil, deadline: min(deadline, EventLoop.now() + 0.01), interrupt: interrupt)
    }
  }
}
