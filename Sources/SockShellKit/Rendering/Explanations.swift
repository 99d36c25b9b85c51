#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// What an errno usually means for a learner, and what to try, in the situation it came from.
public enum Explanations {
  /// One or two lines for a failed call, each a sentence that starts with a capital.
  public static func lines(for errno: Errno, context: ErrorContext, timedOut: Bool = false, waitLimit: Int? = nil)
    -> [String]
  {
    explained(errno, context: context, timedOut: timedOut, waitLimit: waitLimit).map { line in
      guard let first = line.first, first.isLowercase else { return line }
      return line.hasPrefix("fd ") ? "Socket " + line : first.uppercased() + line.dropFirst()
    }
  }

  static func explained(_ errno: Errno, context: ErrorContext, timedOut: Bool, waitLimit: Int?) -> [String] {
    let call = context.call
    let address = context.address?.description
    let fd = context.descriptor.map { "fd \($0.label)" } ?? "the socket"
    switch errno.code {
    case EADDRINUSE where call == .setsockopt:
      return ["\(fd) has joined that group on that interface already: a socket joins a group once."]
    case EADDRINUSE:
      if context.address?.family == .unix {
        return [
          "The file \(address ?? "") already exists: a Unix socket's path stays after close. Remove it (rm) or pick another path."
        ]
      }
      if call == .listen || call == .connect {
        return ["No free local port was left for \(fd) (or its address is taken). Bind it to another port first."]
      }
      if context.descriptor?.type == .datagram, let target = context.address, let port = target.port {
        // Who holds it, when it is this shell: its own UDP socket on that port.
        let rows = (try? SockDiag.dump(.udp, family: target.family, info: false).get()) ?? []
        let inodes = Set(rows.filter { $0.local.port == port }.map(\.inode))
        let holder = ProgramVerifier.ownDescriptor(of: inodes).map { "your own fd \($0) holds it" }
        return [
          "Another UDP socket already holds \(target)" + (holder.map { ": \($0)." } ?? ".")
            + " UDP sockets share a port when every one of them has set 'setsockopt FD reuseaddr 1' (or reuseport), each new one before its bind."
        ]
      }
      return [
        "Another socket already holds \(address ?? "that address"): a server still running, or a connection of an earlier run in TIME_WAIT.",
        "Try another port. A server that sets 'setsockopt FD reuseaddr 1' before every bind may bind again past its old connections' TIME_WAIT: Linux wants SO_REUSEADDR on the socket that left the TIME_WAIT too (an accepted connection has its listener's), so it does not help the first time. A live listener is passed only by SO_REUSEPORT, set on every socket of the port before its bind.",
      ]
    case EACCES:
      if call == .bind, let port = context.address?.port, port < 1024, port > 0 {
        return [
          "Ports below 1024 are privileged: only root (or CAP_NET_BIND_SERVICE) may bind them. Use a port of 1024 or more."
        ]
      }
      if context.address?.family == .unix {
        return ["You may not create or open that path: check the directory's permissions, or use /tmp."]
      }
      return ["Permission denied: for sendto to a broadcast address, set 'setsockopt FD broadcast 1' first."]
    case ECONNREFUSED:
      if context.descriptor?.family == .unix || context.address?.family == .unix {
        return [
          context.descriptor?.type == .datagram && call != .connect
            ? "The socket this one sends to is gone (closed), or nothing is bound to that address: a Unix datagram has no one to go to."
            : "Nothing listens at \(address ?? "that address"): the file or @name is there, but its socket is closed or is not listening. Start the server first."
        ]
      }
      if context.descriptor?.type == .datagram {
        return [
          "An earlier datagram reached \(address ?? "the peer")'s host, but no socket was bound there: the host answered with ICMP \"port unreachable\", reported now."
        ]
      }
      // An IPv6 listener on [::] of that port that refused an IPv4 client: it has v6only.
      if let target = context.address, target.family == .ipv4, let port = target.port,
        let rows = try? SockDiag.dump(.tcp, family: .ipv6, info: false).get(),
        let v6 = rows.first(where: { $0.state == .listen && $0.local.port == port && $0.local.isWildcard })
      {
        return [
          "Nothing takes IPv4 connections on port \(port): a socket listens on \(v6.local), but with IPV6_V6ONLY set it takes IPv6 clients only, and the kernel answered this IPv4 SYN with a reset."
        ]
      }
      var lines = [
        "Nothing listens on \(address ?? "that address"): the other side's kernel answered the connection request with a reset.",
        "Start the server first (bind, then listen), and check the address and port.",
      ]
      if context.address?.family == .ipv6 {
        lines.append("If you wrote localhost: it may mean ::1 (IPv6) while the server listens on 127.0.0.1 only.")
      }
      return lines
    case EINVAL:
      switch call {
      case .listen where context.descriptor?.type == .datagram:
        return ["UDP sockets have no connections, so they cannot listen: use recvfrom on a bound UDP socket."]
      case .accept:
        return ["\(fd) is not listening: call listen on it before accept."]
      case .bind:
        // Which of the two it is, from the kernel and the address given.
        if let descriptor = context.descriptor, let local = try? Sys.getsockname(descriptor.fd).get(), local.port != 0 {
          return ["\(fd) is already bound to \(local) (a socket binds once): make a new socket to bind again."]
        }
        if let given = context.address?.family, let own = context.descriptor?.family, given != own {
          return [
            "\(address ?? "The address") is \(given.displayName) but \(fd) is an \(own.displayName) socket: Linux answers EINVAL for an address of another family."
              + (own == .ipv6 && given == .ipv4 ? " On an IPv6 socket write an IPv4 address as ::ffff:127.0.0.1." : "")
          ]
        }
        return ["The kernel rejected the address for \(fd) (EINVAL): check that it fits the socket's family."]
      case .shutdown:
        return ["The 'how' argument must be read, write or both."]
      case .setsockopt where context.option == "add_membership" || context.option == "drop_membership":
        return [
          "A group is a multicast address: 224.0.0.0 to 239.255.255.255 for IPv4 (239.x.x.x for your own use), ff00::/8 for IPv6."
        ]
      case .setsockopt where context.option == "v6only":
        return [
          "IPV6_V6ONLY can change only before the socket has an address: bind, listen and connect all give it one. Set it on a new socket, right after socket."
        ]
      default:
        return [
          "The kernel rejected an argument or the socket's state for \(call?.name ?? "this call"): check the order socket, bind, listen, accept."
        ]
      }
    case ENOTCONN where call == .shutdown:
      return ["\(fd) has no connection to shut down."]
    case ENOTCONN:
      if context.descriptor?.type == .datagram {
        return [
          "This \(context.descriptor?.family == .unix ? "Unix datagram" : "UDP") socket has no default peer: use sendto with an address, or connect it first."
        ]
      }
      // Which mistake it is, from the kernel's state.
      if let descriptor = context.descriptor {
        if Sys.isListening(descriptor.fd) {
          return ["\(fd) is listening: a listening socket never carries data. Use the descriptor that accept returned."]
        }
        if descriptor.family != .unix, let info = try? Sys.tcpInfo(descriptor.fd).get(), info.segsOut > 0 {
          return [
            "\(fd) was connected, but that connection has ended (state \(info.state?.name ?? "?")): a socket connects once. Close it, and make a new one."
          ]
        }
        return ["\(fd) was never connected: connect it first (a server uses the descriptor that accept returned)."]
      }
      return [
        "The socket is not connected: a listening socket never carries data, and a new one must connect first."
      ]
    case EPIPE:
      let sigpipe =
        "Without SIGPIPE ignored, this would have killed the program; in C, pass MSG_NOSIGNAL or ignore SIGPIPE and check for EPIPE."
      // Linux answers EPIPE, not ENOTCONN, for send on a TCP socket that has no connection: say
      // which mistake it is, from the kernel's state.
      if let descriptor = context.descriptor, descriptor.type == .stream, descriptor.family != .unix {
        if Sys.isListening(descriptor.fd) {
          return [
            "\(fd) is listening: a listening socket never carries data (the kernel answers send with EPIPE). Send on the descriptor that accept returned."
          ]
        }
        // Made by accept, or seen connected: it was connected, and the connection ended.
        if !descriptor.origin.hasPrefix("accept"), let info = try? Sys.tcpInfo(descriptor.fd).get(), info.segsOut == 0,
          info.segsIn == 0
        {
          return [
            "\(fd) was never connected: TCP sends only over a connection. connect it first (a server sends on the descriptor that accept returned).",
            sigpipe,
          ]
        }
      }
      return [
        "The connection is closed for writing: the peer closed it (and answered with a reset), or you shut down writing.",
        sigpipe,
      ]
    case ECONNRESET:
      return [
        "The peer aborted the connection with a reset: it crashed, closed while data it had not read was waiting, or closed with SO_LINGER set to 0 seconds.",
        "The connection is over: close this descriptor. A peer that reads everything before closing avoids this.",
      ]
    case EAGAIN:
      switch call {
      case .accept: return ["\(fd) is non-blocking and no connection is waiting yet. Wait with poll, then accept."]
      case .send, .sendto:
        return ["The send buffer is full and \(fd) will not wait. Wait with poll until it is writable."]
      case .connect where context.descriptor?.family == .unix:
        return [
          "The listener's accept queue is full, and \(fd) will not wait for room (non-blocking): a Unix connect does not wait in the background. Try again later, or accept on the listener."
        ]
      case .connect: return ["No local port is free for a new connection."]
      default:
        // Which of the three it was, from the kernel: O_NONBLOCK, SO_RCVTIMEO, else the flag.
        guard let descriptor = context.descriptor else {
          return [
            "Nothing came in time: the socket is non-blocking, the call had dontwait, or its receive timeout (rcvtimeo) ran out. Wait with poll, then try again."
          ]
        }
        let why: String
        if (try? Sys.isNonBlocking(descriptor.fd).get()) == true {
          why = "\(fd) is non-blocking, so the call did not wait"
        } else if case .success(.milliseconds(let ms)) = SocketOption.named("rcvtimeo")?.get(descriptor.fd), ms > 0 {
          why = "\(fd) waited its receive timeout (rcvtimeo, \(ms) ms) and nothing came"
        } else {
          why = "the call had dontwait, so it did not wait"
        }
        return ["Nothing was there to receive: \(why). Wait with poll, then try again."]
      }
    case ECONNABORTED:
      return [
        "The connection was aborted before it was made (a connect after a failed non-blocking one, or a connection reset while it waited to be accepted). Close \(fd) and make a new socket."
      ]
    case EINPROGRESS:
      return [
        "Normal for a non-blocking connect: the handshake has started. Wait with 'poll FD' until it is writable, then read 'getsockopt FD error'."
      ]
    case EALREADY:
      return ["A connect on \(fd) is already in progress: wait for it with poll."]
    case EISCONN:
      if let descriptor = context.descriptor,
        Sys.isListening(descriptor.fd)
      {
        return [
          "\(fd) is listening: a listener only accepts and never connects. Make a new socket for the client side."
        ]
      }
      return ["\(fd) is already connected: send on it as it is, or make a new socket for another connection."]
    case EMFILE:
      return [
        "This process has no descriptors left (ulimit -n): close the ones you no longer need, accepted ones first."
      ]
    case ENFILE:
      return ["The whole system has run out of file descriptors: close some."]
    case EBADF:
      return ["That is not an open descriptor: it was closed already, or the number is wrong. ls lists yours."]
    case EAFNOSUPPORT:
      if let address = context.address, let descriptor = context.descriptor, address.family != descriptor.family {
        return [
          "\(fd) is an \(descriptor.family.displayName) socket but \(address) is an \(address.family.displayName) address. Make the socket in that family (socket tcp \(address.family.rawValue)) or use a matching address."
        ]
      }
      return ["The address family does not match the socket: an IPv6 address needs an ipv6 socket, a path a unix one."]
    case EOPNOTSUPP:
      if call == .listen || call == .accept {
        return [
          "\(call?.name ?? "it") applies to stream (TCP) sockets only; a UDP socket exchanges datagrams with sendto and recvfrom."
        ]
      }
      return ["This operation or flag does not apply to this kind of socket."]
    case EADDRNOTAVAIL where call == .setsockopt:
      return [
        context.option == "drop_membership"
          ? "\(fd) is not a member of that group on that interface: drop_membership leaves only what add_membership joined."
          : "No interface of this machine has that address: name an interface by one of its own (127.0.0.1 for loopback)."
      ]
    case ENODEV where call == .setsockopt:
      return [
        "No interface was named, and no route picks one for the group: name the interface (127.0.0.1, or lo for IPv6)."
      ]
    case ENETUNREACH where context.address?.isMulticast == true:
      if context.address?.family == .ipv6 {
        return [
          "No route takes this IPv6 group datagram out: Linux's loopback carries no IPv6 multicast (ip link shows lo without MULTICAST). It needs an interface that has it."
        ]
      }
      return [
        "No route picks an interface for the group: set 'setsockopt FD multicast_if 127.0.0.1' first to send it by loopback."
      ]
    case EADDRNOTAVAIL:
      return [
        "That IP address is not on this machine (bind), or no local port was left (connect). Bind 0.0.0.0 or 127.0.0.1, or check 'ip addr'."
      ]
    case ENETUNREACH:
      return ["No route to that network (for example IPv6 with no IPv6 connectivity). Try loopback or IPv4."]
    case EHOSTUNREACH:
      return ["The host cannot be reached: down, or a firewall rejects the packets."]
    case ETIMEDOUT:
      return [
        "No answer at all: the packets were dropped on the way. That differs from refused, where the host answers."
      ]
    case EINTR:
      if let signal = Signals.terminationSignal {
        return ["Interrupted by \(Signals.name(of: signal)): the shell is ending."]
      }
      // An interrupted connect is not undone: the kernel goes on with the handshake.
      if call == .connect {
        return [
          (timedOut
            ? "Gave up waiting after \(waitLimit ?? 0) s (sockshell run --timeout SECONDS changes it)"
            : "Interrupted by Ctrl-C")
            + ", but the handshake goes on in the kernel: ls shows \(fd) in SYN_SENT until it succeeds or fails.",
          "connect again waits for that same handshake (a non-blocking socket answers EALREADY instead); poll FD --timeout MS waits for it too (POLLOUT), and getsockopt FD error then says how it ended.",
        ]
      }
      if timedOut {
        return [
          "Gave up after \(waitLimit ?? 0) s: a script waits at most that long for a blocking call (sockshell run --timeout SECONDS changes it).",
          "Nothing changed: \(fd) is still open.",
        ]
      }
      return [
        "Interrupted by Ctrl-C before anything happened. Every descriptor is still open; run the command again to retry."
      ]
    case EMSGSIZE where context.descriptor?.family == .unix:
      return [
        "The datagram is bigger than the socket's send buffer can hold in one piece (SO_SNDBUF): send less, or raise sndbuf."
      ]
    case EMSGSIZE:
      return [
        "The datagram is too big to send in one piece (UDP over IPv4 carries at most 65,507 bytes). Send less, or use TCP."
      ]
    case ENOTSOCK:
      return ["That descriptor is not a socket."]
    case EDESTADDRREQ:
      return ["This socket has no destination: use sendto with an address, or connect it first."]
    case ENOENT where call == .bind:
      return ["A folder on that path does not exist: bind makes the socket file, not the folders above it."]
    case ENOENT:
      return [
        "The socket file does not exist: is the server started, and is the path right (relative paths start from here)?"
      ]
    case ENOPROTOOPT:
      return ["That option does not exist at this level for this socket (TCP options need a TCP socket)."]
    case EPROTOTYPE where call == .connect || call == .send || call == .sendto:
      return [
        "The socket at that address is of the other type (stream or datagram): a stream socket connects only to a stream listener, a datagram socket only to a datagram socket."
      ]
    case EPROTONOSUPPORT, EPROTOTYPE, ESOCKTNOSUPPORT:
      return ["This family does not offer that socket type or protocol."]
    case ESHUTDOWN:
      return ["You shut this direction down already: the socket cannot send any more."]
    case ENOBUFS, ENOMEM:
      return ["The kernel is short of memory for buffers: send less at once."]
    case ENAMETOOLONG:
      return ["The path is too long for a Unix socket address."]
    case ENOTDIR:
      return ["A part of the path is not a directory."]
    default:
      return []
    }
  }
}
