/// `goto N`: in a presentation, make line N the next one (the state before it rebuilt).
struct GotoCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "goto",
    synopsis: "goto N",
    summary: "presenting: make line N next, the kernel's state rebuilt by running lines 1 to N-1 again quietly",
    example: "goto 5",
    details: [
      "A call cannot be undone: goto closes every descriptor (with a reset, so that no port stays in TIME_WAIT) and runs the lines before N again without showing them. Lines that are not socket calls (export, wire, lessons) are not run again."
    ],
    group: .shell
  )

  var line: Int

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    // Any number is read; the presentation says which lines it has.
    line = try arguments.integer("line number", in: 1...1_000_000_000)
  }

  var arguments: [String] { ["\(line)"] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    guard let presentation = context.host.presentingNow else {
      throw CommandRefusal("goto moves a presentation (sockshell present FILE); in a lesson, next and prev move")
    }
    try presentation.go(to: line)
    return .done
  }
}

/// `where`: which line of the presentation is next (or which step of the lesson).
struct WhereCommand: PlainCommand {
  static let spec = CommandSpec(
    name: "where", synopsis: "where", summary: "presenting: which line is next; in a lesson: which step",
    group: .shell)

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    if let presentation = context.host.presentingNow {
      presentation.describe()
    } else if let run = context.host.lessonRun, !run.finished {
      context.session.note(
        "Lesson \(run.lesson.id), step \(run.stepIndex + 1) of \(run.lesson.steps.count): step shows it again.")
    } else {
      context.session.note("Not presenting and not in a lesson: sockshell present FILE presents a script.")
    }
    return .done
  }
}

extension GotoCommand { static var capabilities: Capabilities { [.changesShell] } }
extension WhereCommand { static var capabilities: Capabilities { [.changesShell] } }
