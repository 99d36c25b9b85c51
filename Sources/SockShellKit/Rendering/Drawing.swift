#if canImport(Glibc)
  import Glibc
#endif

/// Box-drawing characters, in Unicode or plain ASCII (`--ascii`, or a terminal without UTF-8).
struct Glyphs {
  let horizontal: String
  let vertical: String
  let topLeft, topRight, bottomLeft, bottomRight: String
  let topTee, bottomTee: String
  let arrowRight, arrowLeft: String
  let bracketLeft, bracketRight: String

  static let unicode = Glyphs(
    horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘", topTee: "┬",
    bottomTee: "┴", arrowRight: "▶", arrowLeft: "◀", bracketLeft: "└", bracketRight: "┘")
  static let ascii = Glyphs(
    horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+", topTee: "+",
    bottomTee: "+", arrowRight: ">", arrowLeft: "<", bracketLeft: "`", bracketRight: "'")

  /// Unicode when the locale's character set is UTF-8 and `--ascii` was not asked for.
  static func choose(ascii: Bool) -> Glyphs {
    if ascii { return .ascii }
    return Glyphs.terminalSpeaksUTF8 ? .unicode : .ascii
  }

  static let terminalSpeaksUTF8: Bool = {
    setlocale(LC_CTYPE, "")
    guard let codeset = nl_langinfo(nl_item(CODESET)) else { return false }
    let name = String(cString: codeset).uppercased()
    return name == "UTF-8" || name == "UTF8"
  }()
}
