#if canImport(Glibc)
  import Glibc
#endif
import CSupport

/// The shell's one event loop: a poll over the descriptor being waited for, the registered
/// sources and the timers. Everything that waits goes through it: the prompt (the terminal),
/// a learner's blocking call, the partner's turns, `lesson test`, and the presenter's Enter.
/// A lesson's partner is a timer of this loop; the wire, a classroom connection and a watched
/// process are to be sources of it (`watch(fd:events:)`).
///
/// Single-threaded and re-entrant by design: a handler may start a wait of its own (a partner
/// call that waits), and that inner wait polls only its own descriptor and serves no handler,
/// so a handler never runs inside itself.
public final class EventLoop {
  /// How a wait ended.
  public enum Ending: Equatable {
    /// The descriptor is ready: its `revents`.
    case ready(Int16)
    /// Ctrl-C was pressed after the wait began.
    case interrupted
    /// The wait's own deadline passed.
    case timedOut
    /// poll failed (a descriptor that is not open): the call itself will say why.
    case failed
  }

  struct Source {
    let id: Int
    let fd: Int32
    let events: Int16
    let handler: (Int16) -> Void
  }

  struct Timer {
    let id: Int
    var due: Double
    let interval: Double
    let handler: () -> Void
  }

  var sources: [Source] = []
  var timers: [Timer] = []
  var nextID = 1
  /// True while a handler runs: waits inside it serve no handler.
  var dispatching = false
  /// Called after handlers ran, to show what they printed: the session that made the loop sets it
  /// to flush its output; the line editor replaces it while a line is being typed (the output
  /// goes above the prompt, which is drawn again).
  public var afterDispatch: (() -> Void)?

  public init() {}

  /// Calls `handler` with the `revents` whenever `fd` is ready for `events`.
  @discardableResult
  public func watch(fd: Int32, events: Int16, _ handler: @escaping (Int16) -> Void) -> Int {
    defer { nextID += 1 }
    sources.append(Source(id: nextID, fd: fd, events: events, handler: handler))
    return nextID
  }

  /// Calls `handler` every `seconds`.
  @discardableResult
  public func every(_ seconds: Double, _ handler: @escaping () -> Void) -> Int {
    defer { nextID += 1 }
    timers.append(Timer(id: nextID, due: EventLoop.now() + seconds, interval: seconds, handler: handler))
    return nextID
  }

  /// Changes what a source waits for (a connection wants POLLOUT only while it has data to send).
  public func setEvents(_ id: Int, _ events: Int16) {
    guard let index = sources.firstIndex(where: { $0.id == id }), sources[index].events != events else { return }
    let source = sources[index]
    sources[index] = Source(id: source.id, fd: source.fd, events: events, handler: source.handler)
  }

  /// Removes a source or timer.
  public func cancel(_ id: Int) {
    sources.removeAll { $0.id == id }
    timers.removeAll { $0.id == id }
  }

  /// Seconds on the monotonic clock.
  public static func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
  }

  /// Waits until `fd` is ready for `events` (nil: only for the deadline), serving the other
  /// sources and the timers meanwhile. Ends early when `interrupt` sees a Ctrl-C, or at
  /// `deadline` (monotonic seconds; nil: none).
  public func wait(
    for fd: Int32?, events: Int16 = Int16(POLLIN), deadline: Double? = nil, interrupt: InterruptWatch? = nil
  ) -> Ending {
    wait(forAny: fd.map { [$0] } ?? [], events: events, deadline: deadline, interrupt: interrupt)
  }

  /// The same for several descriptors: ready as soon as one of them is (`poll FD... --timeout`).
  public func wait(
    forAny fds: [Int32], events: Int16 = Int16(POLLIN), deadline: Double? = nil, interrupt: InterruptWatch? = nil
  ) -> Ending {
    while true {
      if interrupt?.pressed == true { return .interrupted }
      let now = EventLoop.now()
      if let deadline, now >= deadline { return .timedOut }
      let serving = !dispatching
      var entries = fds.map { pollfd(fd: $0, events: events, revents: 0) }
      let served = serving ? sources : []
      for source in served { entries.append(pollfd(fd: source.fd, events: source.events, revents: 0)) }
      var until = deadline
      if serving, let due = timers.map(\.due).min() { until = min(until ?? due, due) }
      let timeout = until.map { Int32(max(0, min(3_600_000, (($0 - now) * 1000).rounded(.up)))) } ?? -1
      let ready: Int32
      var pollError: Int32 = 0
      if let interrupt {
        // Race-free: SIGINT is blocked from the check to the wait, which unblocks it atomically
        // (ppoll), so a Ctrl-C that comes in between interrupts the wait instead of being missed.
        var intOnly = sigset_t()
        sigemptyset(&intOnly)
        sigaddset(&intOnly, SIGINT)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &intOnly, &previous)
        if interrupt.pressed {
          pthread_sigmask(SIG_SETMASK, &previous, nil)
          return .interrupted
        }
        var during = previous
        sigdelset(&during, SIGINT)
        ready = entries.withUnsafeMutableBufferPointer { buffer in
          csupport_ppoll(buffer.baseAddress, UInt(buffer.count), timeout, &during)
        }
        pollError = errno
        pthread_sigmask(SIG_SETMASK, &previous, nil)
      } else {
        ready = entries.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeout) }
        pollError = errno
      }
      if ready < 0 {
        if pollError == EINTR { continue }  // a signal: Ctrl-C ends the wait at the top, others do not
        return .failed
      }
      if let ready = entries.prefix(fds.count).first(where: { $0.revents != 0 }) { return .ready(ready.revents) }
      guard serving else { continue }
      var ran = false
      dispatching = true
      for (index, source) in served.enumerated() {
        let revents = entries[index + fds.count].revents
        if revents != 0, sources.contains(where: { $0.id == source.id }) {
          source.handler(revents)
          ran = true
        }
      }
      let after = EventLoop.now()
      for timer in timers where timer.due <= after {
        guard let index = timers.firstIndex(where: { $0.id == timer.id }) else { continue }
        timers[index].due = after + timer.interval
        timer.handler()
        ran = true
      }
      dispatching = false
      if ran { afterDispatch?() }
    }
  }

  /// No source and no timer: a wait has nothing to serve but its own descriptor.
  public var isIdle: Bool { sources.isEmpty && timers.isEmpty }
}

/// A wait's own view of Ctrl-C: whether it was pressed since the wait began. Nothing clears
/// it for another wait, so a call made inside a wait (the partner's) cannot swallow the
/// learner's Ctrl-C, and one press stops every wait it lands in.
public struct InterruptWatch: Sendable {
  let start: Int

  public init() { start = Signals.interruptCount }

  /// Ctrl-C since the wait began, or a signal that ends the shell (every wait ends then).
  public var pressed: Bool { Signals.interruptCount != start || Signals.terminationSignal != nil }
}
