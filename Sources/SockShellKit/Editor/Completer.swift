import SocketLayer

/// Tab completion that knows the command language: command names first, then for each argument
/// what goes there (descriptors, addresses, option names, flags, help topics, errno names).
public struct Completer {
  let session: Session

  public init(session: Session) {
    self.session = session
  }

  /// The word being completed and the candidates for it, given the text before the cursor.
  public func complete(_ text: String) -> (word: String, candidates: [String]) {
    // No completion inside an open quote: that is data.
    if text.filter({ $0 == "\"" }).count % 2 == 1 || text.filter({ $0 == "'" }).count % 2 == 1 {
      return ("", [])
    }
    var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    let current = text.last == " " || text.isEmpty ? "" : (words.popLast() ?? "")
    if words.count >= 2, words[1] == "=" { words.removeFirst(2) }
    if words.first.map({ DescriptorRef.isValidName($0) }) == true, words.count == 1, current == "=" {
      return (current, [])
    }
    let candidates: [String]
    if words.isEmpty {
      candidates = Registry.names
    } else if let command = Registry.command(named: words[0]) {
      let spec = command.spec
      // An expected result after "=" completes errno names.
      if words.dropFirst().contains("=") {
        candidates = ["0", "-1"] + Errno.allNames
      } else {
        let position = words.count - 1
        let kinds = spec.completion
        let kind: Completion
        if position < kinds.count {
          kind = kinds[position]
        } else if spec.repeatsLast, let last = kinds.last {
          kind = last
        } else {
          kind = .nothing
        }
        candidates = values(for: kind, words: words)
      }
    } else {
      candidates = []
    }
    let lower = current.lowercased()
    let matching = candidates.filter { $0.lowercased().hasPrefix(lower) }
    var unique: [String] = []
    for candidate in matching where !unique.contains(candidate) { unique.append(candidate) }
    return (current, unique)
  }

  func values(for kind: Completion, words: [String]) -> [String] {
    switch kind {
    case .descriptor:
      return session.openDescriptors.flatMap { descriptor in
        (descriptor.name.map { [$0] } ?? []) + ["\(descriptor.fd)"]
      }
    case .address:
      let named = session.openDescriptors.compactMap(\.name)
      return ["127.0.0.1:", "[::1]:", "*:", "localhost:", "/tmp/", "@"] + named
    case .data:
      return ["\"", "hex:", "--size", "--file"]
    case .words(let list):
      return list
    case .option:
      return SocketOption.names
    case .optionValue:
      guard words.count >= 3, let option = SocketOption.named(words[2]) else { return [] }
      switch option.kind {
      case .flag: return ["1", "0"]
      case .linger: return ["on", "off"]
      case .multicastInterface: return ["127.0.0.1", "lo"]
      case .membership: return ["239.1.2.3", "ff12::1:2:3"]
      default: return []
      }
    case .topic:
      return HelpCommand.subjects
    case .errno:
      return Errno.allNames
    case .lessons:
      return (session.host.library?.lessons.map(\.id) ?? []) + ["reset", "quit"]
    case .nothing:
      return []
    }
  }

  /// The longest prefix shared by every candidate.
  public static func commonPrefix(_ candidates: [String]) -> String {
    guard var prefix = candidates.first else { return "" }
    for candidate in candidates.dropFirst() {
      while !candidate.hasPrefix(prefix) { prefix.removeLast() }
    }
    return prefix
  }
}
