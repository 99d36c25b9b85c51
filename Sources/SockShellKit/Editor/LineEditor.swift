#if canImport(Glibc)
  import Glibc
#endif
import CEditLine
import SocketLayer

/// The interactive prompt, on libedit's native API: Emacs keys, history kept across sessions,
/// and Tab completion through the `Completer`.
public final class LineEditor {
  public enum Input: Equatable {
    /// The line's bytes exactly as typed (a byte that is not UTF-8 stays that byte).
    case line([UInt8])
    /// Ctrl-C at the prompt.
    case interrupted
    /// Ctrl-D on an empty line.
    case endOfInput
  }

  let editLine: OpaquePointer
  let history: OpaquePointer
  /// The history file (appended line by line), or nil when none is kept.
  let historyFile: HistoryFile?
  let completer: Completer
  var prompt: UnsafeMutablePointer<CChar>
  /// The terminal's columns when libedit last knew them (SIGWINCH is left alone: see Signals).
  var columns: UInt16 = 0
  /// Set by the Ctrl-C key binding; read and cleared by `readLine`.
  var interruptPressed = false

  /// The loop the prompt waits in: a lesson's partner and other sources act while the learner
  /// types or sits idle.
  let loop: EventLoop
  /// The shell's output: what the loop's handlers print goes above the line being typed.
  let out: Output
  /// The prompt to show after that output (the lesson's step may have changed).
  public var currentPrompt: (() -> String)?

  public init(completer: Completer, historyPath: String?, loop: EventLoop, out: Output) {
    // libedit turns the characters it draws into the locale's bytes: under LANG=C it would draw
    // (and give back) nothing for non-ASCII. The shell reads and writes UTF-8 whatever the locale.
    setlocale(LC_ALL, "")
    if String(cString: nl_langinfo(nl_item(CODESET))) != "UTF-8" { setlocale(LC_CTYPE, "C.UTF-8") }
    self.completer = completer
    historyFile = historyPath.map(HistoryFile.init)
    self.loop = loop
    self.out = out
    prompt = strdup("sockshell> ")
    // libedit wants FILE streams; Swift 6 forbids the shared `stdin` globals, so open our own.
    editLine = el_init("sockshell", fdopen(0, "r"), fdopen(1, "w"), fdopen(2, "w"))
    history = history_init()
    cedit_history_set_size(history, 1000)
    cedit_history_unique(history, 1)
    historyFile?.load(into: history)
    if let off = historyFile?.off { out.line("warning: \(off)", .error) }
    cedit_set_client_data(editLine, Unmanaged.passUnretained(self).toOpaque())
    cedit_set_editor(editLine, "emacs")
    cedit_set_history(editLine, history)
    cedit_set_prompt(editLine, LineEditor.promptCallback)
    cedit_add_function(editLine, "sockshell-complete", "Complete a command or argument", LineEditor.completeCallback)
    cedit_bind(editLine, "^I", "sockshell-complete")
    cedit_add_function(editLine, "sockshell-eof", "End of input on an empty line", LineEditor.endOfInputCallback)
    cedit_bind(editLine, "^D", "sockshell-eof")
    // Ctrl-C at the prompt is a key, not a signal: a SIGINT arriving between two reads of
    // libedit (while it echoes a key) would interrupt nothing and be lost, and the next line
    // would run with the text the learner meant to discard. As a key it is read in order.
    cedit_edit_mode_without_signals(editLine)
    cedit_add_function(editLine, "sockshell-interrupt", "Discard the line", LineEditor.interruptCallback)
    cedit_bind(editLine, "^C", "sockshell-interrupt")
    // Ctrl-Z too is a key in edit mode: suspend with the terminal given back, redraw on fg.
    tcgetattr(0, &shellModes)
    cedit_add_function(editLine, "sockshell-suspend", "Suspend the shell", LineEditor.suspendCallback)
    cedit_bind(editLine, "^Z", "sockshell-suspend")
    cedit_set_getc(editLine, LineEditor.readCallback)
    // The width libedit measured now: a change is told to it (followResize).
    var size = winsize()
    if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 { columns = size.ws_col }
  }

  var closed = false

  /// Gives the terminal back as it was (libedit's el_end); the editor is not used after.
  public func close() {
    guard !closed else { return }
    closed = true
    el_end(editLine)
  }

  deinit {
    close()
    history_end(history)
    free(prompt)
  }

  public func setPrompt(_ text: String) {
    free(prompt)
    prompt = strdup(text)
  }

  /// Reads one line (without its newline).
  public func readLine() -> Input {
    var count: Int32 = 0
    errno = 0
    interruptPressed = false
    let previous = loop.afterDispatch
    loop.afterDispatch = { [unowned self] in
      self.printAbovePrompt()
      self.applyOffer()
    }
    out.holdsFlush = true
    defer {
      loop.afterDispatch = previous
      out.holdsFlush = false
    }
    guard let line = el_wgets(editLine, &count) else {
      // The key binding, or a SIGINT in the moment before libedit set up the terminal.
      if interruptPressed || (count == -1 && errno == EINTR) {
        el_reset(editLine)
        LineEditor.writeOut("^C\n")
        return .interrupted
      }
      return .endOfInput
    }
    var bytes: [UInt8] = []
    var index = 0
    while line[index] != 0 {
      bytes += LineEditor.bytes(of: line[index])
      index += 1
    }
    if bytes.last == 0x0A { bytes.removeLast() }
    return .line(bytes)
  }

  /// A byte that was not part of UTF-8 is read as the character 0xDC00 + byte (a lone surrogate,
  /// which no UTF-8 decodes to, as Python's surrogateescape does) and given back as that byte.
  static func character(escaping byte: UInt8) -> wchar_t { wchar_t(0xDC00 | Int32(byte)) }

  /// The bytes of one character of a line libedit gives back.
  static func bytes(of character: wchar_t) -> [UInt8] {
    let value = UInt32(bitPattern: character)
    if (0xDC80...0xDCFF).contains(value) { return [UInt8(value & 0xFF)] }
    guard let scalar = Unicode.Scalar(value) else { return [] }
    return Array(String(Character(scalar)).utf8)
  }

  /// Adds a line to the history and appends it to the history file.
  public func remember(_ line: [UInt8]) {
    var terminated = line.map { CChar(bitPattern: $0) }
    terminated.append(0)
    cedit_history_enter(history, terminated)
    if let warning = historyFile?.append(line) {
      out.line("warning: \(warning)", .error)
    }
  }

  static let promptCallback: cedit_prompt_fn = { editLine in
    guard let editLine, let data = cedit_get_client_data(editLine) else { return nil }
    return Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue().prompt
  }

  static let completeCallback: cedit_command_fn = { editLine, _ in
    guard let editLine, let data = cedit_get_client_data(editLine) else { return UInt8(CC_ERROR) }
    return Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue().complete()
  }

  /// The terminal's modes as the shell found them (what a suspended shell gives back).
  var shellModes = termios()

  static let suspendCallback: cedit_command_fn = { editLine, _ in
    guard let editLine, let data = cedit_get_client_data(editLine) else { return UInt8(CC_ERROR) }
    Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue().suspend()
    return UInt8(CC_REDISPLAY)  // back from fg: libedit draws the prompt and the line again
  }

  /// Ctrl-Z at the prompt: the terminal back in the modes the shell found, then stopped as by
  /// the terminal (SIGTSTP); after `fg`, the editor's modes again.
  func suspend() {
    var editModes = termios()
    tcgetattr(0, &editModes)
    LineEditor.writeOut("\n")
    tcsetattr(0, TCSADRAIN, &shellModes)
    kill(0, SIGTSTP)  // the whole process group, as the terminal's Ctrl-Z does
    tcsetattr(0, TCSADRAIN, &editModes)
    followResize()
  }

  static let interruptCallback: cedit_command_fn = { editLine, _ in
    guard let editLine, let data = cedit_get_client_data(editLine) else { return UInt8(CC_ERROR) }
    Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue().interruptPressed = true
    return UInt8(CC_EOF)  // el_gets returns no line; readLine reports the interrupt
  }

  static let readCallback: cedit_read_fn = { editLine, character in
    guard let editLine, let character, let data = cedit_get_client_data(editLine) else { return -1 }
    return Unmanaged<LineEditor>.fromOpaque(data).takeUnretainedValue().readCharacter(into: character)
  }

  /// The one way output reaches the screen while a line is being typed: the prompt line is
  /// cleared, the output written (Output has escaped every control byte), and libedit draws the
  /// prompt and the line being typed again below it.
  func printAbovePrompt() {
    guard out.hasPending else { return }
    followResize()
    // The prompt and the line being typed may take several rows: go up to the first of them
    // (the rows before the cursor, counted in cells) and clear from there down.
    var rowsAbove = 0
    if columns > 0, let info = el_line(editLine)?.pointee, let start = info.buffer, let cursor = info.cursor {
      let typed = String(
        decoding: UnsafeRawBufferPointer(start: start, count: max(0, cursor - start)).bindMemory(to: UInt8.self),
        as: UTF8.self)
      let cells = Cells.width(String(cString: prompt)) + Cells.width(typed)
      rowsAbove = cells / Int(columns)
    }
    LineEditor.writeOut("\r" + (rowsAbove > 0 ? "\u{1B}[\(rowsAbove)A" : "") + "\u{1B}[J")
    out.flush(force: true)
    if let currentPrompt { setPrompt(currentPrompt()) }
    cedit_refresh(editLine)
  }

  /// Tells libedit the terminal's width when it changed (before it draws the line again).
  func followResize() {
    var size = winsize()
    guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_col != columns else { return }
    columns = size.ws_col
    el_resize(editLine)
  }

  /// libedit's character reader, replaced so that the prompt waits in the event loop (the
  /// terminal is one of its descriptors). Reads UTF-8 from the terminal one character at a time;
  /// returns 1, 0 at end of input, -1 on error. Ctrl-C arrives as a key here (the edit mode has
  /// no ISIG), so it cannot fall between two reads; EINTR is only a SIGINT from before libedit
  /// set the mode.
  func readCharacter(into character: UnsafeMutablePointer<wchar_t>) -> Int32 {
    // Bytes read but not yet given to libedit: those after a sequence that broke off.
    func next() -> (UInt8?, Int32) {
      if !pendingBytes.isEmpty { return (pendingBytes.removeFirst(), 1) }
      // An error ends the read, as in libedit's own reader; looping on it would spin.
      switch loop.wait(for: 0, events: Int16(POLLIN), interrupt: InterruptWatch()) {
      case .ready: break
      case .interrupted, .failed, .timedOut: return (nil, -1)
      }
      var byte: UInt8 = 0
      let count = read(0, &byte, 1)
      if count <= 0 { return (nil, count == 0 ? 0 : -1) }
      return (byte, 1)
    }
    applyOffer()
    let (first, status) = next()
    guard let first else { return status }
    followResize()
    let needed: Int
    switch first {
    case 0x00...0x7F:
      character.pointee = wchar_t(first)
      return 1
    case 0xC2...0xDF: needed = 2
    case 0xE0...0xEF: needed = 3
    case 0xF0...0xF4: needed = 4
    default:
      character.pointee = LineEditor.character(escaping: first)
      return 1
    }
    var bytes = [first]
    while bytes.count < needed {
      let (byte, status) = next()
      guard let byte else {
        if status == 0 || bytes.count > 1 { break }
        return status
      }
      bytes.append(byte)
      if byte & 0xC0 != 0x80 { break }
    }
    if bytes.count == needed, let (scalar, _) = ByteText.decodeScalar(bytes, at: 0) {
      character.pointee = wchar_t(bitPattern: scalar.value)
      return 1
    }
    // Not UTF-8: the first byte is given as itself, and the rest read again (a byte that broke
    // the sequence may start the next character).
    character.pointee = LineEditor.character(escaping: first)
    pendingBytes.insert(contentsOf: bytes.dropFirst(), at: 0)
    return 1
  }

  /// A line to show ready at the prompt (a presentation's next line, an instructor's command):
  /// put into the line being edited as soon as it is empty, for Enter to run or the person to
  /// edit. Printable text only (the caller escapes).
  public var offered: String?

  /// Puts the offered line in an empty line being edited, and draws it.
  func applyOffer() {
    guard let text = offered, let info = el_line(editLine)?.pointee, info.buffer == info.lastchar else { return }
    offered = nil
    el_insertstr(editLine, text)
    // libedit draws the prompt and the line again from where the cursor is: the empty line's
    // prompt (one row) is cleared first, as for output above the prompt.
    LineEditor.writeOut("\r\u{1B}[J")
    cedit_refresh(editLine)
  }

  /// Bytes read from the terminal that are still to be given to libedit.
  var pendingBytes: [UInt8] = []

  static let endOfInputCallback: cedit_command_fn = { editLine, _ in
    guard let editLine, let info = el_line(editLine)?.pointee, let start = info.buffer, let end = info.lastchar,
      let cursor = info.cursor
    else { return UInt8(CC_EOF) }
    // A Ctrl-D typed while the terminal was still in cooked mode reaches libedit as a NUL byte,
    // which lands in the line: a line of nothing but NULs counts as empty.
    let content = UnsafeRawBufferPointer(start: start, count: max(0, end - start))
    if content.allSatisfy({ $0 == 0 }) { return UInt8(CC_EOF) }
    if cursor < end {
      el_deletestr(editLine, 1)
      return UInt8(CC_REFRESH)
    }
    return UInt8(CC_ERROR)
  }

  func complete() -> UInt8 {
    guard let info = el_line(editLine)?.pointee, let start = info.buffer, let cursor = info.cursor else {
      return UInt8(CC_ERROR)
    }
    let length = cursor - start
    let before = String(
      decoding: UnsafeRawBufferPointer(start: start, count: max(0, length)).bindMemory(to: UInt8.self), as: UTF8.self)
    let (word, candidates) = completer.complete(before)
    if candidates.isEmpty { return UInt8(CC_ERROR) }
    if candidates.count == 1 {
      let choice = candidates[0]
      var insert = String(choice.dropFirst(word.count))
      if !(choice.hasSuffix(":") || choice.hasSuffix("/") || choice == "\"" || choice == "@" || choice == "hex:") {
        insert += " "
      }
      if !insert.isEmpty { el_insertstr(editLine, insert) }
      return UInt8(CC_REFRESH)
    }
    let common = Completer.commonPrefix(candidates)
    if common.count > word.count {
      el_insertstr(editLine, String(common.dropFirst(word.count)))
      return UInt8(CC_REFRESH)
    }
    // Several choices and nothing more to add: list them under the line.
    let width = (candidates.map(Cells.width).max() ?? 0) + 2
    let perRow = max(1, (out.width - 2) / width)
    var text = "\n"
    for (index, candidate) in candidates.enumerated() {
      // Candidates can come from files (lesson ids): escaped like all output.
      text += ByteText.sanitized(candidate).padded(to: width)
      if (index + 1) % perRow == 0 || index == candidates.count - 1 { text += "\n" }
    }
    LineEditor.writeOut(text)
    return UInt8(CC_REDISPLAY)
  }

  static func writeOut(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
  }

  /// `$SOCKSHELL_HOME`, else `$XDG_STATE_HOME/sockshell`, else `~/.local/state/sockshell`; created.
  public static func stateDirectory() -> String? {
    let directory: String
    if let home = getenv("SOCKSHELL_HOME"), home.pointee != 0 {
      directory = String(cString: home)
    } else if let state = getenv("XDG_STATE_HOME"), state.pointee != 0 {
      directory = String(cString: state) + "/sockshell"
    } else if let home = getenv("HOME"), home.pointee != 0 {
      directory = String(cString: home) + "/.local/state/sockshell"
    } else {
      return nil
    }
    // mkdir -p, one component at a time.
    var path = directory.hasPrefix("/") ? "" : "."
    for part in directory.split(separator: "/") {
      path += "/" + part
      mkdir(path, 0o700)
    }
    return directory
  }
}
