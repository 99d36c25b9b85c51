import SocketLayer

/// A system call the shell makes for the learner. Each command declares the calls it makes in
/// its own file (`extension Syscall { static let bind = Syscall("bind", drawnInTimeline: true) }`)
/// and lists them in `ShellCommand.syscalls`: checks (`called bind`) and the timeline know them
/// from there.
public struct Syscall: Hashable, Sendable, CustomStringConvertible {
  /// The C function's name: `bind`.
  public let name: String
  /// `timeline` draws it; its descriptor's addresses are kept with it.
  public let drawnInTimeline: Bool
  /// Which way its data goes, for a call that carries data (the `sent` and `received` checks).
  public let carries: Direction?

  public enum Direction: Sendable { case outgoing, incoming }

  public init(_ name: String, drawnInTimeline: Bool = false, carries: Direction? = nil) {
    self.name = name
    self.drawnInTimeline = drawnInTimeline
    self.carries = carries
  }

  public var description: String { name }

  public static func == (a: Syscall, b: Syscall) -> Bool { a.name == b.name }
  public func hash(into hasher: inout Hasher) { hasher.combine(name) }

  /// Every system call that a command of the registry makes.
  public static var all: [Syscall] { Registry.commands.flatMap { $0.syscalls } }

  /// The system call called `name`, if a command makes it.
  public static func named(_ name: String) -> Syscall? { all.first { $0.name == name } }

  /// It sends data (send, sendto).
  public var sends: Bool { carries == .outgoing }
  /// It receives data (recv, recvfrom).
  public var receives: Bool { carries == .incoming }
}

/// One argument of a system call, as strace shows it.
public enum CallArgument: Sendable, Equatable {
  /// A descriptor, a length, a backlog: `3`, `16`.
  case number(Int)
  /// A C constant or an expression of them: `AF_INET`, `MSG_PEEK|MSG_DONTWAIT`, `SHUT_WR`, `NULL`.
  case symbol(String)
  /// A socket address, as its C structure: `{sa_family=AF_INET, sin_port=htons(80), ...}`.
  case address(SocketAddress)
  /// A length the kernel wrote back: `[16]`.
  case writtenLength(Int)
  /// A buffer of bytes: `"hello\n"` (its first bytes: as many as are shown, and one more to
  /// say there are more; a call's record does not keep a 16 MiB buffer).
  case bytes([UInt8])

  /// The argument for a buffer, as much of it as is shown.
  static func buffer(_ bytes: [UInt8]) -> CallArgument {
    .bytes(bytes.count > DataView.previewLimit ? Array(bytes.prefix(DataView.previewLimit + 1)) : bytes)
  }
  /// A buffer or address the call did not fill (it failed): `0x...`.
  case unfilled
  /// A C value written out whole: an option's value, poll's array of `struct pollfd`.
  case value(String)
}

/// One system call the session made: what it was given and what came back, as values. The
/// strace-style text is made from it in one place (`CallText`); `timeline`, the checks, `trace`
/// and whoever observes the session read the values.
public struct CallRecord: Sendable {
  public let kind: Syscall
  public let fd: Int32?
  public let arguments: [CallArgument]
  /// The return value (-1 on failure).
  public let result: Int
  public let errno: Errno?
  /// What to show for the result instead of the number (fcntl F_GETFL: the flags).
  public var shownResult: String? = nil
  /// Bytes sent or received: the first 4 KiB, or 64 bytes once the call is old (`CallLog.add`).
  public internal(set) var data: [UInt8] = []
  /// The address the call was given (bind, connect, sendto) or gave back (accept, recvfrom).
  public var address: SocketAddress? = nil
  /// shutdown: which direction.
  public var how: ShutdownHow? = nil
  /// The name the line gave the descriptor the call made (`srv` in `srv = socket tcp`).
  public var name: String? = nil
  /// The descriptor's label then ("3 (srv)"), and its addresses after the call (close: before).
  public var label: String? = nil
  public var local: SocketAddress? = nil
  public var peer: SocketAddress? = nil
  /// The connection ended with a reset: close with unread data sends one; a send whose peer had
  /// closed got one back (the socket reads CLOSED after it).
  public var reset = false
  /// The descriptor's type (a datagram's 0 bytes are not an end of stream).
  public var socketType: SocketType? = nil
  /// Unix stream sockets: the socket's inode and its peer's (sock_diag), which tell two unnamed
  /// ends apart; nil for others.
  public var inode: UInt64? = nil
  public var peerInode: UInt64? = nil

  /// The call's name: `bind`.
  public var syscall: String { kind.name }
  /// The call as printed: `bind(3, {...}, 16)`.
  public var call: String { CallText.call(self) }
}

/// The strace-style text of a call: the one place calls are written out.
public enum CallText {
  /// `bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16)`.
  public static func call(_ record: CallRecord) -> String {
    record.kind.name + "(" + record.arguments.map(text).joined(separator: ", ") + ")"
  }

  /// The call with its result: `= 0`, `= -1 EADDRINUSE (Address already in use)`.
  public static func line(_ record: CallRecord) -> String {
    if let errno = record.errno { return "\(call(record)) = -1 \(errno.name) (\(errno.message))" }
    let text = "\(call(record)) = \(record.shownResult ?? String(record.result))"
    return record.name.map { text.padded(to: 66) + " " + $0 } ?? text
  }

  static func text(_ argument: CallArgument) -> String {
    switch argument {
    case .number(let value): "\(value)"
    case .symbol(let name): name
    case .address(let address): address.cDescription
    case .writtenLength(let length): "[\(length)]"
    case .bytes(let bytes): DataView.preview(bytes)
    case .unfilled: "0x..."
    case .value(let text): text
    }
  }
}

/// The calls a session made, oldest first, and who hears of each as it is made.
public struct CallLog {
  public private(set) var records: [CallRecord] = []
  /// Told of every call as it is made (the wire, a classroom feed).
  public var observers: [(CallRecord) -> Void] = []
  /// Bytes of data held in `records`, and how many of the oldest records are already trimmed.
  var keptDataBytes = 0
  var trimmedRecords = 0
  /// Past this much data in `records`, the oldest calls keep only their first 64 bytes (enough
  /// for `timeline`), so that a long session's memory stays bounded.
  static let keptDataLimit = 1 << 20

  /// Adds a call and tells the observers; past `keptDataLimit` bytes of data, trims the oldest
  /// calls' data.
  mutating func add(_ record: CallRecord) {
    records.append(record)
    keptDataBytes += record.data.count
    while keptDataBytes > CallLog.keptDataLimit && trimmedRecords < records.count - 1 {
      let count = records[trimmedRecords].data.count
      if count > 64 {
        records[trimmedRecords].data = Array(records[trimmedRecords].data.prefix(64))
        keptDataBytes -= count - 64
      }
      trimmedRecords += 1
    }
    for observer in observers { observer(record) }
  }
}

extension SocketAddress {
  /// The structure as strace prints it:
  /// `{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}`.
  public var cDescription: String {
    switch self {
    case .ipv4(_, let port):
      return "{sa_family=AF_INET, sin_port=htons(\(port)), sin_addr=inet_addr(\"\(host)\")}"
    case .ipv6(_, let port, let scope):
      return
        "{sa_family=AF_INET6, sin6_port=htons(\(port)), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"\(host)\", &sin6_addr), sin6_scope_id=\(scope)}"
    case .unix(let path):
      return "{sa_family=AF_UNIX, sun_path=\(ByteText.quoted(path, limit: 108))}"
    case .abstract(let name):
      return "{sa_family=AF_UNIX, sun_path=@\(ByteText.quoted(name, limit: 108))}"
    case .unnamed:
      return "{sa_family=AF_UNIX}"
    }
  }
}
