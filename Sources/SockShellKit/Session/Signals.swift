#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
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

  /// Starts a timer that interrupts a blocking call after `seconds` (scripts only).
  static func armAlarm(seconds: Int) {
    alarmed.store(false, ordering: .relaxed)
    var timer = itimerval()
    timer.it_value.tv_sec = seconds
    setitimer(__itimer_which_t(ITIMER_REAL.rawValue), &timer, nil)
  }

  /// Stops the timer; returns whether it fired.
  static func disarmAlarm() -> Bool {
    var timer = itimerval()
    setitimer(__itimer_which_t(ITIMER_REAL.rawValue), &timer, nil)
    return alarmed.exchange(false, ordering: .relaxed)
  }
}
