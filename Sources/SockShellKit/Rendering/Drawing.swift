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

  /// Whether the environment's locale (LANG, LC_ALL, LC_CTYPE) is UTF-8: asked of a locale
  /// object of its own, since the line editor sets the process's LC_CTYPE to UTF-8 to read input.
  static let terminalSpeaksUTF8: Bool = {
    guard let locale = newlocale(LC_CTYPE_MASK, "", nil) else { return false }
    defer { freelocale(locale) }
    guard let codeset = nl_langinfo_l(nl_item(CODESET), locale) else { return false }
    let name = String(cString: codeset).uppercased()
    return name == "UTF-8" || name == "UTF8"
  }()

  /// A step done and a check that does not hold yet: ✓ and ✗, or words where the terminal is not UTF-8.
  var done: String { horizontal == "─" ? "✓" : "ok:" }
  var notYet: String { horizontal == "─" ? "✗" : "not yet:" }
}
