// libFuzzer target: the lesson loader (Markdown and front matter). Property: no crash; every
// problem is reported as FILE:LINE: message.
import SockShellKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLessons(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  do {
    _ = try LessonLoader.parse(text, path: "fuzz.md")
  } catch {
    for problem in error.problems where !problem.hasPrefix("fuzz.md:") {
      fatalError("a problem without FILE:LINE: \(problem)")
    }
  }
  return 0
}
