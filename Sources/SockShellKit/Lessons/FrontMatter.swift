import CYAML

/// A lesson's YAML front matter: a mapping of keys to a string or a list of strings, read with
/// libyaml's event parser.
struct FrontMatter {
  enum Value: Equatable {
    case text(String)
    case list([String])
  }

  var values: [String: Value] = [:]
  /// The line (0-based, within the YAML) of each key.
  var lines: [String: Int] = [:]

  struct Problem: Error {
    let message: String
    /// 0-based line within the YAML text.
    let line: Int
  }

  static func parse(_ text: String) throws(Problem) -> FrontMatter {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else { throw Problem(message: "cannot start the YAML parser", line: 0) }
    defer { yaml_parser_delete(&parser) }
    let bytes = Array(text.utf8)
    return try bytes.withUnsafeBufferPointer { (buffer) throws(Problem) -> FrontMatter in
      yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
      var result = FrontMatter()
      var depth = 0  // 1 inside the top mapping, 2 inside a list
      var key: String?
      var list: [String]?
      while true {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else {
          let line = Int(parser.problem_mark.line)
          let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
          throw Problem(message: "front matter: \(problem)", line: line)
        }
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line)
        switch event.type {
        case YAML_STREAM_END_EVENT:
          return result
        case YAML_MAPPING_START_EVENT:
          guard depth == 0 else {
            throw Problem(message: "front matter: nested mappings are not used in lessons", line: line)
          }
          depth = 1
        case YAML_MAPPING_END_EVENT:
          depth = 0
        case YAML_SEQUENCE_START_EVENT:
          guard depth == 1, key != nil else {
            throw Problem(message: "front matter: a list must be the value of a key", line: line)
          }
          depth = 2
          list = []
        case YAML_SEQUENCE_END_EVENT:
          if let key, let list { result.values[key] = .list(list) }
          key = nil
          list = nil
          depth = 1
        case YAML_SCALAR_EVENT:
          let scalar = event.data.scalar
          let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
          if depth == 2 {
            list?.append(value)
          } else if depth == 1 {
            if let pending = key {
              result.values[pending] = .text(value)
              key = nil
            } else {
              key = value
              result.lines[value] = line
            }
          } else {
            throw Problem(message: "front matter must be a mapping of keys (id: ..., title: ...)", line: line)
          }
        case YAML_ALIAS_EVENT:
          throw Problem(message: "front matter: aliases are not used in lessons", line: line)
        default:
          break
        }
      }
    }
  }
}
