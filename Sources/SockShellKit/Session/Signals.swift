#if canImport(Glibc)
  import Glibc
#endif
import CSupport
import Synchronization

/// Signal handling for the shell. Handlers only count: each wait compares the counts with those
/// it started with (`InterruptWatch`), so a signal belongs to the waits it lands in and no one
/// can clear it for another. SIGINT and SIGALRM are installed without SA_RESTART, so that a
/// blocking call returns EINTR and the shell regains control. SIGPIPE is ignored: writing to a
/// closed connection gives EPIPE, never a dead shell. SIGWINCH keeps its default (ignored): a
/// resize must not interrupt a blocking call, so the terminal's width is read again before each
/// command instead (`Output.measureWidth`).
public enum Signals {
  static let interrupts = Atomic<Int>(0)

  public static func install() {
    let onInterrupt: @convention(c) (Int32) -> Void = { _ in
      Signals.interrupts.add(1, ordering: .relaxed)
    }
    // SIGALRM only has to interrupt the call it was aimed at; the timer knows it fired.
    let onAlarm: @convention(c) (Int32) -> Void = { _ in }
    // SIGTERM, SIGHUP and SIGQUIT end the shell cleanly (never a core dump or a crash report):
    // the handler notes which came, every wait ends, and the runner closes and exits 128+N.
    let onTerminate: @convention(c) (Int32) -> Void = { number in
      Signals.termination.store(Int(number), ordering: .relaxed)
    }
    setHandler(SIGINT, onInterrupt)
    setHandler(SIGALRM, onAlarm)
    for number in [SIGTERM, SIGHUP, SIGQUIT] { setHandler(number, onTerminate) }
    signal(SIGPIPE, SIG_IGN)
    // A file-size limit (ulimit -f) makes a write fail with EFBIG, said like any failed write,
    // instead of killing the shell.
    signal(SIGXFSZ, SIG_IGN)
  }

  static let termination = Atomic<Int>(0)

  /// The signal that asks the shell to end (SIGTERM, SIGHUP, SIGQUIT), once one came.
  public static var terminationSignal: Int32? {
    let number = termination.load(ordering: .relaxed)
    return number == 0 ? nil : Int32(number)
  }

  /// `SIGTERM`, for the last line.
  public static func name(of number: Int32) -> String {
    switch number {
    case SIGTERM: "SIGTERM"
    case SIGHUP: "SIGHUP (the terminal went away)"
    case SIGQUIT: "SIGQUIT"
    case SIGPIPE: "SIGPIPE"
    case SIGKILL: "SIGKILL"
    case SIGSEGV: "SIGSEGV (a bad memory access)"
    case SIGABRT: "SIGABRT (abort)"
    case SIGXCPU: "SIGXCPU (its CPU time limit)"
    case SIGINT: "SIGINT"
    case SIGBUS: "SIGBUS"
    case SIGFPE: "SIGFPE"
    default: "signal \(number)"
    }
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

}

/// A one-shot timer that sends SIGALRM to the thread that made it (SIGEV_THREAD_ID), so that
/// the call it interrupts is the one waiting there, whatever other threads the process has. A
/// session keeps one and arms it for each wait that has a deadline: arming and disarming are
/// one timer_settime each.
final class AlarmClock {
  let timer: timer_t?
  let thread: pthread_t

  /// A timer for the calling thread; nil when the kernel gives none.
  init?() {
    var event = sigevent()
    event.sigev_notify = Int32(SIGEV_THREAD_ID)
    event.sigev_signo = SIGALRM
    event._sigev_un._tid = csupport_gettid()
    // The kernel numbers timers from 0, which Swift sees as a nil pointer: a valid timer all
    // the same (unwrapping it lost the first timeout of every process).
    var timer: timer_t?
    guard timer_create(CLOCK_MONOTONIC, &event, &timer) == 0 else { return nil }
    self.timer = timer
    thread = pthread_self()
    // The thread may block signals (a test's worker thread does): let SIGALRM in, for good.
    var alarmOnly = sigset_t()
    sigemptyset(&alarmOnly)
    sigaddset(&alarmOnly, SIGALRM)
    pthread_sigmask(SIG_UNBLOCK, &alarmOnly, nil)
  }

  deinit { timer_delete(timer) }

  /// Whether this timer signals the calling thread.
  var isForThisThread: Bool { pthread_equal(thread, pthread_self()) != 0 }

  /// Sends SIGALRM `seconds` from now (and then every `repeating` seconds, when given: a call
  /// entered a moment after the first signal is still stopped by the next).
  func arm(seconds: Double, repeating: Double? = nil) {
    var spec = itimerspec()
    spec.it_value = AlarmClock.timespec(seconds)
    if let repeating { spec.it_interval = AlarmClock.timespec(repeating) }
    timer_settime(timer, 0, &spec, nil)
  }

  static func timespec(_ seconds: Double) -> Glibc.timespec {
    let whole = max(0, seconds.rounded(.down))
    return Glibc.timespec(tv_sec: Int(whole), tv_nsec: max(1, Int((seconds - whole) * 1e9)))
  }

  /// Whether the armed timer went off (a one-shot timer that fired has no time left).
  var hasFired: Bool {
    var left = itimerspec()
    timer_gettime(timer, &left)
    return left.it_value.tv_sec == 0 && left.it_value.tv_nsec == 0
  }

  /// Stops it.
  func disarm() {
    var spec = itimerspec()
    timer_settime(timer, 0, &spec, nil)
  }
}
