#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// Turns a session's transcript into a C or Python program that makes the same calls in the same
/// order and checks each result against what the session saw.
enum Export {
  enum Language { case c, python }

  /// Variables for descriptors: the name the learner gave, or `fd3`; a number reused after close
  /// gets a fresh variable.
  struct Variables {
    var byName: [String: String] = [:]
    var byNumber: [Int32: String] = [:]
    var all: [String] = []

    mutating func create(fd: Int32, name: String?) -> String {
      var base = name.map { "s_" + $0.replacing("-", with: "_") } ?? "fd\(fd)"
      if all.contains(base) { base += "_\(all.count)" }
      all.append(base)
      byNumber[fd] = base
      if let name { byName[name] = base }
      return base
    }

    func lookup(_ ref: DescriptorRef) -> String? {
      switch ref {
      case .name(let name): byName[name]
      case .number(let fd): byNumber[fd]
      }
    }

    mutating func forget(_ ref: DescriptorRef) {
      guard let variable = lookup(ref) else { return }
      byNumber = byNumber.filter { $0.value != variable }
      byName = byName.filter { $0.value != variable }
    }
  }

  /// The program's text: each entry's own command writes its statements (`exportC`,
  /// `exportPython`), with its line as a comment above them. `file` is where it is written (its
  /// header says how to build and run that file).
  static func program(_ transcript: [TranscriptEntry], language: Language, file: String) -> String {
    var variables = Variables()
    var largestRead = 1
    var body: [String] = []
    for entry in transcript {
      // `name 5 conn`: later lines say conn for the variable of fd 5 (the program keeps its
      // variable's name; the line adds no statement).
      if let naming = entry.line.command as? NameCommand {
        if let variable = variables.lookup(naming.fd) { variables.byName[naming.newName] = variable }
        continue
      }
      guard let reproduced = entry.reproduced else {
        body.append(comment(entry.line, ": interrupted in the session (Ctrl-C or the time limit), left out", language))
        continue
      }
      let note = entry.interrupted ? ": cut short in the session, so the program asks for what it got" : ""
      body.append(comment(entry.line, note, language))
      switch language {
      case .c:
        var writer = CExport(entry: reproduced, variables: variables, largestRead: largestRead)
        body += reproduced.line.command.exportC(&writer)
        variables = writer.variables
        largestRead = writer.largestRead
      case .python:
        var writer = PythonExport(entry: reproduced, variables: variables)
        body += reproduced.line.command.exportPython(&writer)
        variables = writer.variables
      }
    }
    switch language {
    case .c: return CFrame.program(file: file, body: body, variables: variables.all, bufferSize: largestRead)
    case .python: return PythonFrame.program(file: file, body: body)
    }
  }

  /// How to build and run the C program written to `file`: `cc -Wall -o pong pong.c && ./pong`.
  static func buildCommand(_ file: String) -> String {
    let name = file.split(separator: "/").last.map(String.init) ?? "session.c"
    let binary = name.hasSuffix(".c") && name.count > 2 ? String(name.dropLast(2)) : "session"
    return "cc -Wall -o \(binary) \(Lexer.quote(Array(file.utf8))) && ./\(Lexer.quote(Array(binary.utf8)))"
  }

  /// The session's line as a comment, exactly as typed (or, when it holds bytes that are not
  /// printable text, written back in the language: the same command). A `//` comment holds any
  /// text but a backslash at its end, which would join the next line to it.
  static func comment(_ line: ParsedLine, _ note: String, _ language: Language) -> String {
    let shown = line.shownSource + note
    guard language == .c else { return "    # " + shown }
    let joinsNextLine = shown.hasSuffix("\\") || shown.hasSuffix("??/")
    return "  // " + shown + (joinsNextLine ? " (end of the line)" : "")
  }

  // MARK: C

  static func expectation(_ outcome: CommandOutcome) -> (Int, String) {
    switch outcome {
    case .returned(let value): (value, "0")
    case .failed(let errno): (-1, errno.name)
    default: (0, "0")
    }
  }

  /// A C string literal of the bytes, as the shell shows them (the renderer's escapes read the
  /// same in C).
  static func cString(_ bytes: [UInt8]) -> String { ByteText.quoted(bytes) }

  /// Statements that put an address in `addr`/`len`, or nil when it cannot be written.
  static func cAddress(_ spec: AddressSpec, family: SocketFamily, _ variables: Variables) -> String? {
    switch spec {
    case .host(let host, let port):
      if let numeric = SocketAddress.numeric(host, port: port) {
        return numeric.family == .ipv6
          ? "len = ipv6_address(&addr, \(cString(Array(host.utf8))), \(port));"
          : "len = ipv4_address(&addr, \(cString(Array(host.utf8))), \(port));"
      }
      return "len = resolve_address(&addr, \(cString(Array(host.utf8))), \(port), \(family.cName));"
    case .any(let port):
      return family == .ipv6
        ? "len = ipv6_address(&addr, \"::\", \(port));" : "len = ipv4_address(&addr, \"0.0.0.0\", \(port));"
    case .unixPath(let path):
      return "len = unix_address(&addr, \(cString(Array(path.utf8))), \(path.utf8.count), 0);"
    case .abstract(let name):
      return "len = unix_address(&addr, \(cString(Array(name.utf8))), \(name.utf8.count), 1);"
    case .descriptor(let ref):
      guard let variable = variables.lookup(ref) else { return nil }
      return "len = bound_address(\(variable), &addr);"
    case .partnerListening: return nil
    }
  }

  /// The data of a send: what to prepare, the pointer, the count, and what frees it after.
  static func cData(_ data: DataSpec) -> (prepare: [String], pointer: String, count: String, release: [String]) {
    switch data {
    case .bytes(let bytes): return ([], cString(bytes), "\(bytes.count)", [])
    case .pattern(let size): return (["data = pattern(\(size));"], "data", "\(size)", ["free(data);", "data = NULL;"])
    case .file(let path):
      return (
        ["data = read_file(\(cString(Array(path.utf8))), &data_len);"], "data", "data_len",
        ["free(data);", "data = NULL;"]
      )
    }
  }

  static func cFlags(_ names: [String], _ table: [(String, Int32, String)]) -> String {
    Transfer.flags(names, table: table).1
  }

  // MARK: Python

  /// A Python bytes literal: the renderer's escapes in printable ASCII, which Python reads the same.
  static func pyBytes(_ bytes: [UInt8]) -> String { "b" + ByteText.quoted(bytes, form: .ascii) }

  /// A Python str literal of ASCII text (hosts, call names).
  static func pyString(_ text: String) -> String { ByteText.quoted(Array(text.utf8), form: .ascii) }

  static func pyAddress(_ spec: AddressSpec, family: SocketFamily, _ variables: Variables) -> String? {
    switch spec {
    case .host(let host, let port):
      if let numeric = SocketAddress.numeric(host, port: port) {
        return numeric.family == .ipv6 ? "(\(pyString(host)), \(port), 0, 0)" : "(\(pyString(host)), \(port))"
      }
      return "resolve(\(pyString(host)), \(port), socket.\(family.cName))"
    case .any(let port): return family == .ipv6 ? "('::', \(port), 0, 0)" : "('0.0.0.0', \(port))"
    case .unixPath(let path): return pyBytes(Array(path.utf8))
    case .abstract(let name): return pyBytes([0] + Array(name.utf8))
    case .descriptor(let ref):
      guard let variable = variables.lookup(ref) else { return nil }
      return "bound(\(variable))"
    case .partnerListening: return nil
    }
  }

  static func pyData(_ data: DataSpec) -> String {
    switch data {
    case .bytes(let bytes): pyBytes(bytes)
    case .pattern(let size): "pattern(\(size))"
    case .file(let path): "read_file(\(pyBytes(Array(path.utf8))))"
    }
  }

  /// A socket option's constant in Python: `socket.SO_REUSEADDR`; for one its socket module lacks
  /// (IP_MULTICAST_ALL), the number, named: `getattr(socket, 'IP_MULTICAST_ALL', 49)`.
  static func pyOption(_ option: SocketOption) -> String {
    option.inPython ? "socket.\(option.cName)" : "getattr(socket, '\(option.cName)', \(option.optname))"
  }

  static func pyFlags(_ names: [String], _ table: [(String, Int32, String)]) -> String {
    let chosen = table.filter { names.contains($0.0) }.map { "socket.\($0.2)" }
    return chosen.isEmpty ? "0" : chosen.joined(separator: " | ")
  }
}

/// What a command writes its C statements with: the line being exported, the program's
/// variables, and the checks against the session's results.
public struct CExport {
  let entry: TranscriptEntry
  var variables: Export.Variables
  /// The largest recv length so far: the size of the program's buffer.
  var largestRead: Int

  /// `r = CALL;` and the check of `r` (and errno) against what the session saw.
  func check(_ what: String, _ call: String) -> [String] {
    let (want, wantErrno) = Export.expectation(entry.outcome)
    return ["  r = \(call);", "  check(\(Export.cString(Array(what.utf8))), r, \(want), \(wantErrno));"]
  }

  /// The variable of a descriptor (`s_srv`, `fd3`), or -1 for one the program never made.
  func fd(_ ref: DescriptorRef) -> String { variables.lookup(ref) ?? "-1" }

  /// Statements that put an address in `addr`/`len` for the line's descriptor family.
  func address(_ spec: AddressSpec) -> String? {
    Export.cAddress(spec, family: entry.family ?? .ipv4, variables)
  }

  /// socket and accept: a new variable for the descriptor the session got, checked to be valid;
  /// when the call failed in the session, only the check.
  /// `showPeer`: accept's address (in `addr`) is shown, as the session showed it.
  mutating func create(_ what: String, _ call: String, showPeer: Bool = false) -> [String] {
    guard case .returned(let number) = entry.outcome else { return check(what, call) }
    let variable = variables.create(fd: Int32(number), name: entry.line.name)
    return ["  \(variable) = \(call);", "  check_fd(\(Export.cString(Array(what.utf8))), \(variable));"]
      + (showPeer ? ["  if (\(variable) >= 0) show_address(\"peer\", &addr, len);"] : [])
  }
}

/// What a command writes its Python statements with.
public struct PythonExport {
  let entry: TranscriptEntry
  var variables: Export.Variables

  /// `check('what', lambda: CALL, want, errno)`.
  /// `check('what', lambda: CALL, want, errno)`; with `keep`, the value is kept in a variable
  /// and `measure` (a Python function such as `len`) turns it into the number compared.
  func check(_ what: String, _ call: String, keep: String? = nil, measure: String? = nil) -> [String] {
    let (want, wantErrno) = Export.expectation(entry.outcome)
    let errnoText = wantErrno == "0" ? "0" : "errno.\(wantErrno)"
    let statement =
      "check(\(Export.pyString(what)), lambda: \(call), \(want), \(errnoText)\(measure.map { ", " + $0 } ?? ""))"
    return ["    " + (keep.map { "\($0) = " } ?? "") + statement]
  }

  /// The variable of a descriptor, or None for one the program never made.
  func fd(_ ref: DescriptorRef) -> String { variables.lookup(ref) ?? "None" }

  func address(_ spec: AddressSpec) -> String? {
    Export.pyAddress(spec, family: entry.family ?? .ipv4, variables)
  }

  /// socket and accept: `make(...)` keeps the new socket in a variable; when the call failed in
  /// the session, only the check of `failed`, made with `.fileno()` of what it returns.
  /// `helper`: `make` for a new socket, `accepted` (which shows the peer) for accept.
  mutating func create(_ what: String, _ make: String, helper: String = "make") -> [String] {
    guard case .returned(let number) = entry.outcome else {
      return check(what, (helper == "accepted" ? "\(make).accept()[0]" : make) + ".fileno()")
    }
    let variable = variables.create(fd: Int32(number), name: entry.line.name)
    return ["    \(variable) = \(helper)(\(helper == "make" ? "lambda: " : "")\(make), \(Export.pyString(what)))"]
  }
}
