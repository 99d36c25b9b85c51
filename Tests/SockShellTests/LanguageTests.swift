import SocketLayer
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@testable import SockShellKit

@Suite struct LanguageTests {
  @Test func namedSocketWithDefaults() throws {
    let line = try #require(try Parser.parse("srv = socket"))
    #expect(line.name == "srv")
    let command = try #require(line.command as? SocketCommand)
    #expect(command.family == .ipv4 && command.type == .stream)
  }

  @Test(arguments: [
    ("socket udp", SocketFamily.ipv4, SocketType.datagram),
    ("socket tcp ipv6", .ipv6, .stream),
    ("socket stream unix", .unix, .stream),
    ("socket dgram unix", .unix, .datagram),
    ("socket AF_INET6 SOCK_DGRAM", .ipv6, .datagram),
    ("socket ipv6 udp", .ipv6, .datagram),
  ])
  func socketSpellings(text: String, family: SocketFamily, type: SocketType) throws {
    let command = try #require(try Parser.parse(text)?.command as? SocketCommand)
    #expect(command.family == family && command.type == type)
  }

  @Test func commentsAndBlankLinesParseToNothing() throws {
    #expect(try Parser.parse("") == nil)
    #expect(try Parser.parse("   # just a comment") == nil)
    let line = try #require(try Parser.parse("listen 3 # backlog defaults to 5"))
    #expect((line.command as? ListenCommand)?.backlog == nil)
  }

  @Test func expectedResults() throws {
    #expect(try Parser.parse("bind s 127.0.0.1:80 = 0")?.expected == .value(0))
    #expect(try Parser.parse("send c hi = 2")?.expected == .value(2))
    #expect(try Parser.parse("connect c 127.0.0.1:9 = -1 ECONNREFUSED")?.expected == .failure(Errno(ECONNREFUSED)))
    #expect(try Parser.parse("connect c 127.0.0.1:9 = ECONNREFUSED")?.expected == .failure(Errno(ECONNREFUSED)))
    #expect(try Parser.parse("connect c 127.0.0.1:9 = -1")?.expected == .failure(nil))
  }

  @Test(arguments: [
    ("127.0.0.1:8080", AddressSpec.host("127.0.0.1", port: 8080)),
    ("[::1]:8080", .host("::1", port: 8080)),
    ("*:8080", .any(port: 8080)),
    (":8080", .any(port: 8080)),
    ("[::]:0", .host("::", port: 0)),
    ("localhost:8080", .host("localhost", port: 8080)),
    ("/tmp/s.sock", .unixPath("/tmp/s.sock")),
    ("./s.sock", .unixPath("./s.sock")),
    ("unix:demo.sock", .unixPath("demo.sock")),
    ("@abstract", .abstract("abstract")),
    ("srv", .descriptor(.name("srv"))),
    ("3", .descriptor(.number(3))),
  ])
  func addresses(text: String, expected: AddressSpec) throws {
    let command = try #require(try Parser.parse("connect c \(text)")?.command as? ConnectCommand)
    #expect(command.address == expected)
  }

  @Test(arguments: [
    (#""hello\n""#, Array("hello\n".utf8)),
    (#""a\r\t\0\\\"b""#, [0x61, 0x0D, 0x09, 0x00, 0x5C, 0x22, 0x62]),
    (#""\x1b[2J""#, [0x1B, 0x5B, 0x32, 0x4A]),
    (#"'single \n literal'"#, Array(#"single \n literal"#.utf8)),
    ("bare", Array("bare".utf8)),
    ("hex:48656c6c6f", Array("Hello".utf8)),
    (#""caf\u{e9}""#, Array("café".utf8)),
  ])
  func dataForms(text: String, bytes: [UInt8]) throws {
    let command = try #require(try Parser.parse("send c \(text)")?.command as? SendCommand)
    #expect(command.data == .bytes(bytes))
  }

  @Test func sizeAndFileData() throws {
    let sized = try #require(try Parser.parse("send c --size 100 dontwait")?.command as? SendCommand)
    #expect(sized.data == .pattern(100) && sized.flags == ["dontwait"])
    #expect(DataSpec.pattern(size: 40).count == 40)
    let file = try #require(try Parser.parse("send c --file /etc/hostname")?.command as? SendCommand)
    #expect(file.data == .file("/etc/hostname"))
  }

  @Test func recvLengthAndFlags() throws {
    let recv = try #require(try Parser.parse("recv c 10 peek MSG_DONTWAIT")?.command as? RecvCommand)
    #expect(recv.length == 10 && recv.flags == ["peek", "dontwait"])
    let plain = try #require(try Parser.parse("recv c")?.command as? RecvCommand)
    #expect(plain.length == nil && plain.flags.isEmpty)
  }

  /// Each malformed line gets an error that says what is wrong, at the right column.
  @Test(arguments: [
    ("lisen 3", "did you mean 'listen'", 1),
    ("bind srv", "missing ADDR", 9),
    ("bind srv 127.0.0.1:99999", "is not a port", 10),
    ("bind srv ::1:80", "brackets", 10),
    ("send c \"open", "never closed", 8),
    ("send c \"bad \\q\"", "unknown escape", 13),
    ("send c \"\\x4\"", "two hex digits", 9),
    ("send c hex:abc", "even number", 8),
    ("recv c 10 sideways", "not a flag", 11),
    ("recv c 99999999", "LENGTH", 8),
    ("x = bind s 1.2.3.4:5", "only socket and accept", 5),
    ("ls = 0", "returns no value", 1),
    ("connect c 1.2.3.4:5 =", "needs a result", 22),
    ("connect c 1.2.3.4:5 = -1 ENOSUCH", "not an errno", 26),
    ("setsockopt s reuseadr 1", "did you mean reuseaddr", 14),
    ("bind u 127.0.0.1", "'127.0.0.1' has no port: write the host, a colon and the port (127.0.0.1:8080)", 8),
    ("setsockopt u add_membership nowhere", "is not a group: give a multicast address", 29),
    ("setsockopt s error 1", "can only be read", 14),
    ("socket tcp udp", "choose one type", 12),
    ("close", "missing FD", 6),
    ("close 3 4", "too many arguments", 9),
    ("shutdown c sideways", "not a direction", 12),
    ("3x = socket", "cannot name", 1),
    ("ls = socket", "is a command", 1),
  ])
  func malformedLines(text: String, message: String, column: Int) {
    do {
      _ = try Parser.parse(text)
      Issue.record("parsed without error: \(text)")
    } catch {
      #expect(error.message.contains(message), "\(text): \(error.message)")
      #expect(error.column == column, "\(text): column \(String(describing: error.column))")
    }
  }

  /// A parsed command prints back to a line that parses to the same command.
  @Test(arguments: [
    "srv = socket tcp", "socket udp ipv6", "socket stream unix", "bind srv 127.0.0.1:8080 = 0",
    "bind s [::1]:0", "bind s *:80", "bind u /tmp/x.sock", "bind u @name", "bind u unix:rel.sock",
    "listen srv 12", "conn = accept srv", "connect c srv = 0", "connect c 127.0.0.1:9 = -1 ECONNREFUSED",
    #"send c "hello\n" dontwait nosignal"#, "send c hex:00ff10", "send c --size 300", #"send c "\x1b[2J""#,
    "recv c 10 peek waitall", "sendto u 127.0.0.1:9 'x y'", "recvfrom u 100", "shutdown c write",
    "close c", "getsockname c", "getpeername c", "setsockopt s linger on 0", "setsockopt s rcvtimeo 500",
    "setsockopt s nodelay 1", "getsockopt s", "getsockopt s error", "nonblock s on", "nonblock s",
    "poll a b --timeout 100", "ls", "help bind", "explain EADDRINUSE", "history", "quit",
    #"send c "caf\u{e9} \"q\" \\ '""#,
    // Found by the parser fuzzer (make fuzz): addresses with blanks, quotes or invalid UTF-8.
    "bind srv /27=\"\u{ff}0 =\"0", #"bind u "/tmp/a b.sock""#, #"connect c "unix:x y""#, #"sendto u "@has space" x"#,
  ])
  func roundTrip(text: String) throws {
    let first = try #require(try Parser.parse(text))
    let printed = first.text
    let second = try #require(try Parser.parse(printed), "did not parse back: \(printed)")
    #expect(second.text == printed, "\(text) -> \(printed) -> \(second.text)")
    #expect(second.spec.name == first.spec.name)
  }

  @Test func typoSuggestions() {
    #expect(Registry.suggestion(for: "lisen") == "listen")
    #expect(Registry.suggestion(for: "conect") == "connect")
    #expect(Registry.suggestion(for: "recieve") == nil || Registry.suggestion(for: "recieve") == "recv")
    #expect(Registry.suggestion(for: "sned") == "send")
    #expect(Registry.suggestion(for: "xyzzy") == nil)
    #expect(Registry.suggestion(for: "y") == nil, "one letter is no misspelt ?")
    #expect(Registry.suggestion(for: "lx") == "ls")
  }
}
