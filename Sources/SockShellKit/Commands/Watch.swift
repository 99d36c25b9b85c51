#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// `watch PID`: each change in another process's sockets, printed at the prompt as it happens
/// (read every 0.1 s: a new connection accepted, a state change, a queue growing, a close).
struct WatchCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "watch",
    synopsis: "watch [PID | off [PID]]",
    summary:
      "print each change in another process's sockets at the prompt (your own program's, run in another terminal)",
    example: "watch 4242",
    details: [
      "The process's sockets are read every 0.1 s from /proc/PID/fd and sock_diag, without stopping it: a change that comes and goes within that time is not seen.",
      "Each change is a line: a connection accepted, a state change (ESTABLISHED → CLOSE_WAIT), a queue that grows, a descriptor closed, a TIME_WAIT left behind.",
      "watch alone lists the processes watched; watch off stops them all, watch off PID one.",
    ],
    completion: [.words(["off"])],
    group: .options
  )

  enum Action: Equatable {
    case list
    case start(Int32)
    case stop(Int32?)
  }

  var action: Action

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    guard let token = arguments.peek else {
      action = .list
      return
    }
    arguments.index += 1
    if token.text == "off" {
      if let next = arguments.peek {
        guard let pid = Int32(next.text), pid > 0 else {
          throw arguments.error("'\(next.shown)' is not a process number: watch off PID", at: next)
        }
        arguments.index += 1
        action = .stop(pid)
      } else {
        action = .stop(nil)
      }
    } else {
      guard let pid = Int32(token.text), pid > 0 else {
        throw arguments.error(
          "'\(token.shown)' is not a process number: watch PID (ps, or pgrep NAME, gives it), or watch off", at: token)
      }
      action = .start(pid)
    }
    try arguments.finish()
  }

  var arguments: [String] {
    switch action {
    case .list: []
    case .start(let pid): ["\(pid)"]
    case .stop(let pid): ["off"] + (pid.map { ["\($0)"] } ?? [])
    }
  }

  var effects: Capabilities { [.readsProcesses, .changesShell] }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let watcher = context.host.processes
    switch action {
    case .list:
      let pids = watcher.watched.keys.sorted()
      session.note(
        pids.isEmpty
          ? "No process is watched (watch PID starts)."
          : "Watched: " + pids.map(String.init).joined(separator: ", ") + " (watch off stops).")
    case .start(let pid):
      guard pid != getpid() else {
        throw CommandRefusal("\(pid) is this shell: ls shows its sockets, and each command already shows what changed")
      }
      let view = try ProcessView.read(pid, pairs: watcher.pairs(of: pid)).get()
      guard let shell = context.host.session else { return .done }
      watcher.start(view, session: shell)
      view.show(session, wide: false)
      session.note(
        "Watching process \(pid): each change in its sockets prints here as it happens (watch off \(pid) stops).")
    case .stop(let pid?):
      guard watcher.watched[pid] != nil else { throw CommandRefusal("process \(pid) is not watched") }
      if let shell = context.host.session { watcher.stop(pid, session: shell) }
      session.note("No longer watching process \(pid).")
    case .stop(nil):
      if let shell = context.host.session { watcher.stopAll(session: shell) }
      session.note("Watching stopped.")
    }
    return .done
  }
}
