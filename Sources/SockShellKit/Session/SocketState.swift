#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import SocketLayer

/// What the kernel says about one descriptor now. Read, never guessed from the commands typed.
public struct SocketSnapshot: Sendable {
  public let descriptor: Descriptor
  /// TCP state, or for other sockets LISTEN / CONNECTED / UNCONN.
  public let state: String
  public let tcpState: TCPState?
  public let local: SocketAddress?
  public let peer: SocketAddress?

  /// Reads the kernel's view of a descriptor (TCP_INFO, getsockname, getpeername, SO_ACCEPTCONN).
  public init(_ descriptor: Descriptor) {
    self.descriptor = descriptor
    let fd = descriptor.fd
    local = try? Sys.getsockname(fd).get()
    peer = try? Sys.getpeername(fd).get()
    if descriptor.family != .unix && descriptor.type == .stream {
      tcpState = try? Sys.tcpInfo(fd).get().state
      state = tcpState?.name ?? "?"
    } else {
      tcpState = nil
      let listening = (try? Sys.getsockopt(fd, level: SOL_SOCKET, name: SO_ACCEPTCONN).get()) == 1
      state = listening ? "LISTEN" : peer != nil ? "CONNECTED" : "UNCONN"
    }
  }

  /// The local address as a person reads it: "-" when not bound.
  public var localText: String {
    guard let local else { return "-" }
    if local == .unnamed || (local.isWildcard && local.port == 0) { return "-" }
    return local.description
  }

  public var peerText: String { peer.map(\.description) ?? "-" }
}
