#if canImport(Glibc)
  import Glibc
#endif

/// Entry points for the executable.
public enum SockShell {
  /// `sockshell`: the line editor at a terminal, otherwise a script from standard input.
  public static func start(
    color: String, timeout: Int, lessons: String? = nil, lesson: String?? = nil, wire: Bool = false,
    join: (address: String, code: String, name: String?)? = nil
  ) -> Int32 {
    Signals.install()
    let interactive = isatty(0) == 1
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: color))
    let session = makeSession(out: out, interactive: interactive, timeout: timeout, lessons: lessons, wire: wire)
    let terminal = interactive && isatty(1) == 1
    if let join {
      // sockshell --join ADDR CODE: a student's shell in the instructor's class.
      do throws(CommandRefusal) {
        try ClassCommand.join(address: join.address, code: join.code, name: join.name, host: session.host)
      } catch {
        out.flush()
        Runner.printError("sockshell: \(error.message)")
        return 2
      }
    }
    if let lesson {
      // sockshell lesson [ID]: start it (or resume) before the first prompt.
      if terminal { out.line(Runner.banner, .note) }
      let started = session.execute(lesson.map { "lesson \(Lexer.quote(Array($0.utf8)))" } ?? "lesson")
      if !started.ok {
        out.flush()
        return 1
      }
    }
    if terminal {
      return Runner.interactive(session: session, showBanner: lesson == nil)
    }
    return Runner.script(LineReader(), session: session, options: .init(sourceName: "standard input"))
  }

  /// A session with the lessons (and the learner's progress) at hand. What happened to the
  /// progress file (set aside, read-only) is said at once, whatever runs first.
  static func makeSession(out: Output, interactive: Bool, timeout: Int, lessons: String?, wire: Bool = false)
    -> Session
  {
    let session = Session(
      output: out, options: Session.Options(interactive: interactive, waitLimit: timeout == 0 ? nil : timeout))
    let library = LessonLibrary(
      directory: lessons, progressPath: LineEditor.stateDirectory().map { $0 + "/progress.json" })
    session.host.library = library
    for warning in library.progressProblems { out.line(warning, .error, wrap: false) }
    // --wire: on from the start; where capture is impossible, said once, and the shell goes on.
    if wire, case .failure(let why) = session.startWire() { out.line("warning: " + why.message, .error) }
    return session
  }

  /// `sockshell present FILE`: the script line by line at the prompt (a terminal is needed).
  public static func present(file: String, color: String, timeout: Int, lessons: String? = nil, wire: Bool = false)
    -> Int32
  {
    Signals.install()
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: color))
    let session = makeSession(out: out, interactive: true, timeout: timeout, lessons: lessons, wire: wire)
    let loaded = Presentation.load(path: file, session: session)
    if case .success = loaded, !(isatty(0) == 1 && isatty(1) == 1) {
      Runner.printError("sockshell: present needs a terminal (sockshell run FILE runs a script without one)")
      return 2
    }
    switch loaded {
    case .failure(let why):
      Runner.printError("sockshell: \(why.message)")
      return 2
    case .success(let presentation):
      session.host.presentation = presentation
      if presentation.lines.isEmpty { break }
      presentation.say(
        "Presenting \(file): \(counted(presentation.lines.count, "line")). Enter runs the line shown at the prompt; edit it first, or type any other command (the line stays next). next skips it, back and goto N go back, where says where you are, quit ends."
      )
    }
    return Runner.interactive(session: session, showBanner: false)
  }

  /// `sockshell run FILE`.
  public static func run(
    file: String, keepGoing: Bool, step: Bool, color: String, timeout: Int, lessons: String? = nil, wire: Bool = false
  ) -> Int32 {
    Signals.install()
    let reader: LineReader
    if file == "-" {
      reader = LineReader()
    } else {
      guard let opened = LineReader(path: file) else {
        Runner.printError("sockshell: cannot open \(file): \(String(cString: strerror(errno)))")
        return 2
      }
      reader = opened
    }
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: color))
    let session = makeSession(out: out, interactive: false, timeout: timeout, lessons: lessons, wire: wire)
    return Runner.script(
      reader, session: session,
      options: .init(keepGoing: keepGoing, step: step, sourceName: file == "-" ? "standard input" : file))
  }
}

extension SockShell {
  /// `sockshell lessons [--json]`.
  public static func listLessons(json: Bool, lessons: String?) -> Int32 {
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: nil))
    let session = Session(output: out)
    session.host.library = LessonLibrary(
      directory: lessons, progressPath: LineEditor.stateDirectory().map { $0 + "/progress.json" })
    let result = session.execute(json ? "lessons --json" : "lessons")
    out.flush()
    return result.ok ? 0 : 1
  }

  /// `sockshell ls PID [--json] [--wide]`: another process's sockets, from the command line.
  public static func listProcess(pid: Int32, json: Bool, wide: Bool, color: String) -> Int32 {
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: color))
    let session = Session(output: out)
    let result = session.execute("ls" + (json ? " --json" : "") + (wide ? " --wide" : "") + " \(pid)")
    out.flush()
    return result.ok ? 0 : 1
  }

  /// `sockshell lesson test [FILE...]`: every lesson, or the files given.
  public static func testLessons(files: [String], lessons: String?) -> Int32 {
    Signals.install()
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: nil))
    var all: [Lesson] = []
    var ok = true
    // Lessons that loaded with a problem of the folder (what they require, a taken id) do not pass.
    var flawed: Set<String> = []
    // Files that did not load count as lessons that did not pass.
    var unloaded: [String] = []
    if files.isEmpty {
      let library = LessonLibrary(directory: lessons, progressPath: nil)
      for problem in library.problems {
        out.line(problem)  // FILE:LINE: message, whole on one line
        ok = false
        if let lesson = library.lessons.first(where: { problem.hasPrefix($0.path + ":") }) {
          flawed.insert(lesson.path)
        }
      }
      unloaded = library.unloaded
      if library.lessons.isEmpty {
        out.line("no lessons found in \(library.directory ?? "any lessons folder")", .error)
        ok = false
      }
      all = library.lessons
    } else {
      for file in files {
        do {
          all.append(try LessonLoader.load(path: file))
        } catch {
          for problem in error.problems { out.line(problem) }
          ok = false
          unloaded.append(file)
        }
      }
      // What they require is found among them and the lessons folder's (as `lessons` finds it).
      let checked = LessonLibrary.checkTogether(
        all, alsoKnown: Set(LessonLibrary(directory: lessons, progressPath: nil).lessons.map(\.id)))
      for problem in checked.problems {
        out.line(problem)
        ok = false
        if let lesson = checked.kept.first(where: { problem.hasPrefix($0.path + ":") }) { flawed.insert(lesson.path) }
      }
      all = checked.kept
      unloaded += checked.leftOut
    }
    var passed = 0
    let interrupt = InterruptWatch()
    for lesson in all {
      if LessonTester.test(lesson, out: out, interrupt: interrupt) && !flawed.contains(lesson.path) {
        passed += 1
      } else {
        ok = false
      }
      out.flush()
      if interrupt.pressed {
        let by = Signals.terminationSignal.map { Signals.name(of: $0) } ?? "Ctrl-C"
        out.line("interrupted by \(by): the lessons after \(lesson.id) were not tested", .error)
        break
      }
    }
    let total = all.count + unloaded.count
    out.line("\(passed) of \(total) lessons passed")
    out.flush()
    return ok ? 0 : 1
  }
}
