import SocketLayer

/// One parsed line: `[NAME =] COMMAND ARG... [= EXPECTED]`.
public struct ParsedLine: Sendable {
  public var name: String?
  public var command: any ShellCommand
  public var expected: Expected?
  /// The line's bytes as they were typed or read (exports quote the learner's own line).
  public var source: [UInt8] = []

  /// The line to show for what was typed: as typed when that is printable text; otherwise (a
  /// raw control byte, a tab, bytes that are not UTF-8, where escaping would change what the
  /// line means: bare words have no escapes) the line written back in the language, which reads
  /// as the same command.
  public var shownSource: String {
    guard !source.isEmpty else { return text }
    return Parser.shownAsTyped(source) ?? text
  }

  public var spec: CommandSpec { type(of: command).spec }

  /// The line written back in the command language; parsing it gives the same command.
  public var text: String {
    var words: [String] = []
    if let name { words += [name, "="] }
    words.append(spec.name)
    words += command.arguments
    if let expected { words += ["=", expected.description] }
    return words.joined(separator: " ")
  }
}

/// The one parser of the command language, used by the prompt, scripts, lessons and partners.
public enum Parser {
  /// A line as typed, when every byte of it shows as itself (printable text, no tab): else nil.
  static func shownAsTyped(_ bytes: some Collection<UInt8>) -> String? {
    ByteText.showsAsItself(bytes, keepQuotes: true) ? String(decoding: bytes, as: UTF8.self) : nil
  }

  /// Parses a line; nil for a blank line or a comment.
  public static func parse(_ line: String) throws(ParseError) -> ParsedLine? {
    try parse(bytes: Array(line.utf8))
  }

  /// Parses a line's raw bytes (a script line need not be valid UTF-8: its data keeps every byte).
  public static func parse(bytes: [UInt8]) throws(ParseError) -> ParsedLine? {
    let line = String(decoding: bytes, as: UTF8.self)
    var tokens = try Lexer.tokenize(bytes: bytes)
    guard !tokens.isEmpty else { return nil }
    let endColumn = line.count + 1

    var name: String?
    // `NAME = COMMAND ...` names a descriptor; but `ls = 0` is a command with an expected result.
    let namesSomething =
      tokens.count >= 2 && tokens[1].isEquals
      && (Registry.command(named: tokens[0].text) == nil
        || tokens.count > 2
          && Registry.command(named: tokens[2].text) != nil)
    if namesSomething {
      let word = tokens[0].text
      if let problem = DescriptorRef.nameProblem(tokens[0]) { throw ParseError(problem, column: tokens[0].column) }
      if Registry.command(named: word) != nil {
        throw ParseError("'\(word)' is a command: pick another name for the descriptor", column: tokens[0].column)
      }
      guard tokens.count > 2 else {
        throw ParseError("'\(word) =' needs a command after it, as in \(word) = socket tcp", column: endColumn)
      }
      name = word
      tokens.removeFirst(2)
    }

    var expected: Expected?
    if let equals = tokens.lastIndex(where: \.isEquals), equals > 0 {
      let rest = Array(tokens[(equals + 1)...])
      if rest.isEmpty {
        throw ParseError("= needs a result after it: \(Expected.help)", column: endColumn)
      }
      expected = try Expected(words: rest)
      tokens.removeSubrange(equals...)
    }

    let commandToken = tokens[0]
    let commandWord = commandToken.text
    guard commandToken.isBare, let type = Registry.command(named: commandWord) else {
      var message = "unknown command '\(commandToken.shown)'"
      if let suggestion = Registry.suggestion(for: commandWord) {
        message += ": did you mean '\(suggestion)'?"
      } else {
        message += ": type help for the list of commands"
      }
      throw ParseError(message, column: commandToken.column)
    }
    let spec = type.spec
    if name != nil && !spec.createsDescriptor {
      throw ParseError(
        "only socket and accept make a descriptor to name; \(spec.name) does not", column: commandToken.column)
    }
    if expected != nil && !spec.returnsValue {
      throw ParseError("\(spec.name) returns no value to check with =", column: commandToken.column)
    }
    var reader = ArgumentReader(tokens: Array(tokens.dropFirst()), usage: spec.usage, endColumn: endColumn)
    let command = try type.init(reading: &reader)
    try reader.finish()
    return ParsedLine(name: name, command: command, expected: expected, source: bytes)
  }
}
