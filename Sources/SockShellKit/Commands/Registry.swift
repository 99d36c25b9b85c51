/// The one list of commands. Adding a command: write its file in Commands/ and add it here.
public enum Registry {
  public static let commands: [any ShellCommand.Type] = [
    SocketCommand.self, BindCommand.self, ListenCommand.self, AcceptCommand.self, ConnectCommand.self,
    SendCommand.self, RecvCommand.self, SendToCommand.self, RecvFromCommand.self,
    ShutdownCommand.self, CloseCommand.self,
    GetSockNameCommand.self, GetPeerNameCommand.self, SetSockOptCommand.self, GetSockOptCommand.self,
    NonBlockCommand.self, PollCommand.self, ListCommand.self, InspectCommand.self, AddrCommand.self,
    TCPDiagramCommand.self, TimelineCommand.self,
    TraceCommand.self, SaveCommand.self, ExportCommand.self, NameCommand.self,
    LessonsCommand.self, LessonCommand.self, LessonStepCommand.self, LessonCheckCommand.self, LessonHintCommand.self,
    LessonSolutionCommand.self, LessonNextCommand.self, LessonPrevCommand.self,
    HelpCommand.self, ExplainCommand.self, HistoryCommand.self, QuitCommand.self, ClearCommand.self, WireCommand.self,
    GotoCommand.self, WhereCommand.self, ClassCommand.self, HandCommand.self, FollowCommand.self, WatchCommand.self,
    GetAddrInfoCommand.self,
  ]

  static let byName: [String: any ShellCommand.Type] = {
    var table: [String: any ShellCommand.Type] = [:]
    for command in commands {
      table[command.spec.name] = command
      for alias in command.spec.aliases { table[alias] = command }
    }
    return table
  }()

  /// The command called `name` (any case), or nil.
  public static func command(named name: String) -> (any ShellCommand.Type)? {
    byName[name] ?? byName[name.lowercased()]
  }

  /// Every name and alias, sorted.
  public static var names: [String] { byName.keys.sorted() }

  /// The closest command name to a mistyped word (`lisen` -> `listen`), if one is close.
  public static func suggestion(for word: String) -> String? {
    let lower = word.lowercased()
    var best: (name: String, distance: Int)?
    for name in names {
      let distance = editDistance(lower, name)
      if distance < (best?.distance ?? Int.max) { best = (name, distance) }
    }
    guard let best else { return nil }
    let allowed = lower.count <= 3 ? 1 : 2
    // Replacing every letter is not a typo: "y" is not a misspelt "?".
    guard best.distance < min(lower.count, best.name.count) else { return nil }
    return best.distance <= allowed ? best.name : nil
  }

  /// Levenshtein distance, with a swap of two neighbours counted as one edit.
  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars)
    let b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          current[j] = min(current[j], previous2[j - 2] + 1)
        }
      }
      previous2 = previous
      previous = current
    }
    return previous[b.count]
  }
}
