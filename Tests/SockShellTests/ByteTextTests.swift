import SocketLayer
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
    #expect(text == #"A\xff\xc3(\u{9b}B\u{202e}"#)
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
