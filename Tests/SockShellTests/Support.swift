import CSupport
import SockShellKit
import SocketLayer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A session that writes into memory, for running lines against the real kernel in-process.
func makeSession(waitLimit: Int? = 5) -> Session {
  Signals.install()
  return Session(output: .capture(), options: .init(interactive: false, waitLimit: waitLimit))
}

/// Runs lines; returns each line's result.
@discardableResult
func run(_ session: Session, _ lines: String) -> [LineResult] {
  lines.split(separator: "\n").map { session.execute(String($0)) }
}

/// Runs lines and expects every one to hold; reports the output when one does not.
func runAll(_ session: Session, _ lines: String, sourceLocation: SourceLocation = #_sourceLocation) {
  for line in lines.split(separator: "\n") {
    let result = session.execute(String(line))
    #expect(result.ok, "line failed: \(line)\n\(session.out.captured)", sourceLocation: sourceLocation)
  }
}

/// The fd a name refers to.
func fd(_ session: Session, _ name: String) -> Int32? {
  session.openDescriptors.first { $0.name == name }?.fd
}

/// The port a descriptor is bound to.
func port(_ session: Session, _ name: String) -> UInt16? {
  guard let fd = fd(session, name) else { return nil }
  return (try? Sys.getsockname(fd).get())?.port
}

/// A listener `srv`, a client `c` connected to it, and the accepted `conn`: the start of most tests.
let connectedPair = """
  srv = socket tcp
  bind srv 127.0.0.1:0
  listen srv
  c = socket tcp
  connect c srv
  conn = accept srv

  """

/// Runs `body` on a thread of its own moved into a new network namespace with only loopback (as
/// root), for a test of what must never reach another address; its value, or nil (with the reason
/// printed) where the machine cannot make one. Sockets made in `body` belong to that namespace.
func inPrivateNetwork<T>(_ body: @escaping () -> T) -> T? {
  nonisolated(unsafe) var value: T?
  nonisolated(unsafe) var failure: Int32 = 0
  nonisolated(unsafe) let work = body
  var thread = pthread_t()
  let box = ThreadWork {
    if csupport_thread_private_network() != 0 {
      failure = errno
      return
    }
    value = work()
  }
  let started = pthread_create(
    &thread, nil,
    { raw in
      Unmanaged<ThreadWork>.fromOpaque(raw!).takeRetainedValue().run()
      return nil
    }, Unmanaged.passRetained(box).toOpaque())
  guard started == 0 else {
    print("skipped: no thread for a private network namespace (\(Errno(started).name))")
    return nil
  }
  pthread_join(thread, nil)
  if failure != 0 {
    print("skipped: this machine gives no private network namespace (unshare: \(Errno(failure).name); needs root)")
  }
  return value
}

/// What a thread of `inPrivateNetwork` runs.
final class ThreadWork {
  let run: () -> Void
  init(_ run: @escaping () -> Void) { self.run = run }
}
