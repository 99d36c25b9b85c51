#if canImport(Glibc)
  import Glibc
#endif
import CSupport
import SocketLayer

/// Flags and data shared by send, recv, sendto and recvfrom.
enum Transfer {
  static let sendFlags: [(String, Int32, String)] = [
    ("oob", Int32(MSG_OOB), "MSG_OOB"),
    ("dontwait", Int32(MSG_DONTWAIT), "MSG_DONTWAIT"),
    ("nosignal", Int32(MSG_NOSIGNAL), "MSG_NOSIGNAL"),
    ("more", Int32(MSG_MORE), "MSG_MORE"),
  ]
  static let recvFlags: [(String, Int32, String)] = [
    ("peek", Int32(MSG_PEEK), "MSG_PEEK"),
    ("dontwait", Int32(MSG_DONTWAIT), "MSG_DONTWAIT"),
    ("waitall", Int32(MSG_WAITALL), "MSG_WAITALL"),
    ("oob", Int32(MSG_OOB), "MSG_OOB"),
    ("trunc", Int32(MSG_TRUNC), "MSG_TRUNC"),
  ]
  static var sendFlagNames: [String] { sendFlags.map(\.0) }
  static var recvFlagNames: [String] { recvFlags.map(\.0) }

  /// The bits and the C text (`MSG_PEEK|MSG_DONTWAIT`, or `0`) of flag names.
  static func flags(_ names: [String], table: [(String, Int32, String)]) -> (Int32, String) {
    var bits: Int32 = 0
    var text: [String] = []
    for (name, bit, cName) in table where names.contains(name) {
      bits |= bit
      text.append(cName)
    }
    return (bits, text.isEmpty ? "0" : text.joined(separator: "|"))
  }

  /// Whether send or recv can wait for something: a datagram socket, or a connected stream (a
  /// listener or an unconnected stream fails at once).
  static func carriesData(_ descriptor: Descriptor) -> Bool {
    descriptor.type == .datagram || (try? Sys.getpeername(descriptor.fd).get()) != nil
  }

  /// Whether a TCP connection's peer holds bytes it has not had acknowledged (its send queue,
  /// read with sock_diag's lookup of the reversed address pair): with the receiver's queue not
  /// growing, its window is closed. A peer this host cannot look up (a Unix socket, another
  /// host) counts as holding them: the call waits in the kernel, which needs nothing from here.
  static func peerCannotSend(_ fd: Int32) -> Bool {
    guard let local = try? Sys.getsockname(fd).get(), let peer = try? Sys.getpeername(fd).get(),
      let row = SockDiag.lookup(.tcp, local: peer, remote: local)
    else { return true }
    return row.sendQueue > 0
  }

  /// The largest receive length: 16 MiB.
  static let maximumLength = 16 << 20
  static let defaultLength = 1024

  /// Whether `count` bytes can be had now: a probe before a large buffer is made in Swift, whose
  /// failed allocation would abort the shell (the probe is in C, so that no optimiser drops it).
  static func canAllocate(_ count: Int) -> Bool { csupport_can_allocate(max(count, 1)) != 0 }

  /// The bytes of a data argument; a file is read now.
  static func bytes(_ data: DataSpec) throws(CommandRefusal) -> [UInt8] {
    // Room for the bytes and a copy of them, or the line is refused (Swift aborts on a failed
    // allocation).
    if case .pattern(let size) = data, !Transfer.canAllocate(2 * size + (1 << 20)) {
      throw CommandRefusal(
        "cannot have \(size) bytes of memory for the data (ENOMEM: the process's memory limit): send less")
    }
    switch data {
    case .bytes(let bytes): return bytes
    case .pattern(let size): return DataSpec.pattern(size: size)
    case .file(let path): return try readFile(path, limit: DataSpec.maximumSize).get()
    }
  }

  /// Reads up to `limit` bytes of a file, or says why it cannot. `followLinks: false` for the
  /// shell's own files (progress), where a link may have been planted.
  static func readFile(_ path: String, limit: Int, followLinks: Bool = true) -> Result<[UInt8], CommandRefusal> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
    if fd < 0 { return .failure(CommandRefusal(message: "cannot read \(path): \(Errno.current.message)")) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      return .failure(CommandRefusal(message: "cannot read \(path): \(Errno.current.message)"))
    }
    if let kind = FileWriter.notAFile(info) {
      return .failure(CommandRefusal(message: "\(path) is \(kind), not a file"))
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        return .failure(CommandRefusal(message: "cannot read \(path): \(Errno.current.message)"))
      }
      if count == 0 { break }
      bytes += chunk.prefix(count)
      if bytes.count > limit {
        return .failure(
          CommandRefusal(message: "\(path) is larger than \(limit >> 20) MiB, the most read from a file"))
      }
    }
    return .success(bytes)
  }

  /// send (no target) or sendto: the bytes, the call (waiting for room in the send buffer), its
  /// report and what it means.
  static func send(
    _ data: DataSpec, flags: [String], on descriptor: Descriptor, to target: SocketAddress?, session: any CommandSession
  ) throws(CommandRefusal) -> CommandOutcome {
    let bytes = try Transfer.bytes(data)
    let (bits, flagText) = Transfer.flags(flags, table: Transfer.sendFlags)
    let isTCP = descriptor.family != .unix && descriptor.type == .stream
    let stateBefore = isTCP ? (try? Sys.tcpInfo(descriptor.fd).get())?.state : nil
    let result = session.blocking(
      fd: descriptor.fd, events: Int16(POLLOUT),
      waitingFor: target == nil ? "room in the send buffer (the peer is not reading)" : "room in the send buffer",
      canWait: target != nil || (Transfer.carriesData(descriptor) && !flags.contains("dontwait"))
    ) {
      target.map { Sys.sendto(descriptor.fd, bytes, flags: bits, to: $0) }
        ?? Sys.send(descriptor.fd, bytes, flags: bits)
    }
    let kind: Syscall = target == nil ? .send : .sendto
    var arguments: [CallArgument] = [
      .number(Int(descriptor.fd)), .buffer(bytes), .number(bytes.count), .symbol(flagText),
    ]
    if let target { arguments += [.address(target), .number(Int(target.length))] }
    // A peer that had closed answers the bytes with a reset, processed within the send on
    // loopback: the connection reads CLOSED after it.
    let reset =
      (stateBefore == .established || stateBefore == .closeWait) && (try? result.get()) != nil
      && (try? Sys.tcpInfo(descriptor.fd).get())?.state == .closed
    let outcome = session.report(
      kind, fd: descriptor.fd, arguments, result, data: bytes, address: target,
      context: ErrorContext(call: kind, descriptor: descriptor, address: target), reset: reset)
    if case .success(let count) = result {
      for line in DataView.detail(Array(bytes.prefix(count)), text: false) { session.out.line(line) }
      if reset {
        session.note(
          "The peer had closed: its kernel answered these bytes with a reset (RST), and the connection is over. The next send fails with EPIPE."
        )
      } else {
        Transfer.explainSent(count, of: bytes.count, descriptor: descriptor, session: session)
      }
    }
    return outcome
  }

  /// Notes after a send: partial sends are a lesson of their own.
  static func explainSent(_ count: Int, of total: Int, descriptor: Descriptor, session: any CommandSession) {
    if count < total && session.lastCallCutShort {
      session.note(
        "Stopped (Ctrl-C or the time limit) after \(count) of \(total) bytes: the kernel took those, the rest was not sent."
      )
    } else if count < total {
      session.note(
        "Only \(count) of \(total) bytes were taken (the send buffer filled up). send may take fewer bytes than asked: send the rest again."
      )
    } else if descriptor.type == .stream {
      session.note(
        "\(counted(count, "byte")) \(count == 1 ? "is" : "are") in the kernel's send buffer; the peer reads the stream with recv, in pieces of any size."
      )
    } else if descriptor.family == .unix {
      session.note(
        "One datagram of \(counted(count, "byte")) is in the receiving socket's queue: Unix datagrams are not lost (when that queue is full, sendto waits)."
      )
    } else {
      session.note("One datagram of \(counted(count, "byte")) left; UDP gives no word on whether it arrives.")
    }
  }

  /// Notes after a receive, and the bytes below the call when the preview did not show them all.
  static func explainReceived(
    _ bytes: [UInt8], count: Int, flags: [String], descriptor: Descriptor, asked: Int, session: any CommandSession
  ) {
    for line in DataView.detail(bytes) { session.out.line(line) }
    if asked == 0 {
      session.note("You asked for 0 bytes, so 0 came back: that says nothing about the connection.")
      return
    }
    if count == 0 && descriptor.type == .datagram && descriptor.shutRead {
      session.note(
        "0: reading is shut down on fd \(descriptor.label) (shutdown read), so recv returns 0 at once: no datagram came."
      )
      return
    }
    if count == 0 && descriptor.type == .datagram {
      session.note("An empty datagram (0 bytes): on a datagram socket that is a message like any other, not an end.")
      return
    }
    if count == 0 && descriptor.type == .stream {
      session.note(
        "0 means end of stream: the peer closed its side (or shut down writing). Nothing more will come: close fd \(descriptor.label) when you are done."
      )
      return
    }
    if count > bytes.count {
      session.note("The datagram had \(count) bytes; \(count - bytes.count) did not fit in \(asked) and are lost.")
    }
    if count < asked && flags.contains("waitall") && session.lastCallCutShort {
      session.note("Stopped (Ctrl-C or the time limit) before all \(asked) bytes came: these \(count) had arrived.")
      return
    }
    if flags.contains("peek") {
      session.note("peek: the bytes stay queued; the next recv reads them again.")
    } else if descriptor.type == .stream && count == asked {
      // Whether more waits, read from the kernel (SIOCINQ) rather than guessed.
      let waiting = (try? Sys.queueSize(descriptor.fd, outgoing: false).get()).map(Int.init) ?? 0
      session.note(
        waiting > 0
          ? "The buffer was filled, and \(waiting) more byte\(waiting == 1 ? " waits" : "s wait") in the kernel: recv again."
          : "The buffer was filled; no more bytes wait now (more may come).")
    }
  }
}

/// `send FD DATA [FLAGS]`: send(2).
struct SendCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "send",
    synopsis: "send FD DATA [oob|dontwait|nosignal|more]...",
    summary: "send bytes on a connected socket",
    prototype: "ssize_t send(int sockfd, const void *buf, size_t len, int flags);",
    example: "send c \"hello\\n\"",
    manPage: "send(2)",
    details: [
      "DATA: \"text with \\n \\r \\t \\0 \\\\ \\\" \\xNN escapes\", 'literal text', a word, hex:48656c6c6f, --size N, --file PATH.",
      "send returns how many bytes the kernel took, which may be fewer than you gave it.",
    ],
    completion: [.descriptor, .data, .words(Transfer.sendFlagNames)],
    repeatsLast: true,
    returnsValue: true,
    group: .data
  )

  var fd: DescriptorRef
  var data: DataSpec
  var flags: [String]

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    fd = try arguments.descriptor()
    data = try arguments.data()
    flags = try arguments.flags(allowed: Transfer.sendFlagNames)
  }

  var arguments: [String] { [fd.description] + data.words + flags }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    try Transfer.send(data, flags: flags, on: context.session.descriptor(fd), to: nil, session: context.session)
  }
}

/// `recv FD [LENGTH] [FLAGS]`: recv(2).
struct RecvCommand: ReceiveCommand {
  static let givesSender = false
  static let spec = CommandSpec(
    name: "recv",
    synopsis: "recv FD [LENGTH] [peek|dontwait|waitall|oob|trunc]...",
    summary: "receive up to LENGTH bytes (default 1024); waits when nothing has arrived",
    prototype: "ssize_t recv(int sockfd, void *buf, size_t len, int flags);",
    example: "recv conn 1024",
    manPage: "recv(2)",
    details: [
      "recv returns what has arrived, up to LENGTH: one send may come in several pieces, several sends in one.",
      "0 means the peer closed its side: end of stream.",
    ],
    completion: [.descriptor, .words(Transfer.recvFlagNames)],
    repeatsLast: true,
    returnsValue: true,
    group: .data
  )

  var fd: DescriptorRef
  var length: Int?
  var flags: [String]
}

extension SendCommand {
  func cutShort(to count: Int) -> (any ShellCommand)? {
    guard let prefix = data.prefix(count) else { return nil }
    var command = self
    command.data = prefix
    return command
  }

  static var syscalls: [Syscall] { [.send] }
  static var capabilities: Capabilities {
    [.syscall, .blocks, .readsFiles]
  }
  var effects: Capabilities { data.readsFile ? Self.capabilities : Self.capabilities.subtracting(.readsFiles) }

  func exportC(_ writer: inout CExport) -> [String] {
    let bytes = Export.cData(data)
    return bytes.prepare.map { "  " + $0 }
      + writer.check(
        "send",
        "send(\(writer.fd(fd)), \(bytes.pointer), \(bytes.count), \(Export.cFlags(flags, Transfer.sendFlags)))")
      + bytes.release.map { "  " + $0 }
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    writer.check(
      "send", "\(writer.fd(fd)).send(\(Export.pyData(data)), \(Export.pyFlags(flags, Transfer.sendFlags)))")
  }
}

/// recv and recvfrom run and replay alike; recvfrom also asks for the sender's address.
extension ReceiveCommand {
  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    let descriptor = try session.descriptor(fd)
    let asked = length ?? Transfer.defaultLength
    // A buffer the process cannot have is refused before the call (the call was not made).
    if !Transfer.canAllocate(asked) {
      throw CommandRefusal(
        "cannot have a buffer of \(asked) bytes (ENOMEM: the process's memory limit): ask for less")
    }
    let (bits, flagText) = Transfer.flags(flags, table: Transfer.recvFlags)
    let kind: Syscall = Self.givesSender ? .recvfrom : .recv
    // waitall on a stream: the call would block until all its bytes are there; wait for them in
    // the event loop first (the lesson's partner goes on sending meanwhile). When the receive
    // buffer is full and its window closed (what waits stops growing while the peer holds bytes
    // it cannot send), the call is made: the kernel's MSG_WAITALL copies as data comes, which
    // opens the window again. A pause of the peer's is not a closed window: the wait goes on.
    var lastQueued = -1
    var stillSince = EventLoop.now()
    let ready: (() -> Bool)? =
      flags.contains("waitall") && descriptor.type == .stream
      ? {
        let queued = Int((try? Sys.queueSize(descriptor.fd, outgoing: false).get()) ?? 0)
        let events =
          (try? Sys.poll([descriptor.fd], events: PollCommand.requested, timeoutMilliseconds: 0).get())?
          .first ?? 0
        let now = EventLoop.now()
        if queued != lastQueued {
          lastQueued = queued
          stillSince = now
        }
        let stalled = queued > 0 && now - stillSince > 0.2 && Transfer.peerCannotSend(descriptor.fd)
        return queued >= asked || stalled
          || events & (PollCommand.pollRDHUP | Int16(POLLHUP) | Int16(POLLERR)) != 0
      } : nil
    // A datagram longer than the buffer loses the rest without a word from recv: its size, read
    // just before the call (SIOCINQ), tells how much (0: the call waited for it, or it is empty).
    var nextDatagram: Int?
    let result = session.blocking(
      fd: descriptor.fd, events: Int16(POLLIN), waitingFor: Self.givesSender ? "a datagram" : "data from the peer",
      canWait: Transfer.carriesData(descriptor) && !flags.contains("dontwait"), ready: ready
    ) {
      if descriptor.type == .datagram {
        nextDatagram = (try? Sys.queueSize(descriptor.fd, outgoing: false).get()).map(Int.init)
      }
      return Self.givesSender
        ? Sys.recvfrom(descriptor.fd, maxLength: asked, flags: bits)
        : Sys.recv(descriptor.fd, maxLength: asked, flags: bits).map { ($0.bytes, $0.count, nil) }
    }
    let received = try? result.get()
    var arguments: [CallArgument] = [
      .number(Int(descriptor.fd)), received.map { .buffer($0.bytes) } ?? .unfilled, .number(asked), .symbol(flagText),
    ]
    if Self.givesSender {
      arguments +=
        received.map { got in
          got.from.map { [.address($0), .writtenLength(Int($0.length))] } ?? [.unfilled, .writtenLength(0)]
        } ?? [.unfilled, .unfilled]
    }
    // A wait cut short by Ctrl-C whose call still got every byte asked for was not cut short.
    let outcome = session.report(
      kind, fd: descriptor.fd, arguments, result.map(\.count), data: received?.bytes ?? [],
      address: received?.from, shownResult: received?.count == asked ? "\(asked)" : nil,
      context: ErrorContext(call: kind, descriptor: descriptor))
    guard let received else { return outcome }
    if let from = received.from, from != .unnamed {
      session.note("From \(from).")
    } else if Self.givesSender && descriptor.type == .datagram {
      session.note("From an unnamed socket: the sender never bound an address, so there is none to answer to.")
    }
    Transfer.explainReceived(
      received.bytes, count: received.count, flags: flags, descriptor: descriptor, asked: asked, session: session)
    if descriptor.type == .datagram && received.count == asked && asked > 0 && !flags.contains("trunc")
      && !flags.contains("peek")
    {
      if let next = nextDatagram, next > asked {
        session.note(
          "The datagram had \(next) bytes: the \(next - asked) that did not fit in \(asked) are lost (recv does not say so; the trunc flag makes it return the whole length)."
        )
      } else if nextDatagram == 0 || nextDatagram == nil {
        session.note(
          "The buffer was filled: if the datagram was longer, the rest is lost, and recv does not say so (the trunc flag makes it return the whole length)."
        )
      }
    }
    return outcome
  }

  static var capabilities: Capabilities { [.syscall, .blocks] }
  var waitsOn: DescriptorRef? { fd }
  static var syscalls: [Syscall] { [givesSender ? .recvfrom : .recv] }

  /// The program shows what it received (and from where), so that it can be compared with the
  /// session; a recv the session saw cut short asks for the bytes it got.
  func exportC(_ writer: inout CExport) -> [String] {
    let asked = length ?? Transfer.defaultLength
    writer.largestRead = max(writer.largestRead, asked)
    let name = Self.spec.name
    let arguments = "\(writer.fd(fd)), buffer, \(asked), \(Export.cFlags(flags, Transfer.recvFlags))"
    let shown = ["  if (r > 0) show_data(\"got\", buffer, r < \(asked) ? r : \(asked));"]
    guard Self.givesSender else { return writer.check(name, "\(name)(\(arguments))") + shown }
    return ["  len = sizeof addr;"] + writer.check(name, "\(name)(\(arguments), (struct sockaddr *)&addr, &len)")
      + shown + ["  if (r >= 0) show_address(\"from\", &addr, len);"]
  }

  func exportPython(_ writer: inout PythonExport) -> [String] {
    let name = Self.spec.name
    let call =
      "\(writer.fd(fd)).\(name)(\(length ?? Transfer.defaultLength), \(Export.pyFlags(flags, Transfer.recvFlags)))"
    // With trunc, Python gives a bytes object of the whole datagram's length, filled past the
    // buffer with whatever was in memory: what was received is the buffer's worth.
    let asked = length ?? Transfer.defaultLength
    guard Self.givesSender else {
      return writer.check(name, call, keep: "got", measure: "len") + ["    show('got', got and got[:\(asked)])"]
    }
    return writer.check(name, call, keep: "got", measure: "lambda got: len(got[0])") + [
      "    if got is not None:", "        show('got', got[0][:\(asked)])", "        print(f\"  from {got[1]!r}\")",
    ]
  }
}

extension Syscall {
  static let send = Syscall("send", drawnInTimeline: true, carries: .outgoing)
  static let recv = Syscall("recv", drawnInTimeline: true, carries: .incoming)
}
