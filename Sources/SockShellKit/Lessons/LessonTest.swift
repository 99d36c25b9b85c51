#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `sockshell lesson test`: proves each step of a lesson works. For each step, in a fresh session
/// with the partner running: the earlier steps' solutions are replayed, the step's checks must FAIL,
/// then its solution runs and they must PASS (the partner gets a few seconds).
public enum LessonTester {
  /// Tests one lesson; prints a line per step; returns whether every step held.
  public static func test(_ lesson: Lesson, out: Output) -> Bool {
    var ok = true
    for index in lesson.steps.indices {
      let session = Session(output: .capture(), options: .init(interactive: false, waitLimit: 3))
      let run = LessonRun(lesson: lesson, step: 0, session: session, verbose: false)
      session.host.lessonRun = run
      run.begin()
      // Replay the earlier steps as a learner would have solved them.
      var replayed = true
      while run.stepIndex < index && !run.finished {
        let before = run.stepIndex
        for line in run.current.solution {
          session.execute(line)
          run.tick()
        }
        settle(run, until: { run.stepIndex != before })
        if run.stepIndex == before {
          replayed = false
          break
        }
      }
      let step = lesson.steps[index]
      guard replayed else {
        out.line(
          "FAIL \(lesson.path):\(step.line): step \(index + 1) cannot be reached: an earlier solution does not pass",
          .error)
        ok = false
        session.closeAll()
        continue
      }
      let before = run.failures()
      if before.isEmpty {
        out.line(
          "FAIL \(lesson.path):\(step.line): step \(index + 1) '\(step.title)' passes before its solution runs")
        ok = false
      }
      // A solution line may fail on purpose (an error is the lesson); the checks decide.
      for line in run.current.solution {
        session.execute(line)
        run.tick()
      }
      settle(run, until: { run.stepIndex != index || run.finished })
      if run.stepIndex == index && !run.finished {
        for (line, why) in run.failures() {
          out.line("FAIL \(lesson.path):\(step.line): step \(index + 1) '\(step.title)': \(line): \(why)")
        }
        ok = false
      } else if !before.isEmpty {
        out.line("ok   \(lesson.id) step \(index + 1): \(step.title)")
      }
      session.closeAll()
    }
    return ok
  }

  /// Lets the partner work for up to 5 seconds until `done`: a turn every 10 ms, waiting in the
  /// event loop between turns (its other sources are served meanwhile).
  static func settle(_ run: LessonRun, until done: () -> Bool) {
    let deadline = EventLoop.now() + 5
    while !done() && EventLoop.now() < deadline {
      run.tick()
      if done() { return }
      _ = run.session.loop.wait(for: nil, deadline: min(deadline, EventLoop.now() + 0.01))
    }
  }
}
