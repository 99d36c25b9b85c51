import SocketLayer
#if canImport(Glibc)
  import Glibc
#endif
import Testing

@testable import SockShellKit

@Suite struct ByteTextTests {
  /// No byte below 0x20 (except the newline that ends a line) and no DEL survives rendering.
  static func hasRawControl(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }
  }

  @Test func escapeSequencesAreShownAsText() {
    let hostile: [UInt8] = Array("\u{1B}[2J\u{1B}]0;pwned\u{07}".utf8)
    let quoted = ByteText.quoted(hostile)
    #expect(quoted == #""\x1b[2J\x1b]0;pwned\x07""#)
    #expect(!Self.hasRawControl(quoted))
  }

  @Test func invalidUTF8AndC1ControlsAreEscaped() {
    let bytes: [UInt8] = [0x41, 0xFF, 0xC3, 0x28, 0xC2, 0x9B, 0x42, 0xE2, 0x80, 0xAE]
    let text = ByteText.escaped(bytes)
    #expect(text == #"A\xff\xc3(\xc2\233B\xe2\x80\xae"#)
    #expect(!Self.hasRawControl(text))
  }

  @Test func printableUTF8StaysReadable() {
    #expect(ByteText.quoted(Array("héllo wörld ✓".utf8)) == "\"héllo wörld ✓\"")
  }

  @Test func everySingleByteRendersSafely() {
    for byte in 0...255 {
      let text = ByteText.quoted([UInt8(byte)])
      #expect(!Self.hasRawControl(text), "byte \(byte)")
    }
  }

  @Test func longDataIsCutWithACount() {
    let bytes = [UInt8](repeating: 0x61, count: 5000)
    let lines = DataView.detail(bytes)
    #expect(lines.last == "  ... \(5000 - DataView.textLimit) more bytes not shown")
    #expect(DataView.preview(bytes).hasSuffix("\"..."))
  }

  @Test func binaryDataIsAHexDump() {
    let bytes = (0..<300).map { UInt8($0 % 256) }
    let lines = DataView.detail(bytes)
    #expect(lines.first == "300 bytes, binary:")
    #expect(lines[1] == "  0000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f |................|")
    #expect(lines.last == "  ... 44 more bytes not shown")
    #expect(!lines.contains { Self.hasRawControl($0) })
  }

  @Test func outputNeverPassesControlBytes() {
    let out = Output.capture()
    out.line("evil \u{1B}[2J name")
    #expect(out.captured == "evil \\x1b[2J name\n")
  }
}

/// The byte rule, as a property: whatever the bytes, what the renderer writes reads back as the
/// same bytes in the shell's DATA syntax, in C and in Python.
@Suite struct ByteRuleTests {
  /// SplitMix64: a fixed seed, so a failure can be found again.
  struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// Random bytes, drawn mostly from the pieces that trip renderers: hex digits after an escape,
  /// NUL and octal digits, `??=`, quotes and backslashes, UTF-8 (text, marks, private use, bidi
  /// controls, invalid and cut sequences).
  static func samples(count: Int, seed: UInt64) -> [[UInt8]] {
    var random = Generator(state: seed)
    let pieces: [[UInt8]] = [
      [0x00], [0x01], [0x7F], [0xFF], Array("0".utf8), Array("6".utf8), Array("a".utf8), Array("F".utf8),
      Array("??".utf8), Array("=".utf8), Array("(".utf8), Array("\"".utf8), Array("\\".utf8), Array("'".utf8),
      Array("\n".utf8), Array("\r".utf8), Array("\t".utf8), Array("é".utf8), Array("日本".utf8),
      Array("e\u{301}".utf8), [0xCC, 0x81], [0xEE, 0x80, 0x80], [0xE2, 0x80, 0xAE], [0xE2, 0x80, 0x8D],
      [0xC2, 0xA0], [0xC2, 0x9B], [0xE6, 0x97], [0xF0, 0x9F, 0x98, 0x80], [0xED, 0xA0, 0x80], [0xC0, 0xAF],
      Array("hello ".utf8), Array("*/".utf8), Array("%s".utf8),
    ]
    return (0..<count).map { _ in
      var bytes: [UInt8] = []
      for _ in 0..<Int.random(in: 0...12, using: &random) {
        if Bool.random(using: &random) {
          bytes += pieces.randomElement(using: &random)!
        } else {
          bytes.append(UInt8.random(in: 0...255, using: &random))
        }
      }
      return bytes
    }
  }

  @Test(arguments: [ByteText.Form.text, .ascii])
  func shownBytesReadBackAsTheSameBytes(form: ByteText.Form) throws {
    for bytes in Self.samples(count: 5000, seed: 7) {
      let shown = ByteText.quoted(bytes, form: form)
      let tokens = try Lexer.tokenize(bytes: Array(shown.utf8))
      #expect(tokens.count == 1 && tokens[0].bytes == bytes, "\(bytes) was shown as \(shown)")
      #expect(!ByteTextTests.hasRawControl(shown), "\(shown)")
      if form == .ascii { #expect(shown.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }) }
    }
  }

  /// The same strings in a C program, compiled in GNU mode and in ISO C mode (where trigraphs
  /// are on), give the same bytes.
  @Test(arguments: ["-std=gnu17", "-std=c11"])
  func shownBytesAreTheSameBytesInC(standard: String) throws {
    guard let cc = which("cc") ?? which("gcc") else {
      Issue.record("no C compiler (gcc is in scripts/debian-packages.txt)")
      return
    }
    let samples = Self.samples(count: 400, seed: 11)
    var program = "#include <stdio.h>\nstatic void show(const char *s, size_t n) {\n"
    program += "  for (size_t i = 0; i < n; i++) printf(\"%02x\", (unsigned char)s[i]);\n  printf(\"\\n\");\n}\n"
    program += "int main(void) {\n"
    for bytes in samples {
      let literal = ByteText.quoted(bytes)
      program += "  { static const char s[] = \(literal); show(s, sizeof s - 1); }\n"
    }
    program += "  return 0;\n}\n"
    let source = temporary("bytes.c")
    let binary = temporary("bytes")
    defer { for path in [source, binary] { unlink(path) } }
    try program.write(toFile: source, atomically: true, encoding: .utf8)
    let build = try runProgram(cc, [standard, "-Wall", "-Wextra", "-Werror", "-o", binary, source])
    #expect(build.status == 0, "\(build.stderr)")
    let output = try runProgram(binary, []).stdout.split(separator: "\n", omittingEmptySubsequences: false)
    for (index, bytes) in samples.enumerated() {
      #expect(
        String(output[index]) == bytes.map(ByteText.hex2).joined(),
        "\(bytes) as \(ByteText.quoted(bytes)) in C")
    }
  }

  @Test func shownBytesAreTheSameBytesInPython() throws {
    let python = try #require(which("python3"))
    let samples = Self.samples(count: 2000, seed: 13)
    let program =
      "for b in [\n" + samples.map { "  b" + ByteText.quoted($0, form: .ascii) + ",\n" }.joined()
      + "]:\n  print(b.hex())\n"
    let source = temporary("bytes.py")
    defer { unlink(source) }
    try program.write(toFile: source, atomically: true, encoding: .utf8)
    let result = try runProgram(python, ["-W", "error", source])
    #expect(result.status == 0, "\(result.stderr)")
    let output = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    for (index, bytes) in samples.enumerated() {
      #expect(String(output[index]) == bytes.map(ByteText.hex2).joined(), "\(bytes) in Python")
    }
  }

  /// Marks show on a letter, never on a quote, an escape or a space; private-use text and
  /// lookalike spaces are escaped.
  @Test func marksJoinOnlyALetter() {
    #expect(ByteText.quoted(Array("e\u{301}".utf8)) == "\"e\u{301}\"")
    #expect(ByteText.quoted([0xCC, 0x81]) == #""\xcc\x81""#)
    #expect(ByteText.quoted([0x01, 0xCC, 0x81]) == #""\x01\xcc\x81""#)
    #expect(ByteText.quoted(Array(" \u{301}".utf8)) == #"" \xcc\x81""#)
    #expect(ByteText.quoted([0xBE, 0xEF, 0x85, 0x80]) == #""\xbe\xef\x85\x80""#)
    #expect(ByteText.quoted([0xC2, 0xA0]) == #""\xc2\xa0""#)
    #expect(ByteText.quoted([0x01, 0x36, 0x0A]) == #""\0016\n""#)
    #expect(ByteText.quoted(Array("??=".utf8)) == #""?\x3f=""#)
    // Characters that draw nothing are escaped; a variation selector stays with its emoji.
    #expect(ByteText.quoted(Array("\u{115F}\u{3164}\u{200B}".utf8)) == #""\xe1\x85\x9f\xe3\x85\xa4\xe2\x80\x8b""#)
    #expect(ByteText.quoted(Array("\u{2764}\u{FE0F}".utf8)) == "\"\u{2764}\u{FE0F}\"")
    #expect(ByteText.quoted(Array("a\u{FE00}b\u{2800}".utf8)) == #""a\xef\xb8\200b\xe2\xa0\x80""#)
  }
}
