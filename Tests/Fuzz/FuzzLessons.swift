// libFuzzer target: the lesson loader (Markdown and front matter). Properties: no crash; every
// problem is reported as FILE:LINE: message; nothing outside the policy for lines from elsewhere
// loads (a lesson that loads runs only socket calls on loopback).
import SockShellKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLessons(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  do {
    let lesson = try LessonLoader.parse(text, path: "fuzz.md")
    let outside = LessonLoader.linesOutsidePolicy(lesson)
    if !outside.isEmpty { fatalError("a lesson loaded with lines outside the policy: \(outside)") }
  } catch {
    for problem in error.problems where !problem.hasPrefix("fuzz.md:") {
      fatalError("a problem without FILE:LINE: \(problem)")
    }
  }
  return 0
}
