import SocketLayer

/// A descriptor as typed: its number (`3`) or the name it was given (`srv`).
public enum DescriptorRef: Hashable, Sendable, CustomStringConvertible {
  case number(Int32)
  case name(String)

  public var description: String {
    switch self {
    case .number(let fd): "\(fd)"
    case .name(let name): name
    }
  }

  /// The longest name: a name is for reading in a table.
  public static let maximumNameLength = 32

  /// Names start with a letter or `_` and go on with letters, digits, `_` or `-`, at most 32.
  /// Why a word cannot name a descriptor (nil: it can), in words for the learner.
  static func nameProblem(_ token: Token) -> String? {
    let text = token.text
    guard !token.isBare || !isValidName(text) else { return nil }
    let why: String
    if !token.isBare {
      why = "a name is a bare word, not quoted"
    } else if text.utf8.count > maximumNameLength {
      why = "a name has at most \(maximumNameLength) characters (this has \(text.count))"
    } else if let first = text.unicodeScalars.first, !(first.isASCIILetter || first == "_") {
      why = "a name starts with a letter or _"
    } else {
      why = "a name has only letters, digits, _ and -"
    }
    return "'\(token.shown)' cannot name a descriptor: \(why)"
  }

  public static func isValidName(_ text: String) -> Bool {
    guard text.utf8.count <= maximumNameLength else { return false }
    guard let first = text.unicodeScalars.first, first.isASCIILetter || first == "_" else { return false }
    return text.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == "-" }
  }

  init?(word: String) {
    if let number = Int32(word), number >= 0 {
      self = .number(number)
    } else if DescriptorRef.isValidName(word) {
      self = .name(word)
    } else {
      return nil
    }
  }
}

/// What inspect and tcp look at: a descriptor of this shell, or one of another process's
/// (`PID:FD`, read without stopping it).
public enum SocketTarget: Hashable, Sendable, CustomStringConvertible {
  case own(DescriptorRef)
  case process(pid: Int32, fd: Int32)

  public var description: String {
    switch self {
    case .own(let ref): ref.description
    case .process(let pid, let fd): "\(pid):\(fd)"
    }
  }
}

extension Unicode.Scalar {
  var isASCIILetter: Bool { (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) }
  var isASCIIDigit: Bool { (0x30...0x39).contains(value) }
}

/// An address as typed, resolved against the socket when the command runs.
public enum AddressSpec: Hashable, Sendable, CustomStringConvertible {
  /// A host (numeric or a name to resolve) and a port: `127.0.0.1:8080`, `[::1]:80`, `localhost:8080`.
  case host(String, port: UInt16)
  /// Any address of the socket's family: `*:8080`, `:8080`.
  case any(port: UInt16)
  /// A Unix socket path: `/tmp/s.sock`, `./s.sock`, `unix:NAME`.
  case unixPath(String)
  /// A Linux abstract Unix name: `@name`.
  case abstract(String)
  /// The address a descriptor of this shell is bound to.
  case descriptor(DescriptorRef)
  /// `{listening}` in a lesson's partner lines: the learner's listener its `wait listening` found.
  case partnerListening

  public var description: String {
    switch self {
    case .host(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    case .any(let port): "*:\(port)"
    case .unixPath(let path):
      path.hasPrefix("/") || path.hasPrefix("./") || path.hasPrefix("../") ? path : "unix:\(path)"
    case .abstract(let name): "@\(name)"
    case .descriptor(let ref): ref.description
    case .partnerListening: "{listening}"
    }
  }

  /// The address as one word of the language (quoted when it holds blanks, quotes or `#`).
  public var word: String { Lexer.quote(Array(description.utf8)) }

  static let help =
    "write an address as 127.0.0.1:8080, [::1]:8080, *:8080, localhost:8080, /path/to.sock, unix:NAME, @name, or a descriptor of this shell"

  init(word: String, column: Int) throws(ParseError) {
    func port(_ text: Substring) throws(ParseError) -> UInt16 {
      guard !text.isEmpty, text.allSatisfy(\.isASCIIDigitCharacter), let value = UInt16(text) else {
        throw ParseError(
          "'\(text)' is not a port: a port is a number from 0 to 65535 (0: let the kernel pick)", column: column)
      }
      return value
    }
    if word.hasPrefix("[") {
      guard let close = word.firstIndex(of: "]") else {
        throw ParseError("an IPv6 address in brackets needs its ]: [::1]:8080", column: column)
      }
      let host = String(word[word.index(after: word.startIndex)..<close])
      let rest = word[word.index(after: close)...]
      guard rest.hasPrefix(":") else {
        throw ParseError("add the port after the brackets: [\(host)]:8080", column: column)
      }
      let value = try port(rest.dropFirst())
      self = host.isEmpty || host == "*" ? .any(port: value) : .host(host, port: value)
      return
    }
    if word == "{listening}" {
      self = .partnerListening
      return
    }
    if word.hasPrefix("/") || word.hasPrefix("./") || word.hasPrefix("../") {
      self = .unixPath(word)
      return
    }
    if word.hasPrefix("unix:") {
      let path = String(word.dropFirst(5))
      guard !path.isEmpty else { throw ParseError("unix: needs a path: unix:demo.sock", column: column) }
      self = .unixPath(path)
      return
    }
    if word.hasPrefix("@") {
      self = .abstract(String(word.dropFirst()))
      return
    }
    if let colon = word.lastIndex(of: ":") {
      let host = String(word[..<colon])
      if host.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" }) {
        throw ParseError(
          "'\(host)' is not a host name: use letters, digits, dots and hyphens, or an IP address", column: column)
      }
      if host.contains(":") {
        throw ParseError("write an IPv6 address in brackets, then the port: [\(host)]:8080", column: column)
      }
      let value = try port(word[word.index(after: colon)...])
      self = host.isEmpty || host == "*" ? .any(port: value) : .host(host, port: value)
      return
    }
    if let ref = DescriptorRef(word: word) {
      self = .descriptor(ref)
      return
    }
    // A host without its port (bind u 127.0.0.1).
    if SocketAddress.numeric(word, port: 0) != nil || word == "localhost" {
      let shown = word.contains(":") ? "[\(word)]" : word
      throw ParseError("'\(word)' has no port: write the host, a colon and the port (\(shown):8080)", column: column)
    }
    throw ParseError("'\(word)' is not an address: \(AddressSpec.help)", column: column)
  }
}

extension Character {
  var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

/// Bytes to send, as typed.
public enum DataSpec: Hashable, Sendable {
  case bytes([UInt8])
  /// `--size N`: N bytes of a visible repeating pattern.
  case pattern(Int)
  /// `--file PATH`: the contents of a file, read when the command runs.
  case file(String)

  /// The first `count` bytes, when they can be written as DATA without reading the file again.
  func prefix(_ count: Int) -> DataSpec? {
    switch self {
    case .bytes(let bytes): .bytes(Array(bytes.prefix(count)))
    case .pattern(let size): DataSpec.pattern(min(size, count))
    case .file: nil
    }
  }

  /// `--file PATH`: the bytes come from a file.
  var readsFile: Bool {
    if case .file = self { return true }
    return false
  }

  /// The words that write it back.
  var words: [String] {
    switch self {
    case .bytes(let bytes):
      if bytes.count > 0, !ByteText.looksLikeText(bytes) || bytes.contains(0) {
        return ["hex:" + bytes.map(ByteText.hex2).joined()]
      }
      return [ByteText.quoted(bytes)]
    case .pattern(let size): return ["--size", "\(size)"]
    case .file(let path): return ["--file", Lexer.quote(Array(path.utf8))]
    }
  }

  /// The largest payload one command sends: 16 MiB.
  public static let maximumSize = 16 << 20

  /// The pattern of `--size`: a line of the alphabet and digits, again and again, so that a
  /// learner can see where a cut happened.
  public static func pattern(size: Int) -> [UInt8] {
    let line = Array("abcdefghijklmnopqrstuvwxyz0123456789\n".utf8)
    // One allocation of exactly `size` bytes (growing an array would need more, for a moment).
    return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
      for index in 0..<size { buffer[index] = line[index % line.count] }
      initialized = size
    }
  }
}

/// `= EXPECTED`: what a command must return for the line to hold.
public enum Expected: Hashable, Sendable, CustomStringConvertible {
  case value(Int)
  /// `-1` with a given errno, or with any errno when nil.
  case failure(Errno?)

  public var description: String {
    switch self {
    case .value(let value): "\(value)"
    case .failure(let errno): errno.map { "-1 \($0.name)" } ?? "-1"
    }
  }

  static let help = "write = 0, = 5, = -1 ECONNREFUSED or = -1"

  init(words: [Token]) throws(ParseError) {
    guard let first = words.first else { throw ParseError("= needs a result: \(Expected.help)") }
    let text = first.text
    if text == "-1" {
      if words.count == 1 {
        self = .failure(nil)
        return
      }
      guard words.count == 2, let errno = Errno(named: words[1].text), Int(words[1].text) == nil else {
        throw ParseError(
          "'\(words[1].shown)' is not an errno name: write it as in C, e.g. ECONNREFUSED (explain lists them)",
          column: words[1].column)
      }
      self = .failure(errno)
      return
    }
    if let errno = Errno(named: text), Int(text) == nil, words.count == 1 {
      self = .failure(errno)
      return
    }
    guard words.count == 1, let value = Int(text), value >= 0 else {
      throw ParseError(
        "'\(words.map(\.shown).joined(separator: " "))' is not a result: \(Expected.help)", column: first.column)
    }
    self = .value(value)
  }
}

/// Reads a command's arguments one by one, with errors that point at the word and show the usage.
public struct ArgumentReader {
  let tokens: [Token]
  var index = 0
  let usage: String
  /// Column just past the end of the line, for "missing" errors.
  let endColumn: Int

  init(tokens: [Token], usage: String, endColumn: Int) {
    self.tokens = tokens
    self.usage = usage
    self.endColumn = endColumn
  }

  public var isAtEnd: Bool { index >= tokens.count }
  public var peek: Token? { isAtEnd ? nil : tokens[index] }

  func error(_ message: String, at token: Token? = nil) -> ParseError {
    ParseError(message, column: token?.column ?? endColumn, usage: usage)
  }

  mutating func next(_ what: String) throws(ParseError) -> Token {
    guard let token = peek else { throw error("missing \(what)") }
    index += 1
    return token
  }

  /// A descriptor: a number or a name.
  public mutating func descriptor() throws(ParseError) -> DescriptorRef {
    let token = try next("FD (a descriptor number or name; ls lists them)")
    guard token.isBare, let ref = DescriptorRef(word: token.text) else {
      throw error("'\(token.shown)' is not a descriptor: give its number or name (ls lists them)", at: token)
    }
    return ref
  }

  /// A descriptor of this shell, or `PID:FD`: descriptor FD of process PID (inspect, tcp).
  public mutating func socketTarget() throws(ParseError) -> SocketTarget {
    guard let token = peek, token.isBare, let colon = token.text.firstIndex(of: ":") else {
      return .own(try descriptor())
    }
    index += 1
    guard let pid = Int32(token.text[..<colon]), pid > 0, let fd = Int32(token.text[token.text.index(after: colon)...]),
      fd >= 0
    else {
      throw error(
        "'\(token.shown)' is not PID:FD: a process's number, a colon, and one of its descriptors (ls PID lists them)",
        at: token)
    }
    return .process(pid: pid, fd: fd)
  }

  /// An address (see `AddressSpec`).
  public mutating func address() throws(ParseError) -> AddressSpec {
    let token = try next("ADDR (\(AddressSpec.help))")
    // Addresses are text: a byte that is not UTF-8, or a control byte, cannot be part of one.
    guard String(validating: token.bytes, as: UTF8.self) != nil,
      !token.bytes.contains(where: { $0 < 0x20 || $0 == 0x7F })
    else {
      throw error("'\(token.shown)' is not an address: it holds bytes that are not printable text", at: token)
    }
    return try AddressSpec(word: token.text, column: token.column)
  }

  /// Data: a quoted string, a bare word, `hex:...`, `--size N` or `--file PATH`.
  public mutating func data() throws(ParseError) -> DataSpec {
    let token = try next("DATA (\"text\", 'text', hex:48656c6c6f, --size N or --file PATH)")
    if token.isBare && token.text == "--size" {
      let sizeToken = try next("the size after --size")
      guard let size = Int(sizeToken.text), size >= 0, size <= DataSpec.maximumSize else {
        throw error("--size takes a number of bytes from 0 to \(DataSpec.maximumSize) (16 MiB)", at: sizeToken)
      }
      return .pattern(size)
    }
    if token.isBare && token.text == "--file" {
      let path = try next("the path after --file")
      return .file(path.text)
    }
    if token.isBare && token.text.hasPrefix("hex:") {
      let digits = Array(token.bytes.dropFirst(4)).filter { $0 != UInt8(ascii: "_") }
      guard digits.count % 2 == 0 else {
        throw error("hex: needs an even number of hex digits, two for each byte", at: token)
      }
      var bytes: [UInt8] = []
      bytes.reserveCapacity(digits.count / 2)
      var position = 0
      while position < digits.count {
        guard let high = Lexer.hexValue(digits[position]), let low = Lexer.hexValue(digits[position + 1]) else {
          throw error("hex: takes only the digits 0-9 and a-f", at: token)
        }
        bytes.append(high << 4 | low)
        position += 2
      }
      return .bytes(bytes)
    }
    return .bytes(token.bytes)
  }

  /// A whole number within `range`.
  public mutating func integer(_ what: String, in range: ClosedRange<Int>) throws(ParseError) -> Int {
    let token = try next(what)
    guard token.isBare, let value = Int(token.text), range.contains(value) else {
      throw error(
        "'\(token.shown)' is not a valid \(what): give a number from \(range.lowerBound) to \(range.upperBound)",
        at: token)
    }
    return value
  }

  /// The next word if it is a whole number (an optional count).
  public mutating func optionalInteger(_ what: String, in range: ClosedRange<Int>) throws(ParseError) -> Int? {
    guard let token = peek, token.isBare, let first = token.text.first, first.isASCIIDigitCharacter || first == "-"
    else { return nil }
    return try integer(what, in: range)
  }

  /// One word of a fixed set (compared without case).
  public mutating func choice(_ what: String, from choices: [String]) throws(ParseError) -> String {
    let token = try next("\(what) (\(choices.joined(separator: ", ")))")
    let word = token.text.lowercased()
    guard choices.contains(word) else {
      throw error("'\(token.shown)' is not a \(what): choose \(choices.joined(separator: ", "))", at: token)
    }
    return word
  }

  /// An optional `on` or `off` (`wire`, `follow`): nil when the line ends here.
  public mutating func optionalSwitch() throws(ParseError) -> Bool? {
    guard let token = peek else { return nil }
    guard let value = OptionWords.flag(token.text) else { throw error("'\(token.shown)' is not on or off", at: token) }
    index += 1
    return value
  }

  /// Any word, as typed.
  public mutating func word(_ what: String) throws(ParseError) -> String {
    let token = try next(what)
    guard let text = String(validating: token.bytes, as: UTF8.self) else {
      throw error("'\(token.shown)' is not a \(what): it holds bytes that are not UTF-8", at: token)
    }
    return text
  }

  /// The remaining words, each one of `allowed` (a flag name); C spellings `MSG_PEEK` are accepted.
  public mutating func flags(allowed: [String]) throws(ParseError) -> [String] {
    var flags: [String] = []
    while let token = peek {
      var word = token.text.lowercased()
      if word.hasPrefix("msg_") { word = String(word.dropFirst(4)) }
      guard allowed.contains(word) else {
        throw error("'\(token.shown)' is not a flag here: flags are \(allowed.joined(separator: ", "))", at: token)
      }
      if !flags.contains(word) { flags.append(word) }
      index += 1
    }
    return flags
  }

  /// Fails when words are left over.
  public func finish() throws(ParseError) {
    if let token = peek {
      throw error("too many arguments: '\(token.shown)' was not expected", at: token)
    }
  }
}
