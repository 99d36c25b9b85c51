#if canImport(Glibc)
  import Glibc
#endif

/// An error number returned by a system call, with its symbolic name and the C library's text.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
  public let code: Int32

  public init(_ code: Int32) { self.code = code }

  /// The errno set by the last failing call on this thread.
  public static var current: Errno { Errno(errno) }

  /// The symbolic name, as in `<errno.h>`: `ECONNREFUSED`.
  public var name: String { Errno.names[code] ?? "E\(code)" }

  /// The C library's text for it (`strerror`): "Connection refused".
  public var message: String {
    guard let text = strerror(code) else { return "Unknown error \(code)" }
    return String(cString: text)
  }

  public var description: String { "\(name) (\(message))" }

  /// Looks an errno up by name (`EADDRINUSE`, `eaddrinuse`, `EWOULDBLOCK`) or number (`98`).
  public init?(named text: String) {
    if let number = Int32(text), number > 0, number < 4096 {
      self.init(number)
      return
    }
    let upper = text.uppercased()
    if upper == "EWOULDBLOCK" {
      self.init(EAGAIN)
      return
    }
    if upper == "ENOTSUP" {
      self.init(EOPNOTSUPP)
      return
    }
    guard let code = Errno.codes[upper] else { return nil }
    self.init(code)
  }

  public static var allNames: [String] { names.values.sorted() }

  static let names: [Int32: String] = [
    EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF",
    EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY",
    EEXIST: "EEXIST", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE",
    EMFILE: "EMFILE", ENOSPC: "ENOSPC", EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG",
    ENOSYS: "ENOSYS", ELOOP: "ELOOP", ENOTSOCK: "ENOTSOCK", EDESTADDRREQ: "EDESTADDRREQ",
    EMSGSIZE: "EMSGSIZE", EPROTOTYPE: "EPROTOTYPE", ENOPROTOOPT: "ENOPROTOOPT",
    EPROTONOSUPPORT: "EPROTONOSUPPORT", ESOCKTNOSUPPORT: "ESOCKTNOSUPPORT",
    EOPNOTSUPP: "EOPNOTSUPP", EPFNOSUPPORT: "EPFNOSUPPORT", EAFNOSUPPORT: "EAFNOSUPPORT",
    EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL", ENETDOWN: "ENETDOWN",
    ENETUNREACH: "ENETUNREACH", ENETRESET: "ENETRESET", ECONNABORTED: "ECONNABORTED",
    ECONNRESET: "ECONNRESET", ENOBUFS: "ENOBUFS", EISCONN: "EISCONN", ENOTCONN: "ENOTCONN",
    ESHUTDOWN: "ESHUTDOWN", ETIMEDOUT: "ETIMEDOUT", ECONNREFUSED: "ECONNREFUSED",
    EHOSTDOWN: "EHOSTDOWN", EHOSTUNREACH: "EHOSTUNREACH", EALREADY: "EALREADY",
    EINPROGRESS: "EINPROGRESS", ENOTTY: "ENOTTY", ERANGE: "ERANGE", ENODEV: "ENODEV", ESRCH: "ESRCH",
  ]
  static let codes: [String: Int32] = Dictionary(uniqueKeysWithValues: names.map { ($1, $0) })
}

/// The result of a system call: its value, or the errno it failed with.
public typealias SysResult<T> = Result<T, Errno>

/// Runs a C call that returns -1 and sets errno on failure. EINTR is NOT retried: in a learner's
/// shell, Ctrl-C must come back as "interrupted" (swift-system's `valueOrErrno`, minus the retry).
@inline(__always)
func valueOrErrno<I: FixedWidthInteger>(_ body: () -> I) -> SysResult<I> {
  let value = body()
  return value == -1 ? .failure(.current) : .success(value)
}
