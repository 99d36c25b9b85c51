// libFuzzer target: the check language. Property: no crash, and a check that parses parses again
// from the same text.
import SockShellKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChecks(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  if let check = try? Check.parse(text), (try? Check.parse(text)) != check {
    fatalError("the same text parsed two ways: \(text)")
  }
  return 0
}
