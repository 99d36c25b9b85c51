import CSupport
import SocketLayer

#if canImport(Glibc)
  import Glibc
#endif

/// `sockshell --sandbox`: the shell in a private user and network namespace of its own, where a
/// learner without root may capture loopback (the wire) and bind ports below 1024. Entered at the
/// top of main, while the process has one thread; a refusal is said exactly and the shell goes on
/// without it.
public enum Sandbox {
  /// Whether this process is in the sandbox.
  public nonisolated(unsafe) static var entered = false
  /// Why it could not be entered, when it was asked for.
  nonisolated(unsafe) static var refused: String?

  /// `--sandbox`, anywhere before `--` (and `--wire` when this user may not capture here): enters
  /// the sandbox, or says why it cannot and goes on. The arguments without `--sandbox`.
  public static func enterIfAsked(_ arguments: [String]) -> [String] {
    let end = arguments.firstIndex(of: "--") ?? arguments.count
    let asked = arguments[..<end].contains("--sandbox")
    let rest = arguments.enumerated().filter { !($0.offset < end && $0.element == "--sandbox") }.map(\.element)
    let wire = arguments[..<end].contains("--wire")
    guard asked || (wire && !canCapture) else { return rest }
    for line in (enter() ?? welcome).split(separator: "\n") {
      for piece in Cells.wrap(String(line), width: 80) { Runner.printError(piece) }
    }
    return rest
  }

  /// Enters it; nil, or the reason it could not be.
  public static func enter() -> String? {
    var error: Int32 = 0
    let step = csupport_enter_sandbox(&error)
    if step == 0 {
      entered = true
      return nil
    }
    let reason = why(step: step, errno: Errno(error))
    refused = reason
    return reason
  }

  /// What a failed step means.
  static func why(step: Int32, errno: Errno) -> String {
    let cause: String
    switch (step, errno.name) {
    case (1, "EPERM"):
      cause =
        "this system does not let a user make a namespace (a seccomp policy, or user namespaces turned off: "
        + "kernel.unprivileged_userns_clone or user.max_user_namespaces)"
    case (1, "ENOSPC"):
      cause = "user namespaces are turned off here (user.max_user_namespaces is 0, or the limit is reached)"
    case (1, "EINVAL"): cause = "the process already had several threads (a bug: please report it)"
    case (1, "ENOSYS"), (1, "EOPNOTSUPP"): cause = "this kernel has no user namespaces"
    case (2, _), (3, _), (4, _):
      cause =
        "the kernel let the namespace be made but refused its user map (\(errno.name)): "
        + "a security policy such as AppArmor restricts unprivileged user namespaces"
    case (5, _): cause = "loopback could not be brought up in it (\(errno.name))"
    case (6, _): cause = "no capture socket could be opened in it (\(errno.name): \(errno.message))"
    default: cause = "\(errno.name): \(errno.message)"
    }
    return "sockshell: no sandbox: \(cause). Going on without it."
  }

  /// Said once the sandbox is entered.
  public static var welcome: String {
    """
    sockshell: in a sandbox, a private network namespace with loopback, and mc0 and mc1,
      two interfaces with multicast linked only to each other: ports bound here are
      invisible outside it, and the host's are not reachable.
      Another terminal joins it with:
      nsenter -t \(getpid()) --user --net --preserve-credentials
    """
  }

  /// Whether this process may capture loopback where it is (CAP_NET_RAW).
  public static var canCapture: Bool {
    guard case .success(let fd) = Capture.open() else { return false }
    _ = Glibc.close(fd)
    return true
  }
}
