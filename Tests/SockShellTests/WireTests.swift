import Foundation
import SocketLayer
import Testing

@testable import SockShellKit

#if canImport(Glibc)
  import Glibc
#endif

/// The wire: the packets each call causes, shown under it. Run as root in a network namespace of
/// the test's own (only loopback, so nothing can leave the machine and no other program's
/// loopback traffic is there); skipped, with the reason printed, where the machine cannot make one.
@Suite struct WireTests {
  /// `sockshell run --keep-going --wire` of a script in a new network namespace, with `peer` (a
  /// python3 program) started there first when given; nil (and the reason printed) where one
  /// cannot be made.
  static func runOnItsOwnLoopback(_ script: String, arguments: [String] = [], peer: String? = nil) throws
    -> ProcessResult?
  {
    guard getuid() == 0, let unshare = which("unshare"), let ip = which("ip") else {
      print("skipped: the wire tests need root, unshare and ip to make a network namespace of their own")
      return nil
    }
    var prelude = ""
    let peerPath = temporary("peer.py")
    defer { unlink(peerPath) }
    if let peer {
      guard let python = which("python3") else {
        print("skipped: needs python3 for a peer in the namespace")
        return nil
      }
      try peer.write(toFile: peerPath, atomically: true, encoding: .utf8)
      prelude = "\(python) \(peerPath) & sleep 0.5;"
    }
    let path = temporary("wire.ss")
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    defer { unlink(path) }
    let command = "\(ip) link set lo up && \(prelude) exec \"$0\" run --keep-going --wire \"$@\""
    let result = try runProgram(unshare, ["--net", "sh", "-c", command, sockshellPath, path] + arguments)
    if result.stderr.contains("unshare failed") {
      print("skipped: this machine refuses a new network namespace: \(result.stderr)")
      return nil
    }
    return result
  }

  /// The wire lines printed while the script line `typed` waited, before its call line
  /// (starting with `call`).
  static func wire(before call: String, after typed: String, in output: String) -> [String] {
    let lines = output.split(separator: "\n").map(String.init)
    guard let echo = lines.firstIndex(of: "sockshell> " + typed) else { return [] }
    var found: [String] = []
    for line in lines[(echo + 1)...] {
      if line.hasPrefix(call) { break }
      if line.hasPrefix("  wire  ") {
        found.append(String(line.dropFirst(8)))
      } else if line.hasPrefix("    "), !found.isEmpty {
        found[found.count - 1] += " " + line.drop { $0 == " " }
      }
    }
    return found
  }

  /// The wire lines right under the call that the script line `typed` made (after the call's
  /// own line and its continuation).
  static func wire(after typed: String, in output: String) -> [String] {
    let lines = output.split(separator: "\n").map(String.init)
    guard let echo = lines.firstIndex(of: "sockshell> " + typed),
      let call = lines[(echo + 1)...].firstIndex(where: { !$0.hasPrefix(" ") })
    else { return [] }
    var found: [String] = []
    for line in lines[(call + 1)...] {
      if line.hasPrefix("    ") {
        // The call's continuation, or a wire line's (wrapped at 80 columns): joined back.
        if !found.isEmpty { found[found.count - 1] += " " + line.drop { $0 == " " } }
        continue
      }
      guard line.hasPrefix("  wire  ") else { break }
      found.append(String(line.dropFirst(8)))
    }
    return found
  }

  /// A reset the kernel sends for a SYN that no listener takes is named by its address, never
  /// after a socket of the shell that did not send it: an IPv6 listener with v6only on [::], and a
  /// TCP socket that is bound but does not listen.
  @Test func aResetNoSocketSentIsNotNamedAfterOne() throws {
    guard
      let result = try WireTests.runOnItsOwnLoopback(
        """
        s6 = socket tcp ipv6
        setsockopt s6 v6only 1
        bind s6 [::]:7301
        listen s6
        c = socket tcp
        connect c 127.0.0.1:7301
        b = socket tcp
        bind b 127.0.0.1:7302
        d = socket tcp
        connect d 127.0.0.1:7302
        """)
    else { return }
    let v6only = WireTests.wire(after: "connect c 127.0.0.1:7301", in: result.stdout)
    #expect(v6only.contains { $0.hasPrefix("c > 127.0.0.1:7301  S ") }, "\(v6only)\n\(result.stdout)")
    #expect(v6only.contains { $0.hasPrefix("127.0.0.1:7301 > c  R.") }, "\(v6only)\n\(result.stdout)")
    #expect(!v6only.contains { $0.hasPrefix("s6 ") }, "\(v6only)")
    let joined = result.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    #expect(joined.contains("a socket listens on [::]:7301, but with IPV6_V6ONLY set it takes IPv6 clients only"))
    let bound = WireTests.wire(after: "connect d 127.0.0.1:7302", in: result.stdout)
    #expect(bound.contains { $0.hasPrefix("127.0.0.1:7302 > d  R.") }, "\(bound)\n\(result.stdout)")
  }

  @Test func eachCallShowsThePacketsItCaused() throws {
    let pcap = temporary("wire.pcapng")
    guard
      let result = try WireTests.runOnItsOwnLoopback(
        connectedPair + """
          send c "hello"
          recv conn
          shutdown c write
          recv conn
          close conn
          u = socket udp
          sendto u 127.0.0.1:9 "x"
          r = socket tcp
          connect r 127.0.0.1:9
          a = socket tcp
          connect a srv
          b = accept srv
          send a "unread"
          close b
          export pcap \(pcap)
          timeline --wire --ascii
          """)
    else { return }
    defer { unlink(pcap) }
    let out = result.stdout
    // The handshake under connect: SYN, SYN+ACK, ACK, numbered from each side's SYN.
    let handshake = WireTests.wire(after: "connect c srv", in: out)
    #expect(handshake.count == 3, "\(out)")
    if handshake.count == 3 {
      #expect(handshake[0].hasPrefix("c > srv  S seq 0 win "), "\(handshake)")
      #expect(handshake[0].contains("<mss ") && handshake[0].contains("wscale"), "SYN options: \(handshake)")
      #expect(handshake[1].hasPrefix("srv > c  S. seq 0 ack 1 win "), "\(handshake)")
      #expect(handshake[2].hasPrefix("c > srv  . ack 1 win "), "a pure ACK has no seq: \(handshake)")
    }
    // accept makes no packet: the handshake was over before it.
    #expect(WireTests.wire(after: "conn = accept srv", in: out).isEmpty, "\(out)")
    // Data and its ACK under send.
    let data = WireTests.wire(after: #"send c "hello""#, in: out)
    #expect(data.first?.hasPrefix("c > conn  P. seq 1:6 ack 1 win ") == true, "\(data)")
    #expect(data.first?.hasSuffix(#"len 5  "hello""#) == true, "\(data)")
    #expect(data.contains { $0.hasPrefix("conn > c  . ack 6 ") }, "\(data)")
    // FIN under shutdown, then the other side's FIN and its ACK under close.
    #expect(WireTests.wire(after: "shutdown c write", in: out).first?.hasPrefix("c > conn  F. seq 6 ack 1") == true)
    let closing = WireTests.wire(after: "close conn", in: out)
    #expect(closing.count == 2 && closing[0].hasPrefix("conn > c  F. seq 1 ack 7"), "\(closing)")
    #expect(closing.last?.hasPrefix("c > conn  . ack 2 ") == true, "\(closing)")
    // UDP to a closed port: the datagram, and ICMP port unreachable for it.
    let udp = WireTests.wire(after: #"sendto u 127.0.0.1:9 "x""#, in: out)
    #expect(udp.first == #"u > 127.0.0.1:9  UDP len 1  "x""#, "\(udp)")
    #expect(udp.last == "127.0.0.1 > u  ICMP port unreachable (for UDP u > 127.0.0.1:9)", "\(udp)")
    // A connect where nothing listens: SYN answered by RST.
    let refused = WireTests.wire(after: "connect r 127.0.0.1:9", in: out)
    #expect(refused.count == 2 && refused[1] == "127.0.0.1:9 > r  R. seq 1 ack 1 win 0", "\(refused)")
    // close with unread data: a reset, not a FIN.
    let reset = WireTests.wire(after: "close b", in: out)
    #expect(reset.count == 1 && reset[0].hasPrefix("b > a  R. seq 1 ack 7"), "\(reset)\n\(out)")
    try WireTests.readBack(pcap, against: out)
    // timeline --wire draws the packets as arrows between the columns, in the order they came.
    let timeline = Array(out.split(separator: "\n").drop { !$0.hasPrefix("Timeline of this session") })
    let labels = ["SYN", "SYN-ACK", "5 bytes", "FIN", "RST", "UDP 1", "ICMP"]
    for label in labels {
      #expect(timeline.contains { $0.contains(label) }, "\(label) drawn:\n\(timeline.joined(separator: "\n"))")
    }
    let order = ["SYN", "SYN-ACK", "5 bytes"].compactMap { label in timeline.firstIndex { $0.contains(label) } }
    #expect(order == order.sorted() && order.count == 3, "the handshake before the data: \(order)")
    // The refused connect's SYN and RST are drawn once (as captured), not also from the call.
    // (b's reset goes between two columns that do not fit at 80 columns: not drawn here.)
    #expect(timeline.filter { $0.contains("RST") }.count == 1, "\(timeline.joined(separator: "\n"))")
  }

  /// Turned off and on again, the wire goes on numbering from each side's SYN, with the window
  /// scale it knew: the kernel's numbers went on while it was off.
  @Test func offAndOnAgainKeepsTheNumbering() throws {
    guard
      let result = try WireTests.runOnItsOwnLoopback(
        connectedPair + """
          send c "ab"
          wire off
          send c "cde"
          recv conn
          wire on
          send c "f"
          """)
    else { return }
    let line = WireTests.wire(after: #"send c "f""#, in: result.stdout).first ?? ""
    #expect(line.hasPrefix("c > conn  P. seq 6:7 ack 1 win "), "\(line)\n\(result.stdout.suffix(800))")
    #expect(!line.contains("scale unknown") && !line.contains("win 64 "), "\(line)")
  }

  /// Another program's loopback traffic (as it would be for root on a shared machine) is not
  /// shown: only packets with one end at a socket of the shell's.
  @Test func anotherProgramsTrafficIsNotShown() throws {
    let port = 47_000 + Int.random(in: 0..<1000)
    let chatter = """
      import socket, time
      l = socket.socket()
      l.bind(("127.0.0.1", \(port)))
      l.listen()
      c = socket.create_connection(("127.0.0.1", \(port)))
      s, _ = l.accept()
      end = time.time() + 2
      while time.time() < end:
          c.sendall(b"other program")
          s.recv(100)
          time.sleep(0.01)
      """
    guard
      let result = try WireTests.runOnItsOwnLoopback(
        connectedPair + """
          send c "mine"
          recv conn
          poll conn --timeout 300
          send conn "mine too"
          recv c
          """, peer: chatter)
    else { return }
    let wire = result.stdout.split(separator: "\n").filter { $0.hasPrefix("  wire  ") }
    #expect(wire.contains { $0.contains(#""mine""#) } && wire.contains { $0.contains(#""mine too""#) }, "\(wire)")
    #expect(!result.stdout.contains("other program"), "\(result.stdout)")
    #expect(!result.stdout.contains(":\(port)"), "\(result.stdout)")
  }

  /// A large transfer stays readable: past a dozen packets at once, the plain ones are summed
  /// up per direction; memory stays bounded.
  @Test func aLargeSendIsSummedUp() throws {
    let port = 45_000 + Int.random(in: 0..<1000)
    let sink = """
      import socket
      l = socket.socket()
      l.bind(("127.0.0.1", \(port)))
      l.listen()
      l.settimeout(20)
      c, _ = l.accept()
      while c.recv(1 << 20):
          pass
      """
    guard
      let result = try WireTests.runOnItsOwnLoopback(
        """
        c = socket tcp
        connect c 127.0.0.1:\(port)
        send c --size 16777216 = 16777216
        shutdown c write
        recv c = 0
        close c
        timeline --wire
        """, peer: sink)
    else { return }
    let lines = WireTests.wire(after: "send c --size 16777216 = 16777216", in: result.stdout)
    #expect(lines.count < 30, "summed up: \(lines.count) lines\n\(lines.joined(separator: "\n"))")
    #expect(lines.contains { $0.hasPrefix("c > 127.0.0.1:\(port)  and ") }, "\(lines)")
    // The timeline sums the burst up too: a few rows, not one a segment (16 MiB is 256 segments
    // of 64 KiB at least; under load the kernel sends it in more bursts, each a row or two).
    let timeline = result.stdout.split(separator: "\n").drop { !$0.hasPrefix("Timeline of this session") }
    #expect(timeline.count < 60, "\(timeline.joined(separator: "\n"))")
    #expect(timeline.contains { $0.contains(" segs, ") }, "\(timeline.joined(separator: "\n"))")
    // Every byte is counted, those shown one by one and those summed up, under send and (what
    // was still in the send buffer when send returned) while recv waits for the peer's FIN.
    let all =
      lines + WireTests.wire(after: "shutdown c write", in: result.stdout)
      + WireTests.wire(before: "recv(", after: "recv c = 0", in: result.stdout)
    // Data sent again (under load loopback may drop a segment before the capture sees it, and
    // TCP sends it again) is counted or not: every byte arrived once, so the total lies between
    // the sum without resends and the sum with them.
    func sum(withResends: Bool) -> Int {
      all.filter { $0.hasPrefix("c > ") && (withResends || !$0.contains("(retransmission)")) }.compactMap {
        line -> Int? in
        if let at = line.range(of: " len ") { return Int(line[at.upperBound...].prefix { $0.isNumber }) }
        if line.contains(" more packet") { return Int(line.split(separator: ":").last!.split(separator: " ").first!) }
        return nil
      }.reduce(0, +)
    }
    let (low, high) = (sum(withResends: false), sum(withResends: true))
    // A capture that could not keep up says so, and so does a burst with more notable packets
    // than are shown one by one; then fewer bytes are counted, never more.
    if all.contains(where: { $0.contains("not captured") || $0.contains("more like these") }) {
      #expect(low <= 16_777_216, "\(low)\n\(all.joined(separator: "\n"))")
    } else {
      #expect(low <= 16_777_216 && 16_777_216 <= high, "\(low)...\(high)\n\(all.joined(separator: "\n"))")
    }
  }

  /// tshark reads the exported file, and each TCP segment in it has the flags, relative seq and
  /// ack and length that the wire showed, in the same order.
  static func readBack(_ pcap: String, against out: String) throws {
    guard let tshark = which("tshark") else {
      print("skipped: tshark is not installed (make test installs it)")
      return
    }
    let fields = ["tcp.flags", "tcp.seq", "tcp.ack", "tcp.len", "frame.time_epoch"].flatMap { ["-e", $0] }
    let read = try runProgram(
      tshark, ["-r", pcap, "-Y", "tcp", "-T", "fields"] + fields, environment: ["HOME": "/tmp"])
    #expect(read.status == 0, "\(read.stderr)")
    let packets = read.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
    let shown = out.split(separator: "\n").filter {
      $0.hasPrefix("  wire  ") && !$0.contains(" UDP ") && !$0.contains("ICMP")
    }
    #expect(packets.count == shown.count, "tshark read \(packets.count) TCP segments, the wire showed \(shown.count)")
    // Each frame has the time the kernel took it: in order, and not one time for a whole drain.
    let times = packets.compactMap { $0.count == 5 ? Double($0[4]) : nil }
    #expect(times == times.sorted(), "timestamps in order")
    #expect(Set(times).count * 5 >= times.count * 4, "\(Set(times).count) distinct times for \(times.count) frames")
    for (packet, line) in zip(packets, shown) where packet.count == 5 {
      let words = line.split(separator: " ").map(String.init)
      // "wire c > srv FLAGS [seq A[:B]] [ack N] ..."
      let flags = words[4]
      var bits = 0
      for (letter, bit) in [("S", 0x02), ("F", 0x01), ("P", 0x08), ("R", 0x04), ("U", 0x20), (".", 0x10)]
      where flags.contains(letter) {
        bits |= bit
      }
      #expect(Int(packet[0].dropFirst(2), radix: 16) == bits, "flags: \(packet) vs \(line)")
      if let at = words.firstIndex(of: "seq") {
        #expect(
          words[at + 1].split(separator: ":").first.map(String.init) == String(packet[1]), "seq: \(packet) vs \(line)")
      }
      if let at = words.firstIndex(of: "ack") {
        #expect(words[at + 1] == String(packet[2]), "ack: \(packet) vs \(line)")
      }
      let length = words.firstIndex(of: "len").map { words[$0 + 1] } ?? "0"
      #expect(length == String(packet[3]), "len: \(packet) vs \(line)")
    }
  }

  /// Where capturing is not allowed (no CAP_NET_RAW, no sandbox), `wire on` says why and what
  /// to do, and the shell goes on.
  @Test func withoutTheRightToCaptureItSaysWhyAndGoesOn() throws {
    guard getuid() == 0, let setpriv = which("setpriv") else {
      print("skipped: needs root and setpriv to run the shell as an unprivileged user")
      return
    }
    let result = try runProgram(
      setpriv, ["--reuid", "65534", "--regid", "65534", "--clear-groups", sockshellPath, "run", "--keep-going", "-"],
      input: "wire on\ns = socket tcp\n", environment: ["HOME": "/tmp"])
    #expect(
      result.stdout.contains("error: The wire cannot be shown: capturing needs CAP_NET_RAW"), "\(result.stdout)")
    #expect(result.stdout.contains("Start sockshell --sandbox"), "what to do: \(result.stdout)")
    #expect(result.stdout.contains("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3"), "it goes on: \(result.stdout)")
  }

}

/// `--sandbox`: a private user and network namespace where a user without root may capture
/// loopback and bind ports below 1024; a second terminal joins it with the command it prints.
@Suite struct SandboxTests {
  /// The shell as an unprivileged user (nobody), when the test runs as root.
  static func asNobody() -> [String]? {
    guard getuid() == 0, let setpriv = which("setpriv") else {
      print("skipped: the sandbox tests run the shell as nobody, which needs root and setpriv")
      return nil
    }
    return [setpriv, "--reuid", "65534", "--regid", "65534", "--clear-groups"]
  }

  @Test func anUnprivilegedUserSeesTheWireInTheSandbox() throws {
    guard let nobody = SandboxTests.asNobody() else { return }
    let result = try runProgram(
      nobody[0], Array(nobody.dropFirst()) + [sockshellPath, "run", "--sandbox", "--wire", "-"],
      input: connectedPair.replacing("127.0.0.1:0", with: "127.0.0.1:80"), environment: ["HOME": "/tmp"])
    if result.stderr.contains("no sandbox:") {
      print("skipped: this machine does not let a user make a namespace: \(result.stderr)")
      #expect(result.stdout.contains("The wire cannot be shown"), "and the wire says so: \(result.stdout)")
      return
    }
    #expect(result.stderr.contains("in a sandbox"), "\(result.stderr)")
    #expect(result.stderr.contains("nsenter -t "), "the join command: \(result.stderr)")
    #expect(result.stdout.contains(", {sa_family=AF_INET, sin_port=htons(80),"), "port 80 bound: \(result.stdout)")
    #expect(!result.stdout.contains("EACCES"), "\(result.stdout)")
    #expect(result.stdout.contains("  wire  c > srv  S seq 0 "), "the handshake: \(result.stdout)")
    #expect(result.stdout.contains("only programs in this sandbox"), "\(result.stdout)")
  }

  /// The sandbox has mc0 and mc1, linked only to each other, that carry IPv6 multicast (loopback
  /// does not): lesson 17's last step says so. A lesson's lines may join and send there, since
  /// nothing reaches beyond the sandbox; the shell says nothing of "leaving this machine".
  @Test func theSandboxCarriesIPv6MulticastOnMc0() throws {
    guard let nobody = SandboxTests.asNobody() else { return }
    let script = """
      r6 = socket udp ipv6
      bind r6 [::]:7000
      setsockopt r6 add_membership ff12::1:2:3 mc0
      setsockopt r6 multicast_if mc0
      sendto r6 [ff12::1:2:3]:7000 "six" = 3
      recvfrom r6 100 = 3
      """
    let result = try runProgram(
      nobody[0], Array(nobody.dropFirst()) + [sockshellPath, "run", "--sandbox", "-"], input: script,
      environment: ["HOME": "/tmp"])
    if result.stderr.contains("no sandbox:") {
      print("skipped: this machine does not let a user make a namespace: \(result.stderr)")
      return
    }
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(
      result.stderr.split(whereSeparator: \.isWhitespace).joined(separator: " ").contains(
        "and mc0 and mc1, two interfaces"),
      "\(result.stderr)")
    #expect(result.stdout.contains(#"recvfrom(3, "six", 100, 0, {sa_family=AF_INET6"#), "\(result.stdout)")
    #expect(!result.stdout.contains("left this machine"), "\(result.stdout)")
  }

  /// Where user namespaces are turned off, the shell says exactly why and goes on without them.
  @Test func whereNamespacesAreRefusedItSaysWhyAndGoesOn() throws {
    guard getuid() == 0, let unshare = which("unshare") else {
      print("skipped: needs root and unshare to turn user namespaces off for one process")
      return
    }
    // A user namespace of the test's own, with no more namespaces allowed inside it.
    let script = temporary("refused.ss")
    try "s = socket tcp\n".write(toFile: script, atomically: true, encoding: .utf8)
    defer { unlink(script) }
    let result = try runProgram(
      unshare,
      [
        "--user", "--map-root-user", "sh", "-c",
        "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" run --sandbox --wire \"$1\"", sockshellPath,
        script,
      ])
    #expect(result.stderr.contains("no sandbox: user namespaces are turned off here"), "\(result.stderr)")
    #expect(result.stdout.contains("The wire cannot be shown"), "\(result.stdout)")
    #expect(result.stdout.contains("= 3"), "it goes on: \(result.stdout)")
  }

  /// A second terminal joins the sandbox with the printed command and sees its sockets.
  @Test func aSecondTerminalJoinsWithThePrintedCommand() throws {
    guard let nobody = SandboxTests.asNobody(), let nsenter = which("nsenter"), let ss = which("ss") else {
      print("skipped: needs root, setpriv, nsenter and ss")
      return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: nobody[0])
    process.arguments = Array(nobody.dropFirst()) + [sockshellPath, "--sandbox"]
    process.environment = ["HOME": "/tmp", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"]
    let input = Pipe()
    let errors = Pipe()
    process.standardInput = input
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errors
    try process.run()
    defer {
      try? input.fileHandleForWriting.close()
      waitBounded(process)
    }
    input.fileHandleForWriting.write(Data("srv = socket tcp\nbind srv 127.0.0.1:80\nlisten srv\n".utf8))
    // The welcome comes first, on standard error.
    var said = Data()
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline && !(String(decoding: said, as: UTF8.self).contains("--preserve-credentials")) {
      said += errors.fileHandleForReading.availableData
    }
    let text = String(decoding: said, as: UTF8.self)
    if text.contains("no sandbox:") {
      print("skipped: this machine does not let a user make a namespace: \(text)")
      return
    }
    let join = try #require(text.split(separator: "\n").first { $0.contains("nsenter -t ") })
    let words = join.split(separator: " ").map(String.init).drop { $0 != "nsenter" }.dropFirst()
    // Bounded: the listener appears within a few tries.
    var listing = ""
    for _ in 0..<50 where !listing.contains("127.0.0.1:80 ") {
      let result = try runProgram(
        nobody[0], Array(nobody.dropFirst()) + [nsenter] + words + [ss, "-tln"])
      listing = result.stdout
      usleep(100_000)
    }
    #expect(listing.contains("127.0.0.1:80 "), "the sandbox's listener, seen from the joined terminal: \(listing)")
    // Outside the sandbox there is no such listener.
    #expect(!(try runProgram(ss, ["-tln"]).stdout.contains("127.0.0.1:80 ")))
  }
}

/// Packets that come later (a peer's connect and data, while the learner types) appear at the
/// prompt, above the half-typed line, which stays whole: through a real terminal (tmux), in a
/// network namespace of the test's own.
@Suite struct WireAtThePromptTests {
  @Test func laterPacketsAppearAboveTheLineBeingTyped() throws {
    guard getuid() == 0, let unshare = which("unshare"), let ip = which("ip"), let python = which("python3") else {
      print("skipped: needs root, unshare, ip and python3 for a namespace with a peer of its own")
      return
    }
    let port = 46_000 + Int.random(in: 0..<1000)
    let peer = temporary("late-peer.py")
    try """
    import socket, time
    for _ in range(200):
        try:
            s = socket.create_connection(("127.0.0.1", \(port)))
            break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.5)
    s.sendall(b"late\\n")
    time.sleep(10)
    """.write(toFile: peer, atomically: true, encoding: .utf8)
    defer { unlink(peer) }
    let home = temporary("wire-home")
    try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: home) }
    guard
      let tmux = TmuxScreen(
        width: 80,
        command: [
          unshare, "--net", "sh", "-c",
          "\(ip) link set lo up; \(python) \(peer) & exec env SOCKSHELL_HOME=\(home) NO_COLOR=1 \(sockshellPath) --wire",
        ])
    else {
      print("skipped: tmux is not installed")
      return
    }
    defer { tmux.stop() }
    #expect(tmux.waitFor("sockshell>"))
    tmux.type("srv = socket tcp\r")
    tmux.type("bind srv 127.0.0.1:\(port)\r")
    tmux.type("listen srv\r")
    #expect(tmux.waitFor("LISTENING"))
    tmux.type("ls --wi")
    #expect(tmux.waitFor("srv  S seq 0"), "the peer's SYN, at the prompt:\n\(tmux.screen)")
    #expect(tmux.waitFor(#"len 5  "late\n""#), "its data, at the prompt:\n\(tmux.screen)")
    usleep(200_000)
    let rows = tmux.screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let typed = rows.indices.filter { rows[$0].hasPrefix("sockshell> ls --wi") }
    #expect(typed.count == 1, "the half-typed line is on the screen once, whole: \(rows)")
    if let row = typed.first {
      #expect(rows[..<row].contains { $0.contains(#""late\n""#) }, "the packet is above it: \(rows)")
      #expect(!rows[(row + 1)...].contains { $0.contains("wire") }, "nothing below it: \(rows)")
    }
  }
}

/// A frame is parsed with every length checked: random and damaged frames (lengths that lie,
/// options that run past the header, cut headers) give no packet or a well-formed one, never a
/// crash.
@Suite struct PacketParsingTests {
  @Test func damagedFramesNeverCrashTheParser() {
    var random = SystemRandomNumberGenerator()
    // A real SYN with options, over IPv4, on loopback's zeroed Ethernet header.
    let syn: [UInt8] =
      [UInt8](repeating: 0, count: 12) + [0x08, 0x00]
      + [0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
      + [0x9C, 0x40, 0x1F, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0xA0, 0x02, 0xFF, 0xD7, 0, 0, 0, 0]
      + [2, 4, 0xFF, 0xD7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]
    let parsed = Packet(frame: syn)
    guard case .tcp(let segment)? = parsed?.body else {
      Issue.record("the SYN parses: \(String(describing: parsed))")
      return
    }
    #expect(
      segment.flagText == "S" && segment.options.contains(.mss(65495)) && segment.options.contains(.windowScale(7)))
    for _ in 0..<20_000 {
      var frame = syn
      // Damage: cut it, change bytes (lengths, offsets, option kinds), or make it random.
      switch Int.random(in: 0..<3, using: &random) {
      case 0: frame = Array(frame.prefix(Int.random(in: 0...frame.count, using: &random)))
      case 1:
        for _ in 0..<Int.random(in: 1...6, using: &random) {
          frame[Int.random(in: 12..<frame.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
        }
      default:
        frame = (0..<Int.random(in: 0...120, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        if frame.count > 14, Bool.random(using: &random) {
          frame[12] = 0x86
          frame[13] = 0xDD
        }
      }
      if let packet = Packet(frame: frame), case .tcp(let segment) = packet.body {
        #expect(segment.payload.count <= frame.count)
      }
    }
  }
}

/// What the wire keeps: the newest items, and a count of those let go.
@Suite struct NewestTests {
  @Test func keepsTheNewestAndCountsTheRest() {
    var newest = Newest<Int>()
    for value in 0..<5000 {
      newest.append(value)
      if newest.count > 1000 { #expect(newest.dropOldest() == value - 1000) }
    }
    #expect(Array(newest.items) == Array(4000..<5000) && newest.dropped == 4000)
  }
}

/// Multicast that reaches a network beyond this machine is said to: in a namespace of its own
/// whose only other interface is one end of a veth pair (nothing leaves the test's machine).
@Suite struct MulticastElsewhereTests {
  @Test func aGroupDatagramOrJoinOffLoopbackIsSaid() throws {
    guard getuid() == 0, let unshare = which("unshare"), let ip = which("ip") else {
      print("skipped: needs root, unshare and ip for a namespace with a second interface")
      return
    }
    let script = temporary("elsewhere.ss")
    defer { unlink(script) }
    try """
    s = socket udp
    sendto s 239.1.2.3:5000 "out"
    setsockopt s multicast_if 127.0.0.1
    sendto s 239.1.2.3:5000 "here"
    r = socket udp
    setsockopt r add_membership 239.1.2.4
    setsockopt r add_membership 239.1.2.5 127.0.0.1
    """.write(toFile: script, atomically: true, encoding: .utf8)
    let setup =
      "\(ip) link set lo up && \(ip) link add mc0 type veth peer name mc1 && \(ip) addr add 10.9.0.1/24 dev mc0"
      + " && \(ip) link set mc0 up && \(ip) link set mc1 up && \(ip) route add default dev mc0"
      + " && exec \"$0\" run --keep-going \"$1\""
    let result = try runProgram(unshare, ["--net", "sh", "-c", setup, sockshellPath, script])
    let text = result.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    func after(_ line: String) -> String {
      guard let start = text.range(of: "sockshell> " + line) else { return "" }
      let rest = text[start.upperBound...]
      return String(rest[..<(rest.range(of: "sockshell> ")?.lowerBound ?? rest.endIndex)])
    }
    #expect(after(#"sendto s 239.1.2.3:5000 "out""#).contains("It left this machine"), "\(result.stdout)")
    #expect(after(#"sendto s 239.1.2.3:5000 "out""#).contains("address 10.9.0.1"))
    #expect(!after(#"sendto s 239.1.2.3:5000 "here""#).contains("left this machine"))
    #expect(after("setsockopt r add_membership 239.1.2.4").contains("address 10.9.0.1, and announced the join"))
    #expect(!after("setsockopt r add_membership 239.1.2.5 127.0.0.1").contains("No interface was named"))
  }
}

/// A step's packet checks and a wire that was off when the step began.
@Suite struct WireCheckTests {
  /// Off when the step began and off now: the check stands aside, even though the wire showed
  /// packets in an earlier step (it did not, once). Turned on during the step: the check counts
  /// what it saw, and when that falls short says that what went before was not seen.
  @Test func aPacketCheckStandsAsideForAWireThatWasOff() throws {
    guard getuid() == 0 else {
      print("skipped: capturing on loopback needs root (the sandbox is for the shell, not the tests)")
      return
    }
    let lesson = try LessonLoader.parse(
      """
      ---
      id: w
      title: W
      ---

      ## Reset

      ```check
      segments flags=R. >= 1
      ```

      ```hint
      Reset a connection.
      ```

      ```solution
      s = socket tcp
      ```
      """, path: "w.md")
    let seen = inPrivateNetwork { () -> [String] in
      let (session, run) = takeQuietly(lesson)
      defer { session.closeAll() }
      var seen: [String] = []
      guard case .success = session.startWire() else { return ["no wire"] }
      // Packets shown before the step: a handshake on loopback.
      for line in ["l = socket tcp", "bind l 127.0.0.1:0", "listen l", "c = socket tcp", "connect c l"] {
        _ = session.execute(line)
      }
      seen.append("shown \(session.host.wire?.shown.isEmpty == false)")
      session.stopWire()
      run.begin()
      seen.append(run.failures().isEmpty ? "stands aside" : "fails: \(run.failures())")
      _ = session.startWire()
      seen.append(run.failures().first?.1 ?? "holds")
      return seen
    }
    guard let seen else { return }
    #expect(seen.count == 3, "\(seen)")
    #expect(seen.first == "shown true", "the wire showed the handshake: \(seen)")
    #expect(seen.dropFirst().first == "stands aside", "\(seen)")
    #expect(seen.last?.contains("the wire was turned on during the step") == true, "\(seen)")
  }
}
