// libFuzzer target: the command-line parser. Property: a parsed command prints back (as `save`
// writes it) to a line that parses to the same command.
import SockShellKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let parsed = try? Parser.parse(bytes: bytes) else { return 0 }
  let printed = parsed.text
  guard let again = try? Parser.parse(printed) else { fatalError("printed line does not parse: \(printed)") }
  if again.text != printed { fatalError("round trip differs: \(printed) -> \(again.text)") }
  return 0
}
