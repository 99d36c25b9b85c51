#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import CSupport
import Synchronization

/// Signal handling for the shell. Handlers only set an atomic flag; SIGINT and SIGALRM are
/// installed without SA_RESTART, so that a blocking call returns EINTR and the shell regains
/// control. SIGPIPE is ignored: writing to a closed connection gives EPIPE, never a dead shell.
public enum Signals {
  static let interrupted = Atomic<Bool>(false)
  static let alarmed = Atomic<Bool>(false)

  public static func install() {
    _ = interrupted.load(ordering: .relaxed)
    _ = alarmed.load(ordering: .relaxed)
    let onInterrupt: @convention(c) (Int32) -> Void = { _ in
      Signals.interrupted.store(true, ordering: .relaxed)
    }
    let onAlarm: @convention(c) (Int32) -> Void = { _ in
      Signals.alarmed.store(true, ordering: .relaxed)
    }
    setHandler(SIGINT, onInterrupt)
    setHandler(SIGALRM, onAlarm)
    signal(SIGPIPE, SIG_IGN)
  }

  static func setHandler(_ number: Int32, _ handler: @convention(c) (Int32) -> Void) {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = handler
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0  // no SA_RESTART: blocking calls return EINTR
    sigaction(number, &action, nil)
  }

  /// Clears and returns whether Ctrl-C was pressed since the last call.
  public static func takeInterrupt() -> Bool {
    interrupted.exchange(false, ordering: .relaxed)
  }

  /// Starts a timer that interrupts a blocking call of this thread after `seconds` (scripts
  /// only). The signal is sent to this thread alone (SIGEV_THREAD_ID), so that the call it
  /// interrupts is the one waiting here, whatever other threads the process has.
  static func armAlarm(seconds: Int) -> AlarmTimer? {
    alarmed.store(false, ordering: .relaxed)
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
    spec.it_value.tv_sec = seconds
    timer_settime(timer, 0, &spec, nil)
    return AlarmTimer(timer: timer, previousMask: previous)
  }

  /// A running alarm.
  struct AlarmTimer {
    let timer: timer_t?
    let previousMask: sigset_t

    /// Whether the timer has fired (without stopping it).
    var fired: Bool { Signals.alarmed.load(ordering: .relaxed) }

    /// Stops the timer and restores the thread's signal mask; returns whether it fired.
    func disarm() -> Bool {
      timer_delete(timer)
      var mask = previousMask
      pthread_sigmask(SIG_SETMASK, &mask, nil)
      return Signals.alarmed.exchange(false, ordering: .relaxed)
    }
  }
}
