import SocketLayer
import Testing

@testable import SockShellKit

#if canImport(Glibc)
  import Glibc
#endif

/// The one event loop: sources, timers, a wait's own deadline and its own Ctrl-C.
@Suite struct EventLoopTests {
  func pipePair() -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    _ = pipe(&fds)
    return (fds[0], fds[1])
  }

  @Test func aSourceIsServedWhileAnotherDescriptorIsWaitedFor() {
    let loop = EventLoop()
    let waited = pipePair()
    let other = pipePair()
    defer { [waited.read, waited.write, other.read, other.write].forEach { close($0) } }
    var served = 0
    loop.watch(fd: other.read, events: Int16(POLLIN)) { _ in
      var byte: UInt8 = 0
      _ = read(other.read, &byte, 1)
      served += 1
      // The source's handler makes the waited descriptor ready.
      var answer: UInt8 = 1
      _ = write(waited.write, &answer, 1)
    }
    var byte: UInt8 = 0
    _ = write(other.write, &byte, 1)
    let ending = loop.wait(for: waited.read, events: Int16(POLLIN), deadline: EventLoop.now() + 5)
    #expect(served == 1)
    #expect(ending == .ready(Int16(POLLIN)))
  }

  @Test func timersFireAndAWaitInsideAHandlerServesNoHandler() {
    let loop = EventLoop()
    var fired = 0
    var innerEnding: EventLoop.Ending?
    loop.every(0.01) {
      fired += 1
      // An inner wait (a partner's call) polls only its own descriptor and deadline.
      innerEnding = loop.wait(for: nil, deadline: EventLoop.now() + 0.05)
    }
    let ending = loop.wait(for: nil, deadline: EventLoop.now() + 0.2)
    #expect(ending == .timedOut)
    #expect(fired >= 1 && fired <= 4, "fired \(fired) times")
    #expect(innerEnding == .timedOut)
  }

  @Test func aWaitEndsAtItsOwnDeadline() {
    let loop = EventLoop()
    let never = pipePair()
    defer { [never.read, never.write].forEach { close($0) } }
    let start = EventLoop.now()
    #expect(loop.wait(for: never.read, events: Int16(POLLIN), deadline: start + 0.05) == .timedOut)
    #expect(EventLoop.now() - start >= 0.05)
  }
  // A Ctrl-C sent to this process would reach the other tests' waits too: the one-Ctrl-C
  // behaviour is proved through a pseudo-terminal (oneCtrlCStopsABlockingAcceptWhileThePartnerWaits).
}

/// Calls are values: whoever observes the session gets them typed, and their text is the printed line.
@Suite struct CallEventTests {
  @Test func observersGetTypedCalls() throws {
    let session = makeSession()
    var seen: [CallRecord] = []
    session.calls.observers.append { seen.append($0) }
    runAll(session, "u = socket udp\nbind u 127.0.0.1:0\nsendto u 127.0.0.1:9 \"hi\"\nshutdown u write = -1 ENOTCONN")
    #expect(seen.map(\.kind) == [.socket, .bind, .sendto, .shutdown])
    #expect(seen[2].address == SocketAddress.numeric("127.0.0.1", port: 9))
    #expect(seen[2].data == Array("hi".utf8))
    #expect(seen[3].how == .write)
    #expect(seen[3].errno?.name == "ENOTCONN")
    for record in seen { #expect(session.out.captured.contains(CallText.line(record))) }
  }
}
