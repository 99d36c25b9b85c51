// libFuzzer target: the renderer of received bytes. Property: what reaches the terminal never
// holds a raw control byte (C0, DEL, C1) or an invisible format character.
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
  return 0
}
