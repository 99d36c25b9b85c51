#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Entry points for the executable.
public enum SockShell {
  /// `sockshell`: the line editor at a terminal, otherwise a script from standard input.
  public static func start(color: String, timeout: Int) -> Int32 {
    Signals.install()
    let interactive = isatty(0) == 1
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: color))
    let session = Session(
      output: out, options: Session.Options(interactive: interactive, waitLimit: timeout == 0 ? nil : timeout))
    if interactive && isatty(1) == 1 {
      return Runner.interactive(session: session)
    }
    return Runner.script(LineReader(), session: session, options: .init(sourceName: "standard input"))
  }

  /// `sockshell run FILE`.
  public static func run(file: String, keepGoing: Bool, step: Bool, color: String, timeout: Int) -> Int32 {
    Signals.install()
    let reader: LineReader
    if file == "-" {
      reader = LineReader()
    } else {
      guard let opened = LineReader(path: file) else {
        Runner.printError("sockshell: cannot open \(file): \(String(cString: strerror(errno)))")
        return 2
      }
      reader = opened
    }
    let out = Output(fd: 1, color: Output.colorWanted(fd: 1, mode: color))
    let session = Session(
      output: out, options: Session.Options(interactive: false, waitLimit: timeout == 0 ? nil : timeout))
    return Runner.script(
      reader, session: session,
      options: .init(keepGoing: keepGoing, step: step, sourceName: file == "-" ? "standard input" : file))
  }
}
