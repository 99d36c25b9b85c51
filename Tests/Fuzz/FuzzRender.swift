// libFuzzer target: the renderer of bytes. Properties: what reaches the terminal never holds a
// raw control byte (C0, DEL, C1) or an invisible format character, and what the renderer shows
// reads back, as DATA, as exactly the same bytes (in both forms).
import SockShellKit
import SocketLayer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRender(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  let out = Output.capture()
  out.line(ByteText.quoted(bytes, limit: 64))
  out.line(String(decoding: bytes, as: UTF8.self))
  for line in ByteText.hexDump(bytes) { out.line(line) }
  for scalar in out.captured.unicodeScalars where scalar != "\n" {
    if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
      || scalar.properties.generalCategory == .format
    {
      fatalError("raw control U+\(String(scalar.value, radix: 16)) reached the output for \(bytes)")
    }
  }
  for form in [ByteText.Form.text, .ascii] {
    let shown = ByteText.quoted(bytes, form: form)
    guard let tokens = try? Lexer.tokenize(bytes: Array(shown.utf8)), tokens.count == 1, tokens[0].bytes == bytes
    else { fatalError("\(bytes) was shown as \(shown), which does not read back as the same bytes") }
  }
  return 0
}
