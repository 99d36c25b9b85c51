/// What Tab completes at an argument's place.
public enum Completion: Sendable, Equatable {
  case descriptor
  case address
  case data
  case words([String])
  case option
  case optionValue
  case topic
  case errno
  case lessons
  case nothing
}

/// Everything the shell knows about a command besides its code: how it is written, its help and
/// how its arguments complete. Each command declares its own, next to its code.
public struct CommandSpec: Sendable {
  public var name: String
  public var aliases: [String] = []
  /// `bind FD ADDR`
  public var synopsis: String
  /// One line: what it does.
  public var summary: String
  /// The C prototype, for system calls.
  public var prototype: String? = nil
  public var example: String? = nil
  /// The manual page to read: `bind(2)`.
  public var manPage: String? = nil
  /// More lines of help.
  public var details: [String] = []
  /// What completes at each argument; the last one repeats when `repeatsLast`.
  public var completion: [Completion] = []
  public var repeatsLast = false
  /// May be written `NAME = command ...`: it creates a descriptor.
  public var createsDescriptor = false
  /// A system call with a return value that `= EXPECTED` can check.
  public var returnsValue = false
  /// Shown in the command list of `help` under this heading.
  public var group: Group = .sockets

  public enum Group: String, Sendable, CaseIterable {
    case sockets = "Sockets"
    case data = "Data"
    case options = "Options and state"
    case lessons = "Lessons"
    case shell = "Shell"
  }

  /// The usage line shown with argument errors.
  public var usage: String { "usage: \(synopsis)" }
}

/// A command of the language: a value made by parsing, run separately, rendered separately.
public protocol ShellCommand: Sendable {
  static var spec: CommandSpec { get }
  /// Reads the arguments (after the command's name).
  init(reading arguments: inout ArgumentReader) throws(ParseError)
  /// The arguments written back in the command language (for history, `save` and round trips).
  var arguments: [String] { get }
  /// Makes the system call(s) and reports through the session.
  func run(_ context: CommandContext) -> CommandOutcome
}

/// How a command ended.
public enum CommandOutcome: Equatable, Sendable {
  /// A system call returned this value.
  case returned(Int)
  /// A system call failed with this errno.
  case failed(Errno)
  /// Done, with no value to compare (ls, help).
  case done
  /// Refused before any system call (unknown descriptor, unreadable file): the line fails.
  case refused(String)
}

import SocketLayer

/// What a running command may use: the session, and the name the line gives its result.
public struct CommandContext {
  public let session: Session
  /// `srv` in `srv = socket tcp`.
  public let name: String?
}
