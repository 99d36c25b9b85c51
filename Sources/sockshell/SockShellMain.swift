import ArgumentParser
import SockShellKit

#if canImport(Glibc)
  import Glibc
#endif

/// The command line: parse it and hand over to SockShellKit.
struct SockShellMain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sockshell",
    abstract: "An interactive socket-programming tutorial: real sockets, one system call a line.",
    subcommands: [Start.self, Run.self, Present.self, Lessons.self, LessonCommand.self, ListProcess.self],
    defaultSubcommand: Start.self
  )

  /// The shared options (`--color`, `--timeout`, `--lessons`, with their values) moved from before
  /// the subcommand's name to after it, where each subcommand reads them.
  static func optionsAfterSubcommand(_ arguments: [String]) -> [String] {
    let shared = ["--color", "--timeout", "--lessons"]
    let sharedFlags = ["--wire"]
    let names = Set(configuration.subcommands.map { $0._commandName })
    var leading: [String] = []
    var index = 0
    while index < arguments.count {
      let word = arguments[index]
      if sharedFlags.contains(word) {
        leading.append(word)
        index += 1
      } else if shared.contains(word), index + 1 < arguments.count {
        leading += [word, arguments[index + 1]]
        index += 2
      } else if shared.contains(where: { word.hasPrefix($0 + "=") }) {
        leading.append(word)
        index += 1
      } else {
        break
      }
    }
    guard !leading.isEmpty, index < arguments.count, names.contains(arguments[index]) else { return arguments }
    return [arguments[index]] + leading + Array(arguments[(index + 1)...])
  }
}

struct DisplayOptions: ParsableArguments {
  @Option(name: .long, help: "Colour: auto, always or never (NO_COLOR is honoured).")
  var color: String = "auto"

  @Option(name: .long, help: "In scripts, how long a blocking call may wait, in seconds (0: for ever).")
  var timeout: Int = 10

  @Option(
    name: .long, help: "The folder of lesson files (default: SOCKSHELL_LESSONS, the installed ones, or ./Lessons).")
  var lessons: String?

  @Flag(
    name: .long,
    help: "Show every packet of your sockets under the call that caused it (without root: in the sandbox).")
  var wire = false

  /// Read before parsing (Sandbox.enterIfAsked, while the process has one thread); listed here for --help.
  @Flag(
    name: .long,
    help:
      "Run in a private network namespace of your own (loopback, and mc0/mc1 linked to each other only), where the wire needs no root."
  )
  var sandbox = false

  func validate() throws {
    guard ["auto", "always", "never"].contains(color) else {
      throw ValidationError("--color takes auto, always or never")
    }
    guard timeout >= 0 else { throw ValidationError("--timeout takes a number of seconds, 0 or more") }
  }
}

/// `sockshell`: the interactive shell, or a script on standard input.
struct Start: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "shell",
    abstract: "Start the shell (the default). Reads a script when standard input is not a terminal.")

  @OptionGroup var display: DisplayOptions

  @Option(
    name: .long, parsing: .upToNextOption,
    help: ArgumentHelp("Join a class: the address and code the instructor's line shows.", valueName: "ADDR:PORT CODE"))
  var join: [String] = []

  @Option(name: .long, help: "Your name in the class (default: your user name).")
  var name: String?

  func validate() throws {
    guard join.isEmpty || join.count == 2 else {
      throw ValidationError("--join takes the class's address and its code: sockshell --join 192.168.1.10:7070 K7QX")
    }
  }

  func run() throws {
    throw ExitCode(
      SockShell.start(
        color: display.color, timeout: display.timeout, lessons: display.lessons, wire: display.wire,
        join: join.count == 2 ? (join[0], join[1], name) : nil))
  }
}

/// `sockshell run FILE`: run a script.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a script: stop at the first line that fails (exit code 1 with its line number).")

  @Argument(help: "The script file ('-' for standard input).")
  var file: String

  @Flag(name: .long, help: "Run every line, and exit 1 at the end if any failed.")
  var keepGoing = false

  @Flag(name: .long, help: "Wait for Enter before each command (for presenting).")
  var step = false

  @OptionGroup var display: DisplayOptions

  func run() throws {
    throw ExitCode(
      SockShell.run(
        file: file, keepGoing: keepGoing, step: step, color: display.color, timeout: display.timeout,
        lessons: display.lessons, wire: display.wire))
  }
}

/// `sockshell present FILE`: present a script to a room, line by line.
struct Present: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract:
      "Present a script line by line: its comments are the narration, each line waits at the prompt for Enter.")

  @Argument(help: "The script file.")
  var file: String

  @OptionGroup var display: DisplayOptions

  func run() throws {
    throw ExitCode(
      SockShell.present(
        file: file, color: display.color, timeout: display.timeout, lessons: display.lessons, wire: display.wire))
  }
}

/// `sockshell lessons [--json]`.
struct Lessons: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the lessons and your progress.")

  @Flag(name: .long, help: "Print the list and progress as JSON (for graders).")
  var json = false

  @OptionGroup var display: DisplayOptions

  func run() throws {
    throw ExitCode(SockShell.listLessons(json: json, lessons: display.lessons))
  }
}

/// `sockshell lesson [ID]`, `sockshell lesson test [FILE...]`.
struct LessonCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lesson",
    abstract: "Start a lesson (or resume where you left off); 'lesson test [FILE...]' proves lessons work.")

  @Argument(help: "A lesson id; or 'test' and lesson files (all lessons when none are given).")
  var words: [String] = []

  @OptionGroup var display: DisplayOptions

  func run() throws {
    if words.first == "test" {
      throw ExitCode(SockShell.testLessons(files: Array(words.dropFirst()), lessons: display.lessons))
    }
    guard words.count <= 1 else { throw ValidationError("give one lesson id (sockshell lessons lists them)") }
    throw ExitCode(
      SockShell.start(
        color: display.color, timeout: display.timeout, lessons: display.lessons, lesson: .some(words.first),
        wire: display.wire))
  }
}

/// `sockshell ls PID [--json] [--wide]`.
struct ListProcess: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ls",
    abstract: "List another process's sockets (your own program's), as ls PID does in the shell.")

  @Argument(help: "The process's number (ps or pgrep NAME gives it).")
  var pid: String

  @Flag(name: .long, help: "Print the sockets as JSON (numbers as numbers).")
  var json = false

  @Flag(name: .long, help: "Keep the table's columns whole on a narrow terminal.")
  var wide = false

  @OptionGroup var display: DisplayOptions

  func validate() throws {
    guard pid.allSatisfy(\.isASCII), pid.allSatisfy(\.isNumber), !pid.hasPrefix("0"), Int32(pid) != nil else {
      throw ValidationError("'\(pid)' is not a process number (ps or pgrep NAME gives one)")
    }
  }

  func run() throws {
    throw ExitCode(SockShell.listProcess(pid: Int32(pid) ?? 0, json: json, wide: wide, color: display.color))
  }
}
