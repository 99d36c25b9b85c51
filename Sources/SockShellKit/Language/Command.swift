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
  /// Makes the system call(s) and reports through the session. A refusal (an unknown
  /// descriptor, a bad address, an unreadable file) is thrown before any call; the session prints
  /// it once, and the line fails with its message.
  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome

  /// What the command does besides printing: the policy for lines from elsewhere reads these.
  static var capabilities: Capabilities { get }
  /// The system calls it makes (declared in its file as `Syscall` constants).
  static var syscalls: [Syscall] { get }
  /// What this line does (its type's capabilities, less what its arguments do not ask for:
  /// `send` reads a file only with `--file`).
  var effects: Capabilities { get }
  /// The addresses the line names (to bind, connect or send to), for the policy of lines from
  /// elsewhere.
  var namedAddresses: [AddressSpec] { get }
  /// Why this line may not come from elsewhere for what its arguments ask (beyond its effects
  /// and addresses: a multicast group joined on an interface that is not loopback), or nil.
  var refusalFromElsewhere: String? { get }
  /// The descriptor whose readiness to read the call waits for (accept, recv): the lesson's
  /// partner runs such a line only once it would not block.
  var waitsOn: DescriptorRef? { get }
  /// The C statements that replay this line in an exported program (`export c`).
  func exportC(_ writer: inout CExport) -> [String]
  /// The Python statements that replay it (`export python`).
  func exportPython(_ writer: inout PythonExport) -> [String]
  /// The same call made for the `count` bytes that a call cut short by Ctrl-C or the time limit
  /// got (a send of those bytes, a recv of that many), so that save and export reproduce it
  /// without waiting; nil when it cannot be (the line is then left out).
  func cutShort(to count: Int) -> (any ShellCommand)?
}

/// What a command may do, declared with it.
public struct Capabilities: OptionSet, Sendable {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }

  /// Makes a system call on a socket (export replays it).
  public static let syscall = Capabilities(rawValue: 1 << 0)
  /// May wait (accept, recv, connect, send to a full buffer, poll with a timeout).
  public static let blocks = Capabilities(rawValue: 1 << 1)
  /// Reads a file the line names (send --file).
  public static let readsFiles = Capabilities(rawValue: 1 << 2)
  /// Writes a file the line names (save, export).
  public static let writesFiles = Capabilities(rawValue: 1 << 3)
  /// Takes an address to bind, connect or send to.
  public static let namesAddress = Capabilities(rawValue: 1 << 4)
  /// Changes the shell rather than a socket (lessons, quit, history).
  public static let changesShell = Capabilities(rawValue: 1 << 5)
  /// Reads another process's sockets (ls PID, inspect PID:FD, tcp PID:FD, watch PID).
  public static let readsProcesses = Capabilities(rawValue: 1 << 6)
}

extension ShellCommand {
  public static var capabilities: Capabilities { [] }
  public static var syscalls: [Syscall] { [] }
  public var effects: Capabilities { Self.capabilities }
  public var namedAddresses: [AddressSpec] { [] }
  public var refusalFromElsewhere: String? { nil }
  public var waitsOn: DescriptorRef? { nil }
  func exportC(_ writer: inout CExport) -> [String] { ["  /* not a system call */"] }
  func exportPython(_ writer: inout PythonExport) -> [String] { [] }
  public func cutShort(to count: Int) -> (any ShellCommand)? { nil }
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

/// What a running command may use: the session (its descriptors, calls, addresses and output),
/// the host (history, lessons, the prompt) for the commands that change the shell, and the name
/// the line gives its result.
public struct CommandContext {
  let session: any CommandSession
  public let host: Host
  /// `srv` in `srv = socket tcp`.
  public let name: String?
}

/// A command was refused before any system call: what to tell the learner.
public struct CommandRefusal: Error, Sendable {
  public let message: String

  public init(_ message: String) { self.message = message }
  init(message: String) { self.message = message }
}
