import SocketLayer

/// How bytes from the network are shown: never raw. A short preview goes in the call line
/// (strace style); longer or binary data follows as quoted lines or a hex dump.
enum DataView {
  /// Bytes shown inside the call line.
  static let previewLimit = 32
  /// Bytes of text shown below the call.
  static let textLimit = 2048
  /// Bytes shown as a hex dump.
  static let hexLimit = 256

  /// `"hello\n"` or `"GET / HTTP/1.1\r\nHost: loc"...`
  static func preview(_ bytes: [UInt8]) -> String {
    ByteText.quoted(bytes, limit: previewLimit)
  }

  /// Lines to show under the call: binary data (however short) as a hex dump; text when the
  /// preview did not show it all, unless `text` is false (what the learner sent is in the line).
  static func detail(_ bytes: [UInt8], text: Bool = true) -> [String] {
    guard ByteText.looksLikeText(bytes) else {
      return ["\(counted(bytes.count, "byte")), binary:"] + ByteText.hexDump(bytes, limit: hexLimit, indent: "  ")
    }
    if !text || bytes.count <= previewLimit { return [] }
    var lines: [String] = []
    var current: [UInt8] = []
    // A line of the data per line shown (its \n ends it), cut into pieces that fit 80 columns: a
    // piece that does not end in \n goes on on the next.
    for byte in bytes.prefix(textLimit) {
      current.append(byte)
      if byte == 0x0A || current.count >= 64 && Cells.width(ByteText.escaped(current)) >= 72 {
        lines.append("  | " + ByteText.escaped(current))
        current.removeAll(keepingCapacity: true)
      }
    }
    if !current.isEmpty { lines.append("  | " + ByteText.escaped(current)) }
    if bytes.count > textLimit {
      lines.append("  ... \(bytes.count - textLimit) more bytes not shown")
    }
    return lines
  }
}
