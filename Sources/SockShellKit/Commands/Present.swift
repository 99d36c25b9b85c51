/// `goto N`: in a presentation, make line N the next one (the state before it rebuilt).
struct GotoCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "goto",
    synopsis: "goto N",
    summary: "presenting: make line N next, the kernel's state rebuilt by running lines 1 to N-1 again quietly",
    example: "goto 5",
    details: [
      "A call cannot be undone: goto closes every descriptor (TCP with a reset, so that it leaves no TIME_WAIT of its own; the Unix socket files they were bound to removed) and runs the lines before N again without showing them, as they ran (an edited line as edited, a skipped one not at all). Lines that write files or change the shell are not run again; wire and name are. A connection closed earlier in the talk may still hold a fixed port in TIME_WAIT: its bind then fails, and the rebuild says so."
    ],
    group: .shell
  )

  var line: Int

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    // Any number is read; the presentation says which lines it has.
    let token = try arguments.next("N (a line of the script: where says which is next)")
    guard let number = Int(token.text), number >= 1 else {
      throw arguments.error(
        "'\(token.shown)' is not a line of the script: goto takes a number from 1 (where says which is next)", at: token
      )
    }
    line = number
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
