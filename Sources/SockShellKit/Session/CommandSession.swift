import SocketLayer

/// What a command may use of the session that runs it, and nothing more: its descriptors, the
/// calls it made, the address rules, reporting, blocking calls and output. It is how commands see
/// the session (`CommandContext.session`); the history, the lessons and the prompt are the
/// host's (`CommandContext.host`), and no command reaches the lesson's partner.
protocol CommandSession: AnyObject {
  var out: Output { get }
  /// A plain-language line under a call.
  func note(_ text: String)

  // Descriptors.
  var openDescriptors: [Descriptor] { get }
  var stateHistory: [Int32: [TCPState]] { get }
  func descriptor(_ ref: DescriptorRef) throws(CommandRefusal) -> Descriptor
  func register(fd: Int32, family: SocketFamily, type: SocketType, name: String?, origin: String)
  func update(_ descriptor: Descriptor)
  /// Names a descriptor (`name 5 conn`).
  func rename(_ fd: Int32, to name: String)
  func forget(_ fd: Int32)
  /// Notes the TCP state of these descriptors now.
  func recordStates(of fds: [Int32])
  /// A connection this shell closed, to find again in TIME_WAIT.
  func rememberClosed(_ connection: ClosedConnection)
  func snapshots() -> [SocketSnapshot]
  /// The last peer the kernel gave for a descriptor (kept after the connection ends).
  func lastPeer(of fd: Int32) -> SocketAddress?
  func lingeringConnections() -> [(ClosedConnection, KernelConnection)]
  func closeAllAndSay(_ why: String)

  // Addresses.
  var addresses: AddressResolver { get }
  /// A lesson's partner: an unbound UDP socket is bound to loopback before its first sendto.
  var bindsLoopbackFirst: Bool { get }
  func socketAddress(_ spec: AddressSpec, for descriptor: Descriptor, purpose: AddressResolver.Purpose)
    throws(CommandRefusal) -> SocketAddress

  // Calls.
  var records: [CallRecord] { get }
  var lastCall: CallRecord? { get }
  var transcript: [TranscriptEntry] { get }
  func report(
    _ kind: Syscall, fd: Int32?, _ arguments: [CallArgument], _ result: SysResult<Int>, data: [UInt8],
    address: SocketAddress?, how: ShutdownHow?, shownResult: String?, name: String?, subject: Int32?,
    context: ErrorContext?, endpoints: (SocketAddress?, SocketAddress?)?, reset: Bool
  ) -> CommandOutcome
  func blocking<T>(
    fd: Int32, events: Int16, waitingFor: String, hint: String?, canWait: Bool, ready: (() -> Bool)?,
    _ body: () -> SysResult<T>
  ) -> SysResult<T>
  func blocking<T>(
    fds: [Int32], events: Int16, waitingFor: String, hint: String?, canWait: Bool, callTimeout: Double?,
    ready: (() -> Bool)?, _ body: (_ waited: Bool) -> SysResult<T>
  ) -> SysResult<T>
  /// The last blocking call returned, but cut short by Ctrl-C or the time limit.
  var lastCallCutShort: Bool { get }

  // The wire.
  var wireOn: Bool { get }
  var wireRecords: [WireRecord] { get }
  var wireFrames: (kept: [(seconds: Double, bytes: [UInt8], length: Int)], dropped: Int)? { get }
  func startWire() -> Result<Void, CommandRefusal>
  func stopWire()
}

extension CommandSession {
  /// `report` with the arguments most calls leave out.
  func report(
    _ kind: Syscall, fd: Int32?, _ arguments: [CallArgument], _ result: SysResult<Int>, data: [UInt8] = [],
    address: SocketAddress? = nil, how: ShutdownHow? = nil, shownResult: String? = nil, name: String? = nil,
    subject: Int32? = nil, context: ErrorContext? = nil, endpoints: (SocketAddress?, SocketAddress?)? = nil,
    reset: Bool = false
  ) -> CommandOutcome {
    report(
      kind, fd: fd, arguments, result, data: data, address: address, how: how, shownResult: shownResult,
      name: name, subject: subject, context: context, endpoints: endpoints, reset: reset)
  }

  func blocking<T>(
    fd: Int32, events: Int16, waitingFor: String, hint: String? = nil, canWait: Bool = true,
    ready: (() -> Bool)? = nil, _ body: () -> SysResult<T>
  ) -> SysResult<T> {
    blocking(fd: fd, events: events, waitingFor: waitingFor, hint: hint, canWait: canWait, ready: ready, body)
  }

  func blocking<T>(
    fds: [Int32], events: Int16, waitingFor: String, hint: String? = nil, canWait: Bool, callTimeout: Double?,
    ready: (() -> Bool)? = nil, _ body: (_ waited: Bool) -> SysResult<T>
  ) -> SysResult<T> {
    blocking(
      fds: fds, events: events, waitingFor: waitingFor, hint: hint, canWait: canWait, callTimeout: callTimeout,
      ready: ready, body)
  }
}

extension Session: CommandSession {
  func recordStates(of fds: [Int32]) { table.recordStates(touched: fds) }
  func rememberClosed(_ connection: ClosedConnection) { table.remember(closed: connection) }
  func lastPeer(of fd: Int32) -> SocketAddress? { table.lastPeers[fd] }
}
