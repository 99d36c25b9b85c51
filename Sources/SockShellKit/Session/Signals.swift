#if canImport(Glibc)
  import Glibc
#endif
import CSupport
import Synchronization

/// Signal handling for the shell. Handlers only count: each wait compares the counts with those
/// it started with (`InterruptWatch`), so a signal belongs to the waits it lands in and no one
/// can clear it for another. SIGINT and SIGALRM are installed without SA_RESTART, so that a
/// blocking call returns EINTR and the shell regains control. SIGPIPE is ignored: writing to a
/// closed connection gives EPIPE, never a dead shell. SIGWINCH tells the output to read the
/// terminal's width again.
public enum Signals {
  static let interrupts = Atomic<Int>(0)
  static let resizes = Atomic<Int>(0)

  public static func install() {
    let onInterrupt: @convention(c) (Int32) -> Void = { _ in
      Signals.interrupts.add(1, ordering: .relaxed)
    }
    // SIGALRM only has to interrupt the call it was aimed at; the timer knows it fired.
    let onAlarm: @convention(c) (Int32) -> Void = { _ in }
    let onResize: @convention(c) (Int32) -> Void = { _ in
      Signals.resizes.add(1, ordering: .relaxed)
    }
    setHandler(SIGINT, onInterrupt)
    setHandler(SIGALRM, onAlarm)
    setHandler(SIGWINCH, onResize)
    signal(SIGPIPE, SIG_IGN)
  }

  static func setHandler(_ number: Int32, _ handler: @convention(c) (Int32) -> Void) {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = handler
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0  // no SA_RESTART: blocking calls return EINTR
    sigaction(number, &action, nil)
  }

  /// How many Ctrl-Cs (SIGINT) the shell has had.
  public static var interruptCount: Int { interrupts.load(ordering: .relaxed) }

  /// How many times the terminal was resized (SIGWINCH).
  static var resizeCount: Int { resizes.load(ordering: .relaxed) }

  /// Starts a timer that interrupts a blocking call of this thread after `seconds` (scripts
  /// only). The signal is sent to this thread alone (SIGEV_THREAD_ID), so that the call it
  /// interrupts is the one waiting here, whatever other threads the process has.
  static func armAlarm(seconds: Double) -> AlarmTimer? {
    var event = sigevent()
    event.sigev_notify = Int32(SIGEV_THREAD_ID)
    event.sigev_signo = SIGALRM
    event._sigev_un._tid = csupport_gettid()
    // The kernel numbers timers from 0, which Swift sees as a nil pointer: a valid timer all
    // the same (unwrapping it lost the first timeout of every process).
    var timer: timer_t?
    guard timer_create(CLOCK_MONOTONIC, &event, &timer) == 0 else { return nil }
    // The calling thread may block signals (a worker thread does): let SIGALRM in while waiting.
    var alarmOnly = sigset_t()
    sigemptyset(&alarmOnly)
    sigaddset(&alarmOnly, SIGALRM)
    var previous = sigset_t()
    pthread_sigmask(SIG_UNBLOCK, &alarmOnly, &previous)
    var spec = itimerspec()
    let whole = max(0, seconds.rounded(.down))
    spec.it_value.tv_sec = Int(whole)
    spec.it_value.tv_nsec = max(1, Int((seconds - whole) * 1e9))
    timer_settime(timer, 0, &spec, nil)
    return AlarmTimer(timer: timer, previousMask: previous)
  }

  /// A running alarm.
  struct AlarmTimer {
    let timer: timer_t?
    let previousMask: sigset_t

    /// Stops the timer and restores the thread's signal mask; returns whether it fired (a
    /// one-shot timer that fired has no time left).
    func disarm() -> Bool {
      var left = itimerspec()
      timer_gettime(timer, &left)
      timer_delete(timer)
      var mask = previousMask
      pthread_sigmask(SIG_SETMASK, &mask, nil)
      return left.it_value.tv_sec == 0 && left.it_value.tv_nsec == 0
    }
  }
}
