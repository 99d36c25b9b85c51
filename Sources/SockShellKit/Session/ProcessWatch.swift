import SocketLayer

/// What the shell knows of other processes' sockets: the address pairs their connections held
/// (to find their TIME_WAIT leftovers later), the TCP states each socket was seen in (for
/// `tcp PID:FD`), and the processes being watched (`watch PID`): a timer of the event loop reads
/// their sockets and prints each change above the prompt, as the partner's lines are printed.
final class ProcessWatcher {
  /// Address pairs ("local>peer") of each process's connections, as seen.
  private var pairsSeen: [Int32: Set<String>] = [:]
  /// TCP states seen, by process and socket inode.
  private var statesSeen: [Int32: [UInt64: [TCPState]]] = [:]
  /// The processes watched, with what was last seen of them.
  private(set) var watched: [Int32: ProcessView] = [:]
  private var timer: Int?
  /// How often a watched process is read: every 0.1 s, or less often when a reading takes long
  /// (a process with thousands of sockets), so that watching takes at most a fifth of the CPU.
  static let interval = 0.1
  private(set) var currentInterval = ProcessWatcher.interval
  /// Whether the slower reading was said (once).
  private var saidSlower = false
  /// At most this many changes printed per read; the rest are counted.
  static let maxLinesPerRead = 20

  func pairs(of pid: Int32) -> Set<String> { pairsSeen[pid] ?? [] }

  func states(of pid: Int32, inode: UInt64) -> [TCPState] { statesSeen[pid]?[inode] ?? [] }

  /// Remembers what a reading of `view` showed.
  func saw(_ view: ProcessView) {
    pairsSeen[view.pid, default: []].formUnion(view.pairs)
    for socket in view.sockets where socket.isTCP {
      guard let state = socket.inet?.state else { continue }
      if statesSeen[view.pid, default: [:]][socket.inode]?.last != state {
        statesSeen[view.pid, default: [:]][socket.inode, default: []].append(state)
      }
    }
  }

  /// Starts watching `pid` (its sockets now are the first reading), printing to `session`.
  func start(_ view: ProcessView, session: Session) {
    watched[view.pid] = view
    saw(view)
    guard timer == nil else { return }
    schedule(ProcessWatcher.interval, session: session)
  }

  private func schedule(_ seconds: Double, session: Session) {
    if let timer { session.loop.cancel(timer) }
    currentInterval = seconds
    timer = session.loop.every(seconds) { [weak self, weak session] in
      guard let self, let session else { return }
      let started = EventLoop.now()
      self.tick(session)
      guard self.timer != nil else { return }
      let wanted = max(ProcessWatcher.interval, (EventLoop.now() - started) * 5)
      if abs(wanted - self.currentInterval) > self.currentInterval / 2 {
        if wanted > self.currentInterval && !self.saidSlower {
          self.saidSlower = true
          session.out.line(
            "watch> a reading takes \(Int(((EventLoop.now() - started) * 1000).rounded())) ms: now read every \(Int((wanted * 1000).rounded())) ms (a change shorter than that may not be seen)",
            .note)
        }
        self.schedule(wanted, session: session)
      }
    }
  }

  func stop(_ pid: Int32, session: Session) {
    watched[pid] = nil
    if watched.isEmpty, let timer {
      session.loop.cancel(timer)
      self.timer = nil
    }
  }

  func stopAll(session: Session) {
    for pid in Array(watched.keys) { stop(pid, session: session) }
  }

  /// One reading of every watched process: each change printed, under the process's number.
  func tick(_ session: Session) {
    for (pid, old) in watched.sorted(by: { $0.key < $1.key }) {
      switch ProcessSockets.exists(pid)
        ? ProcessView.read(pid, pairs: pairs(of: pid)) : .failure(CommandRefusal("ended"))
      {
      case .success(let new):
        saw(new)
        watched[pid] = new
        let lines = ProcessWatcher.changes(from: old, to: new)
        for line in lines.prefix(ProcessWatcher.maxLinesPerRead) { session.out.line("watch \(pid)> " + line, .note) }
        if lines.count > ProcessWatcher.maxLinesPerRead {
          session.out.line(
            "watch \(pid)> ... and \(lines.count - ProcessWatcher.maxLinesPerRead) more changes (ls \(pid) shows them all)",
            .note)
        }
      case .failure(let refusal):
        let ended = !ProcessSockets.exists(pid)
        session.out.line(
          "watch \(pid)> " + (ended ? "process \(pid) ended: watching stops" : "\(refusal.message): watching stops"),
          .note)
        stop(pid, session: session)
      }
    }
  }

  /// What changed between two readings of a process, in words.
  static func changes(from old: ProcessView, to new: ProcessView) -> [String] {
    var lines: [String] = []
    let before = Dictionary(old.sockets.map { ($0.inode, $0) }, uniquingKeysWith: { first, _ in first })
    let after = Dictionary(new.sockets.map { ($0.inode, $0) }, uniquingKeysWith: { first, _ in first })
    let listenerPorts = Set(new.sockets.filter { $0.listening && $0.isTCP }.compactMap { $0.inet?.local.port })
    for socket in new.sockets {
      guard let was = before[socket.inode] else {
        if socket.isConnection, let row = socket.inet, let port = row.local.port, listenerPorts.contains(port) {
          let listener = new.sockets.first { $0.listening && $0.inet?.local.port == row.local.port }
          lines.append(
            "fd \(socket.fd): accepted \(socket.peer) on \(socket.local) (\(socket.state))"
              + (listener.map { ", from the listener fd \($0.fd)" } ?? ""))
        } else {
          lines.append(
            "fd \(socket.fd): new \(socket.kind) socket, \(socket.state) \(socket.local)"
              + (socket.peer == "-" ? "" : " to \(socket.peer)"))
        }
        continue
      }
      if socket.kind == "socket" && was.kind != "socket" {
        // Gone from sock_diag while the descriptor stays: a TCP connection that ended (a reset).
        lines.append(
          "fd \(socket.fd): \(was.state) → no longer listed by sock_diag"
            + (was.isTCP
              ? ": the connection ended (a reset, most likely) and the descriptor is still open (inspect \(new.pid):\(socket.fd) reads it)"
              : ""))
        continue
      }
      if was.state != socket.state {
        lines.append("fd \(socket.fd): \(was.state) → \(socket.state)" + meaning(of: socket))
      } else if was.local != socket.local || was.peer != socket.peer {
        lines.append(
          "fd \(socket.fd): now \(socket.local)" + (socket.peer == "-" ? "" : " to \(socket.peer)"))
      }
      if was.recvQ != socket.recvQ || was.sendQ != socket.sendQ {
        if socket.listening {
          if was.recvQ != socket.recvQ {
            lines.append(
              "fd \(socket.fd): \(socket.recvQ ?? 0) connection\(socket.recvQ == 1 ? "" : "s") waiting for accept (backlog \(socket.sendQ ?? 0))"
            )
          }
        } else {
          var parts: [String] = []
          if was.recvQ != socket.recvQ { parts.append("RECV-Q \(was.recvQ ?? 0) → \(socket.recvQ ?? 0)") }
          if was.sendQ != socket.sendQ { parts.append("SEND-Q \(was.sendQ ?? 0) → \(socket.sendQ ?? 0)") }
          let unread =
            (socket.recvQ ?? 0) > 0 && socket.isTCP
            ? (ProcessSocket.finCounted.contains(socket.state)
              ? " (RECV-Q counts 1 for the peer's FIN until the program's recv returns 0)"
              : " (bytes the program has not read)") : ""
          lines.append("fd \(socket.fd): " + parts.joined(separator: ", ") + unread)
        }
      }
    }
    for socket in old.sockets where after[socket.inode] == nil {
      lines.append(
        "fd \(socket.fd): closed (it was \(socket.state)" + (socket.peer == "-" ? "" : " with \(socket.peer)") + ")")
    }
    let keptBefore = Set(old.leftovers.map { "\($0.local)>\($0.remote)>\($0.state?.name ?? "")" })
    for row in new.leftovers where !keptBefore.contains("\(row.local)>\(row.remote)>\(row.state?.name ?? "")") {
      lines.append(
        "kept by the kernel with no descriptor: \(row.local) to \(row.remote), \(row.state?.name ?? "?")"
          + (row.timer == 3 ? " (\(Int(row.timerSeconds.rounded())) s left)" : ""))
    }
    return lines
  }

  /// What a state a socket moved into means for the program.
  static func meaning(of socket: ProcessSocket) -> String {
    switch socket.state {
    case "CLOSE_WAIT": " (the peer closed its side: recv returns 0; the program should close fd \(socket.fd))"
    case "ESTABLISHED": " (connected)"
    case "FIN_WAIT1", "FIN_WAIT2": " (the program closed or shut down its side)"
    case "LISTEN": " (listening: listen was called)"
    case "CLOSED": " (the connection ended: reset, or both sides closed)"
    default: ""
    }
  }
}
