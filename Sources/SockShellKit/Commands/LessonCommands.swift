import SocketLayer

/// `lessons [--json]`: the lessons, with what they require and the learner's progress.
struct LessonsCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "lessons",
    synopsis: "lessons [--json]",
    summary: "the lessons, with what each requires and how far you got",
    completion: [.words(["--json"])],
    group: .lessons
  )

  var json = false

  /// Says that no lessons were found, and where they are looked for.
  static let noLessons = CommandRefusal("no lessons were found (sockshell --lessons DIR, or SOCKSHELL_LESSONS)")

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    json = try arguments.flags(allowed: ["--json"]).contains("--json")
  }

  var arguments: [String] { json ? ["--json"] : [] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    guard let library = context.host.library else {
      throw LessonsCommand.noLessons
    }
    if json {
      let entries = library.lessons.map { lesson -> JSON in
        let entry = library.progress.lessons[lesson.id]
        return .object([
          ("id", .string(lesson.id)), ("title", .string(lesson.title)), ("steps", .integer(lesson.steps.count)),
          ("requires", .array(lesson.requires.map(JSON.string))),
          ("step", entry.map { .integer($0.step + 1) } ?? .null), ("done", .bool(entry?.done ?? false)),
          ("skipped", .array((entry?.skipped ?? []).sorted().map { .integer($0 + 1) })),
        ])
      }
      session.out.line(
        JSON.object([("lessons", .array(entries)), ("current", library.progress.current.map(JSON.string) ?? .null)])
          .text)
      return .done
    }
    for problem in library.problems { session.out.line(problem, .error, wrap: false) }
    if library.lessons.isEmpty { throw LessonsCommand.noLessons }
    // By part (basics, UDP and names...), in the order of each part's first lesson.
    var parts: [(name: String, lessons: [Lesson])] = []
    for lesson in library.lessons {
      if let index = parts.firstIndex(where: { $0.name == lesson.part }) {
        parts[index].lessons.append(lesson)
      } else {
        parts.append((lesson.part, [lesson]))
      }
    }
    var rows = [["#", "ID", "TITLE", "STEPS", "PROGRESS", "REQUIRES"]]
    var sections: [Int: String] = [:]
    for part in parts {
      if parts.count > 1 || !part.name.isEmpty {
        sections[rows.count] = part.name.isEmpty ? "Other lessons" : part.name
      }
      for lesson in part.lessons {
        let entry = library.progress.lessons[lesson.id]
        let progress =
          entry.map { entry in
            let skipped = entry.skipped.sorted().map { String($0 + 1) }.joined(separator: ",")
            return (entry.done ? "done" : "step \(entry.step + 1)") + (skipped.isEmpty ? "" : " (skipped \(skipped))")
          } ?? "-"
        rows.append([
          library.number(of: lesson).map(String.init) ?? "-", lesson.id, lesson.title, "\(lesson.steps.count)",
          progress,
          lesson.requires.isEmpty ? "-" : lesson.requires.joined(separator: ", "),
        ])
      }
    }
    // Too wide for the terminal: the list leaves out what each lesson requires (said below), so
    // that seventeen lessons fit a screen.
    let fits = Table.fit(Table.render(rows), in: session.out.width)
    session.out.table(fits ? rows : rows.map { Array($0.dropLast()) }, fit: .wrapLast, sections: sections)
    if !fits {
      session.note("A wider terminal shows what each lesson requires (so does lessons --json).")
    }
    session.note("Start one with: lesson ID or lesson NUMBER (lesson alone resumes where you left off).")
    return .done
  }
}

/// `lesson [ID|NUMBER|reset|quit]`.
struct LessonCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "lesson",
    synopsis: "lesson [ID|NUMBER|retry|reset|quit|watch [off]]",
    summary: "start or resume a lesson; lesson alone resumes where you left off",
    example: "lesson bind",
    details: [
      "lesson retry takes the current step afresh: every socket is closed, the earlier steps' are made again from their solutions (the partner's side too), on free ports.",
      "lesson reset forgets your progress in the lesson and starts it over; lesson quit leaves it (lesson resumes it).",
      "lesson watch, in a step that asks for your own program: tries it again each time you save its file (lesson watch off stops).",
    ],
    completion: [.lessons],
    group: .lessons
  )

  var word: String?
  /// `lesson watch off`.
  var off = false

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    word = arguments.isAtEnd ? nil : try arguments.word("ID")
    if word == "watch", !arguments.isAtEnd {
      let next = try arguments.word("off")
      guard next == "off" else { throw arguments.error("lesson watch takes off, or nothing") }
      off = true
    }
  }

  var arguments: [String] { (word.map { [Lexer.quote(Array($0.utf8))] } ?? []) + (off ? ["off"] : []) }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let host = context.host
    guard let library = host.library, !library.lessons.isEmpty else {
      for problem in host.library?.problems ?? [] where !problem.hasPrefix("warning: ") {
        session.out.line(problem, .error, wrap: false)
      }
      throw LessonsCommand.noLessons
    }
    switch word {
    case "watch"?:
      guard let run = host.lessonRun, !run.finished else {
        throw CommandRefusal("no lesson step is being taken: lesson watch tries a step's program when its file changes")
      }
      if off {
        guard run.watchTimer != nil else {
          session.note("lesson watch is not on.")
          return .done
        }
        run.stopWatching()
        session.note("No longer watching the program's file.")
        return .done
      }
      let path = try run.startWatching().get()
      session.note(
        "Watching \(path): each time it changes, your program is built and tried again (lesson watch off stops).")
      return .done
    case "quit"?:
      guard let run = host.lessonRun else {
        session.note("No lesson is running.")
        return .done
      }
      run.end()
      host.lessonRun = nil
      session.note("Left \(run.lesson.id); your progress is kept. lesson resumes it.")
      return .done
    case "retry"?:
      guard let run = host.lessonRun, !run.finished else {
        session.note("No lesson step is being taken: lesson ID starts one.")
        return .done
      }
      // A step made impossible (a lesson's socket closed, a port taken): closed, then built again.
      let step = run.stepIndex
      run.end()
      session.closeAllAndSay(" (lesson retry: the earlier steps' sockets are made again)")
      return try LessonCommand.start(run.lesson.id, step: step, context)
    case "reset"?:
      guard let run = host.lessonRun else {
        session.note("No lesson is running: lesson ID starts one.")
        return .done
      }
      library.progress.lessons[run.lesson.id] = nil
      library.progress.forgotten.insert(run.lesson.id)
      _ = library.save()
      return try LessonCommand.start(run.lesson.id, step: 0, context)
    case let word?:
      guard let id = library.lesson(named: word)?.id else {
        // A lesson file that was refused says why (a policy refusal, a syntax error).
        for problem in library.problems where !problem.hasPrefix("warning: ") {
          session.out.line(problem, .error, wrap: false)
        }
        throw CommandRefusal("no lesson '\(ByteText.sanitized(word))'; lessons lists them (give an ID or a number)")
      }
      return try LessonCommand.start(id, step: LessonCommand.resumeStep(library, id), context)
    case nil:
      // Resume: the current lesson (a done one too, when it is being taken again), else the
      // first not done, else the first.
      let notDone = library.lessons.first { library.progress.lessons[$0.id]?.done != true }?.id
      let current = library.progress.current.flatMap { library.lesson($0)?.id }.flatMap { id in
        library.progress.lessons[id]?.done == true && LessonCommand.resumeStep(library, id) == 0 ? nil : id
      }
      let id = current ?? notDone ?? library.lessons[0].id
      return try LessonCommand.start(id, step: LessonCommand.resumeStep(library, id), context)
    }
  }

  /// Where a lesson resumes: the step reached; a lesson finished starts again at its first
  /// step (a finished run saves step 0; older progress files saved its last step).
  static func resumeStep(_ library: LessonLibrary, _ id: String) -> Int {
    guard let entry = library.progress.lessons[id], let lesson = library.lesson(id) else { return 0 }
    return min(entry.step, lesson.steps.count - 1)
  }

  static func start(_ id: String, step: Int, _ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let host = context.host
    guard let lesson = host.library?.lesson(id) else { throw CommandRefusal("no lesson '\(id)'") }
    host.lessonRun?.end()
    // A lesson starts from nothing: sockets left from before would pass its first checks ("make a
    // TCP socket") before the learner did anything. Resuming in the middle keeps them.
    if step == 0 { session.closeAllAndSay(" (a lesson starts with no sockets)") }
    guard let run = host.startRun(lesson, step: step) else { throw CommandRefusal("no session to take the lesson in") }
    session.out.line(lesson.title, .heading)
    LessonRun.print(run.lesson.introduction, to: session.out)
    for change in run.portChanges { session.note("The lesson's port \(change).") }
    // What it builds on, when that is not done yet: said, not enforced (a learner may know it).
    if step == 0, let library = host.library {
      let notDone = lesson.requires.filter { library.progress.lessons[$0]?.done != true }
      if !notDone.isEmpty {
        let named = notDone.map { id in
          library.lesson(id).flatMap { library.number(of: $0) }.map { "\(id) (lesson \($0))" } ?? id
        }
        session.note(
          "This lesson builds on \(named.joined(separator: ", ")), not done yet: take it first if this one goes too fast."
        )
      }
    }
    // Resumed in a shell with none of the sockets the earlier steps made: made again, and the
    // partner's side with them, so that this step can be finished.
    if step > 0 && session.openDescriptors.isEmpty { run.replay(upTo: step) }
    run.saveProgress(done: host.library?.progress.lessons[id]?.done == true)
    run.begin()
    return .done
  }
}

/// The commands inside a lesson: step, check, hint, solution, next, prev.
struct LessonStepCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "step",
    synopsis: "step",
    summary: "show the current lesson step again",
    group: .lessons
  )

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let run = try LessonStepCommand.current(context)
    run.show()
    return .done
  }

  static func current(_ context: CommandContext) throws(CommandRefusal) -> LessonRun {
    if let run = context.host.lessonRun { return run }
    throw CommandRefusal("no lesson is running: lesson starts one (lessons lists them)")
  }
}

struct LessonCheckCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "check",
    synopsis: "check",
    summary: "run the step's checks against your sockets (or build and try your program) and say what is missing",
    group: .lessons
  )

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let run = try LessonStepCommand.current(context)
    // A step that asks for a program tries it again: the learner may have changed the file.
    run.tryProgram()
    run.showChecks()
    return .done
  }
}

struct LessonHintCommand: PlainCommand {
  static let spec = CommandSpec(name: "hint", synopsis: "hint", summary: "the next hint for this step", group: .lessons)

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let run = try LessonStepCommand.current(context)
    let hints = run.step.hints
    guard !hints.isEmpty else {
      context.session.note("This step has no hint: try check, or solution.")
      return .done
    }
    let again = run.hintIndex >= hints.count
    let index = run.takeHint()
    context.session.out.line(
      "Hint \(index + 1) of \(hints.count)" + (again ? " again (there are no more):" : ":"), .heading)
    // Lesson Markdown, shown as the step's text is: reflowed, code spans styled.
    LessonRun.print(
      hints[index].split(separator: "\n", omittingEmptySubsequences: false).map(String.init), to: context.session.out)
    return .done
  }
}

struct LessonSolutionCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "solution", synopsis: "solution", summary: "the commands that solve this step (asks first)", group: .lessons)

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let run = try LessonStepCommand.current(context)
    if !run.confirmSolution() {
      context.session.note("Sure? Trying first teaches more (hint gives a clue). Type solution again to see it.")
      return .done
    }
    if let program = run.current.program {
      // The reference program, whole, as it would be written to the file (its #include lines
      // too): lines as they are, never reflowed.
      context.session.out.line("Solution: a program that passes, as \(program.file) would hold it:", .heading)
      // As the file holds it, from the first column (Python's indentation is its syntax): each
      // line escaped as every line is, never reflowed.
      let lines = run.current.programSolution.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      for line in LessonRun.trimmed(lines) { context.session.out.line(line, .plain, wrap: false) }
      return .done
    }
    context.session.out.line("Solution:", .heading)
    for line in run.step.solution { context.session.out.line("  " + line.text) }
    return .done
  }
}

struct LessonNextCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "next", synopsis: "next",
    summary: "skip to the next step; after the last, start the next lesson (presenting: skip the line)",
    group: .lessons)

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    if let presentation = context.host.presentingNow {
      presentation.skip()
      return .done
    }
    // In a class, out of a lesson: the instructor's command waiting at the prompt.
    if context.host.lessonRun.map({ $0.finished }) ?? true, let client = context.host.classClient {
      ClassCommand.skip(client, context.session)
      return .done
    }
    let run = try LessonStepCommand.current(context)
    // After the last step (passed or skipped now), the next lesson, as help says.
    if !run.finished && run.move(by: 1) { return .done }
    guard let next = run.nextLesson else {
      context.session.note("You have done every lesson: lessons lists them, lesson ID takes one again.")
      return .done
    }
    return try LessonCommand.start(next.id, step: 0, context)
  }
}

struct LessonPrevCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "prev", aliases: ["back"], synopsis: "prev (or back)",
    summary: "go back to the previous step (presenting: to the line before, the state rebuilt as goto does)",
    group: .lessons)

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    if let presentation = context.host.presentingNow {
      guard presentation.cursor > 0 else {
        context.session.note("This is the first line: nothing to go back to.")
        return .done
      }
      try presentation.go(to: presentation.cursor)
      return .done
    }
    let run = try LessonStepCommand.current(context)
    // The step before is taken afresh, as lesson retry takes one: its partner block would
    // otherwise run again on what the partner still holds, and the later steps' sockets would
    // hold its ports.
    if run.finished {
      // After the last step passed: that step is shown again, its sockets as they are.
      run.move(by: -1)
      return .done
    }
    let target = run.stepIndex - 1
    guard target >= 0 else {
      context.session.note("This is the first step.")
      return .done
    }
    run.end()
    context.session.closeAllAndSay(
      " (prev: step \(target + 1) is taken afresh, with the sockets of the steps before it)")
    return try LessonCommand.start(run.lesson.id, step: target, context)
  }
}

// The lesson commands change the shell (the lesson being taken, its step, the progress file).
extension LessonsCommand { static var capabilities: Capabilities { [.changesShell] } }
extension LessonCommand { static var capabilities: Capabilities { [.changesShell, .writesFiles] } }
extension LessonStepCommand { static var capabilities: Capabilities { [.changesShell] } }
extension LessonCheckCommand { static var capabilities: Capabilities { [.changesShell] } }
extension LessonHintCommand { static var capabilities: Capabilities { [.changesShell] } }
extension LessonSolutionCommand { static var capabilities: Capabilities { [.changesShell] } }
extension LessonNextCommand { static var capabilities: Capabilities { [.changesShell, .writesFiles] } }
extension LessonPrevCommand { static var capabilities: Capabilities { [.changesShell, .writesFiles] } }
