import SocketLayer

/// The one set of rules that turns an address as typed (`127.0.0.1:80`, `localhost:80`, `*:80`,
/// `/tmp/s.sock`, `@name`, a descriptor, `{listening}`) into a socket address: bind, connect,
/// sendto and addr all go through it. It says what a name resolved to, and refuses with a
/// message that says what to write instead.
struct AddressResolver {
  enum Purpose {
    /// bind: the address as it is.
    case bind
    /// connect and sendto: a descriptor bound to every address means its loopback address.
    case connect
    /// addr: the address as it is, saying where a descriptor's came from.
    case describe
  }

  /// Which resolved addresses the lines may use.
  enum Policy {
    /// The learner's own lines: any.
    case any
    /// Lines from elsewhere (a lesson's partner, solutions run by lesson test): loopback, abstract
    /// names, and paths inside the run's folder (LinePolicy); and they connect and send only to
    /// an address that a socket of this lesson (the learner's or the partner's) is bound to, never
    /// to another service of the machine (`reachable`, set by the lesson run).
    case linesFromElsewhere(folder: String?, reachable: ((SocketAddress) -> Bool)? = nil)
  }

  let out: Output
  let table: DescriptorTable
  /// The partner's session only: the learner's listener its `wait listening` found.
  let partnerListening: SocketAddress?
  var policy: Policy = .any

  /// The socket address for `spec`, held to `policy` once resolved. `sender`: the descriptor that
  /// will connect or send (a multicast group is allowed by where its datagrams leave).
  func resolve(
    _ spec: AddressSpec, family: SocketFamily?, subject: String, purpose: Purpose, sender: Int32? = nil
  ) -> Result<SocketAddress, CommandRefusal> {
    let result = resolveAnyAddress(spec, family: family, subject: subject, purpose: purpose)
    guard case .linesFromElsewhere(let folder, let reachable) = policy, case .success(let address) = result
    else { return result }
    if address.isMulticast && purpose != .bind && !LinePolicy.allows(address, folder: folder, sender: sender) {
      return .failure(
        CommandRefusal(
          "\(address) is a multicast group: a lesson's lines send to a group only from a socket whose multicast leaves by loopback (setsockopt FD multicast_if 127.0.0.1, or lo for IPv6)"
        ))
    }
    if !LinePolicy.allows(address, folder: folder) && !address.isMulticast {
      return .failure(
        CommandRefusal(
          "\(address) is not for a lesson's lines: they reach loopback, abstract names and the run's own folder only"))
    }
    if purpose == .connect, let reachable, !reachable(address) {
      return .failure(
        CommandRefusal(
          "\(address) is not a socket of this lesson: a lesson's lines connect and send only to the learner's or the partner's own sockets"
        ))
    }
    return result
  }

  /// The socket address for `spec`. `family`: the socket's (nil: whatever the address is, names
  /// resolved as IPv4); `subject`: the socket, for messages ("fd 3 (srv)").
  func resolveAnyAddress(_ spec: AddressSpec, family: SocketFamily?, subject: String, purpose: Purpose) -> Result<
    SocketAddress, CommandRefusal
  > {
    func refuse(_ message: String) -> Result<SocketAddress, CommandRefusal> {
      .failure(CommandRefusal(message: message))
    }
    func note(_ text: String) { out.line("  " + text, .note) }
    switch spec {
    case .host(let host, let port):
      if let numeric = SocketAddress.numeric(host, port: port) { return .success(numeric) }
      if family == .unix {
        return refuse("\(subject) is a Unix socket: give it a path (/tmp/demo.sock) or @name, not \(host):\(port)")
      }
      let wanted = family ?? .ipv4
      switch SocketAddress.resolve(host: host, port: port, family: wanted) {
      case .failure(let error):
        // The name may have addresses of the other family only (often: localhost has no IPv6
        // address in /etc/hosts): say so, and what to write instead.
        let other: SocketFamily = wanted == .ipv4 ? .ipv6 : .ipv4
        if case .success(let found) = SocketAddress.resolve(host: host, port: port, family: other),
          let first = found.first
        {
          let instead =
            other == .ipv4
            ? "use [::1]:\(port) for the IPv6 loopback, or an IPv4 socket (socket tcp)"
            : "make the socket with socket tcp ipv6, or give an IPv4 address"
          return refuse(
            "\(host) has no \(wanted.displayName) address here, only \(other.displayName) (\(first.host)): \(instead)")
        }
        return refuse("\(error) (for an \(wanted.displayName) socket)")
      case .success(let found):
        guard let first = found.first else { return refuse("\(host) has no \(wanted.displayName) address") }
        var text = "\(host) resolved to \(first.host) (getaddrinfo, \(wanted.cName))"
        if found.count > 1 { text += "; also " + found.dropFirst().map(\.host).joined(separator: ", ") }
        note(text)
        return .success(first)
      }
    case .any(let port):
      if family == .unix {
        return refuse("\(subject) is a Unix socket: give it a path (/tmp/demo.sock) or @name, not a port")
      }
      return .success(.any(family ?? .ipv4, port: port))
    case .unixPath(let path):
      let bytes = Array(path.utf8)
      if bytes.count >= SocketAddress.sunPathCapacity {
        return refuse(
          "a Unix socket path holds at most \(SocketAddress.sunPathCapacity - 1) bytes (sun_path); this one has \(bytes.count)"
        )
      }
      return .success(.unix(path: bytes))
    case .abstract(let name):
      let bytes = Array(name.utf8)
      if bytes.count >= SocketAddress.sunPathCapacity {
        return refuse("an abstract name holds at most \(SocketAddress.sunPathCapacity - 1) bytes")
      }
      return .success(.abstract(name: bytes))
    case .partnerListening:
      guard let partnerListening else {
        return refuse(
          "{listening} stands for the learner's listener that a lesson partner found with wait listening; only partner lines use it"
        )
      }
      return .success(partnerListening)
    case .descriptor(let ref):
      let other: Descriptor
      switch table.resolve(ref) {
      case .success(let found): other = found
      case .failure(let refusal):
        // `bind 4 0`: a port was meant, written as a number alone.
        if case .number(let number) = ref, number <= 65535 {
          return refuse(
            "'\(number)' is not a socket of yours, and a port alone is written with a colon: :\(number) (every address) or 127.0.0.1:\(number) (loopback)"
          )
        }
        return refuse(refusal.message)
      }
      switch Sys.getsockname(other.fd) {
      case .failure(let errno):
        return refuse("cannot read the address of fd \(other.fd): \(errno)")
      case .success(let address):
        if address == .unnamed || address.port == 0 {
          return refuse(
            other.family == .unix
              ? "fd \(other.label) is not bound to an address yet: bind it to a path or an @name first"
              : "fd \(other.label) is not bound to an address yet: bind it first (or listen, which picks a port)")
        }
        switch purpose {
        case .bind:
          return .success(address)
        case .describe:
          note("fd \(other.label) is bound to \(address) (getsockname)")
          return .success(address)
        case .connect:
          if address.isWildcard {
            let target = SocketAddress.loopback(address.family, port: address.port ?? 0)
            note("fd \(other.label) is bound to \(address), every local address; using \(target)")
            return .success(target)
          }
          note("fd \(other.label) is bound to \(address)")
          return .success(address)
        }
      }
    }
  }
}
