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
    subcommands: [Start.self, Run.self],
    defaultSubcommand: Start.self
  )
}

struct DisplayOptions: ParsableArguments {
  @Option(name: .long, help: "Colour: auto, always or never (NO_COLOR is honoured).")
  var color: String = "auto"

  @Option(name: .long, help: "In scripts, how long a blocking call may wait, in seconds (0: for ever).")
  var timeout: Int = 10

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

  func run() throws {
    throw ExitCode(SockShell.start(color: display.color, timeout: display.timeout))
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
      SockShell.run(file: file, keepGoing: keepGoing, step: step, color: display.color, timeout: display.timeout))
  }
}
