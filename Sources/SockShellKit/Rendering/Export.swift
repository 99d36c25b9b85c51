#if canImport(Glibc)
  import Glibc
#endif
import SocketLayer

/// Turns a session's transcript into a C or Python program that makes the same calls in the same
/// order and checks each result against what the session saw.
enum Export {
  enum Language { case c, python }

  /// Variables for descriptors: the name the learner gave, or `fd3`; a number reused after close
  /// gets a fresh variable.
  struct Variables {
    var byName: [String: String] = [:]
    var byNumber: [Int32: String] = [:]
    var all: [String] = []

    mutating func create(fd: Int32, name: String?) -> String {
      var base = name.map { "s_" + $0.replacing("-", with: "_") } ?? "fd\(fd)"
      if all.contains(base) { base += "_\(all.count)" }
      all.append(base)
      byNumber[fd] = base
      if let name { byName[name] = base }
      return base
    }

    func lookup(_ ref: DescriptorRef) -> String? {
      switch ref {
      case .name(let name): byName[name]
      case .number(let fd): byNumber[fd]
      }
    }

    mutating func forget(_ ref: DescriptorRef) {
      guard let variable = lookup(ref) else { return }
      byNumber = byNumber.filter { $0.value != variable }
      byName = byName.filter { $0.value != variable }
    }
  }

  /// The program's text: each entry's own command writes its statements (`exportC`,
  /// `exportPython`), with its line as a comment above them.
  static func program(_ transcript: [TranscriptEntry], language: Language) -> String {
    var variables = Variables()
    var largestRead = 1
    var body: [String] = []
    for entry in transcript {
      // A call the session interrupted (Ctrl-C, --timeout) would wait for ever in the program.
      let interrupted = entry.interrupted
      body.append(
        (language == .c ? "  /* " : "    # ") + ByteText.sanitized(entry.line.text).replacing("*", with: "+")
          + (interrupted ? ": interrupted in the session, left out" : "") + (language == .c ? " */" : ""))
      if interrupted { continue }
      switch language {
      case .c:
        var writer = CExport(entry: entry, variables: variables, largestRead: largestRead)
        body += entry.line.command.exportC(&writer)
        variables = writer.variables
        largestRead = writer.largestRead
      case .python:
        var writer = PythonExport(entry: entry, variables: variables)
        body += entry.line.command.exportPython(&writer)
        variables = writer.variables
      }
    }
    switch language {
    case .c: return cProgram(body: body, variables: variables.all, bufferSize: largestRead)
    case .python: return pythonProgram(body: body)
    }
  }

  // MARK: C

  static func expectation(_ outcome: CommandOutcome) -> (Int, String) {
    switch outcome {
    case .returned(let value): (value, "0")
    case .failed(let errno): (-1, errno.name)
    default: (0, "0")
    }
  }

  static func cString(_ bytes: [UInt8]) -> String {
    var out = "\""
    for byte in bytes {
      switch byte {
      case 0x5C: out += "\\\\"
      case 0x22: out += "\\\""
      case 0x3F: out += "\\?"  // no trigraphs
      case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        let octal = String(byte, radix: 8)
        out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
      }
    }
    return out + "\""
  }

  /// Statements that put an address in `addr`/`len`, or nil when it cannot be written.
  static func cAddress(_ spec: AddressSpec, family: SocketFamily, _ variables: Variables) -> String? {
    switch spec {
    case .host(let host, let port):
      if let numeric = SocketAddress.numeric(host, port: port) {
        return numeric.family == .ipv6
          ? "len = ipv6_address(&addr, \(cString(Array(host.utf8))), \(port));"
          : "len = ipv4_address(&addr, \(cString(Array(host.utf8))), \(port));"
      }
      return "len = resolve_address(&addr, \(cString(Array(host.utf8))), \(port), \(family.cName));"
    case .any(let port):
      return family == .ipv6
        ? "len = ipv6_address(&addr, \"::\", \(port));" : "len = ipv4_address(&addr, \"0.0.0.0\", \(port));"
    case .unixPath(let path): return "len = unix_address(&addr, \(cString(Array(path.utf8))), 0);"
    case .abstract(let name): return "len = unix_address(&addr, \(cString(Array(name.utf8))), 1);"
    case .descriptor(let ref):
      guard let variable = variables.lookup(ref) else { return nil }
      return "len = bound_address(\(variable), &addr);"
    case .partnerListening: return nil
    }
  }

  static func cData(_ data: DataSpec) -> (prepare: [String], pointer: String, count: String) {
    switch data {
    case .bytes(let bytes): return ([], cString(bytes), "\(bytes.count)")
    case .pattern(let size): return (["data = pattern(\(size));"], "data", "\(size)")
    case .file(let path):
      return (["data = read_file(\(cString(Array(path.utf8))), &data_len);"], "data", "data_len")
    }
  }

  static func cFlags(_ names: [String], _ table: [(String, Int32, String)]) -> String {
    Transfer.flags(names, table: table).1
  }

  static func cProgram(body: [String], variables: [String], bufferSize: Int) -> String {
    let declarations =
      variables.isEmpty ? "" : "  int " + variables.map { "\($0) = -1" }.joined(separator: ", ") + ";\n"
    return """
      /* Made by sockshell export: the session's system calls, in the same order, each checked
       * against what the session saw. Build: cc -Wall -o session session.c && ./session */
      #define _GNU_SOURCE
      #include <arpa/inet.h>
      #include <errno.h>
      #include <fcntl.h>
      #include <netdb.h>
      #include <netinet/in.h>
      #include <netinet/tcp.h>
      #include <poll.h>
      #include <signal.h>
      #include <stddef.h>
      #include <stdio.h>
      #include <stdlib.h>
      #include <string.h>
      #include <sys/socket.h>
      #include <sys/time.h>
      #include <sys/un.h>
      #include <unistd.h>

      static int failures = 0;

      /* Compares a result with the session's: the same value, and for -1 the same errno. */
      static void check(const char *call, long got, long want, int want_errno) {
        int error = errno;
        if (got == want && (want != -1 || want_errno == 0 || error == want_errno)) {
          if (got == -1) printf("%s = -1 %s (as in the session)\\n", call, strerror(error));
          else printf("%s = %ld\\n", call, got);
          return;
        }
        if (got == -1) fprintf(stderr, "%s = -1 (%s), but the session saw %ld\\n", call, strerror(error), want);
        else fprintf(stderr, "%s = %ld, but the session saw %ld\\n", call, got, want);
        failures++;
      }

      /* socket and accept: any descriptor will do. */
      static void check_fd(const char *call, int fd) {
        if (fd < 0) { fprintf(stderr, "%s failed: %s\\n", call, strerror(errno)); failures++; }
        else printf("%s = %d\\n", call, fd);
      }

      static socklen_t ipv4_address(struct sockaddr_storage *ss, const char *host, int port) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        memset(ss, 0, sizeof *ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        inet_pton(AF_INET, host, &sin->sin_addr);
        return sizeof *sin;
      }

      static socklen_t ipv6_address(struct sockaddr_storage *ss, const char *host, int port) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        memset(ss, 0, sizeof *ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        inet_pton(AF_INET6, host, &sin6->sin6_addr);
        return sizeof *sin6;
      }

      static socklen_t unix_address(struct sockaddr_storage *ss, const char *path, int abstract) {
        struct sockaddr_un *sun = (struct sockaddr_un *)ss;
        size_t length = strlen(path);
        memset(ss, 0, sizeof *ss);
        sun->sun_family = AF_UNIX;
        if (length > sizeof sun->sun_path - 2) length = sizeof sun->sun_path - 2;
        memcpy(sun->sun_path + (abstract ? 1 : 0), path, length);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + 1);
      }

      static socklen_t resolve_address(struct sockaddr_storage *ss, const char *host, int port, int family) {
        struct addrinfo hints, *list;
        char service[16];
        memset(&hints, 0, sizeof hints);
        hints.ai_family = family;
        hints.ai_socktype = SOCK_STREAM;
        snprintf(service, sizeof service, "%d", port);
        if (getaddrinfo(host, service, &hints, &list) != 0) { fprintf(stderr, "cannot resolve %s\\n", host); exit(1); }
        memcpy(ss, list->ai_addr, list->ai_addrlen);
        socklen_t length = list->ai_addrlen;
        freeaddrinfo(list);
        return length;
      }

      /* The address a descriptor is bound to; every-address (0.0.0.0, ::) becomes loopback. */
      static socklen_t bound_address(int fd, struct sockaddr_storage *ss) {
        socklen_t length = sizeof *ss;
        getsockname(fd, (struct sockaddr *)ss, &length);
        if (ss->ss_family == AF_INET) {
          struct sockaddr_in *sin = (struct sockaddr_in *)ss;
          if (sin->sin_addr.s_addr == htonl(INADDR_ANY)) sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else if (ss->ss_family == AF_INET6) {
          struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
          if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) sin6->sin6_addr = in6addr_loopback;
        }
        return length;
      }

      /* --size N: the same visible pattern as the shell's. */
      static char *pattern(size_t size) {
        static const char line[] = "abcdefghijklmnopqrstuvwxyz0123456789\\n";
        char *data = malloc(size + 1);
        for (size_t i = 0; i < size; i++) data[i] = line[i % (sizeof line - 1)];
        return data;
      }

      static char *read_file(const char *path, size_t *size) {
        FILE *file = fopen(path, "rb");
        char *data = malloc(16 << 20);
        *size = file ? fread(data, 1, 16 << 20, file) : 0;
        if (file) fclose(file);
        return data;
      }

      int main(void) {
        static char buffer[\(max(bufferSize, 256))];
        struct sockaddr_storage addr;
        socklen_t len = 0;
        long r;
        char *data = NULL;
        size_t data_len = 0;
      \(declarations)
        signal(SIGPIPE, SIG_IGN); /* so that a closed peer gives EPIPE, as in the shell */
        (void)addr; (void)len; (void)r; (void)data; (void)data_len; (void)buffer;
        (void)ipv4_address; (void)ipv6_address; (void)unix_address; (void)resolve_address;
        (void)bound_address; (void)pattern; (void)read_file;

      \(body.joined(separator: "\n"))

        if (failures) fprintf(stderr, "%d call(s) differed from the session\\n", failures);
        return failures ? 1 : 0;
      }

      """
  }

  // MARK: Python

  static func pyBytes(_ bytes: [UInt8]) -> String {
    var out = "b'"
    for byte in bytes {
      switch byte {
      case 0x5C: out += "\\\\"
      case 0x27: out += "\\'"
      case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(byte))
      default: out += "\\x" + ByteText.hex2(byte)
      }
    }
    return out + "'"
  }

  static func pyString(_ text: String) -> String {
    String(pyBytes(Array(text.utf8)).dropFirst())
  }

  static func pyAddress(_ spec: AddressSpec, family: SocketFamily, _ variables: Variables) -> String? {
    switch spec {
    case .host(let host, let port):
      if let numeric = SocketAddress.numeric(host, port: port) {
        return numeric.family == .ipv6 ? "(\(pyString(host)), \(port), 0, 0)" : "(\(pyString(host)), \(port))"
      }
      return "resolve(\(pyString(host)), \(port), socket.\(family.cName))"
    case .any(let port): return family == .ipv6 ? "('::', \(port), 0, 0)" : "('0.0.0.0', \(port))"
    case .unixPath(let path): return pyString(path)
    case .abstract(let name): return "'\\0' + \(pyString(name))"
    case .descriptor(let ref):
      guard let variable = variables.lookup(ref) else { return nil }
      return "bound(\(variable))"
    case .partnerListening: return nil
    }
  }

  static func pyData(_ data: DataSpec) -> String {
    switch data {
    case .bytes(let bytes): pyBytes(bytes)
    case .pattern(let size): "pattern(\(size))"
    case .file(let path): "open(\(pyString(path)), 'rb').read()"
    }
  }

  static func pyFlags(_ names: [String], _ table: [(String, Int32, String)]) -> String {
    let chosen = table.filter { names.contains($0.0) }.map { "socket.\($0.2)" }
    return chosen.isEmpty ? "0" : chosen.joined(separator: " | ")
  }

  static func pythonProgram(body: [String]) -> String {
    """
    #!/usr/bin/env python3
    # Made by sockshell export: the session's system calls, in the same order, each checked
    # against what the session saw. Run: python3 session.py
    import errno, os, select, socket, struct, sys

    failures = 0

    def check(call, action, want, want_errno):
        \"\"\"Runs one call; compares its result (None counts as 0) and errno with the session's.\"\"\"
        global failures
        try:
            got = action()
            got = 0 if got is None or isinstance(got, (tuple, str, bytes)) else got
            error = 0
        except OSError as e:
            got, error = -1, e.errno
        if got == want and (want != -1 or want_errno == 0 or error == want_errno):
            print(f"{call} = {got}" + (f" {errno.errorcode.get(error, error)} (as in the session)" if got == -1 else ""))
        else:
            print(f"{call} = {got} {errno.errorcode.get(error, '')}, but the session saw {want}", file=sys.stderr)
            failures += 1

    def make(action, call):
        \"\"\"socket and accept: any descriptor will do.\"\"\"
        global failures
        try:
            sock = action()
            print(f"{call} = {sock.fileno()}")
            return sock
        except OSError as e:
            print(f"{call} failed: {e}", file=sys.stderr)
            failures += 1

    def bound(sock):
        \"\"\"The address a socket is bound to; every-address becomes loopback.\"\"\"
        address = sock.getsockname()
        if sock.family == socket.AF_INET and address[0] == '0.0.0.0':
            return ('127.0.0.1', address[1])
        if sock.family == socket.AF_INET6 and address[0] == '::':
            return ('::1',) + tuple(address[1:])
        return address

    def remove_socket_file(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def resolve(host, port, family):
        return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4]

    def pattern(size):
        line = b'abcdefghijklmnopqrstuvwxyz0123456789\\n'
        return (line * (size // len(line) + 1))[:size]

    def poll_ready(socks, timeout):
        poller = select.poll()
        for sock in socks:
            poller.register(sock, select.POLLIN | select.POLLOUT | select.POLLPRI | select.POLLRDHUP)
        return len(poller.poll(timeout))

    def main():
    \(body.isEmpty ? "    pass" : body.joined(separator: "\n"))

    main()
    if failures:
        print(f"{failures} call(s) differed from the session", file=sys.stderr)
    sys.exit(1 if failures else 0)

    """
  }
}

/// What a command writes its C statements with: the line being exported, the program's
/// variables, and the checks against the session's results.
public struct CExport {
  let entry: TranscriptEntry
  var variables: Export.Variables
  /// The largest recv length so far: the size of the program's buffer.
  var largestRead: Int

  /// `r = CALL;` and the check of `r` (and errno) against what the session saw.
  func check(_ what: String, _ call: String) -> [String] {
    let (want, wantErrno) = Export.expectation(entry.outcome)
    return ["  r = \(call);", "  check(\(Export.cString(Array(what.utf8))), r, \(want), \(wantErrno));"]
  }

  /// The variable of a descriptor (`s_srv`, `fd3`), or -1 for one the program never made.
  func fd(_ ref: DescriptorRef) -> String { variables.lookup(ref) ?? "-1" }

  /// Statements that put an address in `addr`/`len` for the line's descriptor family.
  func address(_ spec: AddressSpec) -> String? {
    Export.cAddress(spec, family: entry.family ?? .ipv4, variables)
  }

  /// socket and accept: a new variable for the descriptor the session got, checked to be valid;
  /// when the call failed in the session, only the check.
  mutating func create(_ what: String, _ call: String) -> [String] {
    guard case .returned(let number) = entry.outcome else { return check(what, call) }
    let variable = variables.create(fd: Int32(number), name: entry.line.name)
    return ["  \(variable) = \(call);", "  check_fd(\(Export.cString(Array(what.utf8))), \(variable));"]
  }
}

/// What a command writes its Python statements with.
public struct PythonExport {
  let entry: TranscriptEntry
  var variables: Export.Variables

  /// `check('what', lambda: CALL, want, errno)`.
  func check(_ what: String, _ call: String) -> [String] {
    let (want, wantErrno) = Export.expectation(entry.outcome)
    let errnoText = wantErrno == "0" ? "0" : "errno.\(wantErrno)"
    return ["    check(\(Export.pyString(what)), lambda: \(call), \(want), \(errnoText))"]
  }

  /// The variable of a descriptor, or None for one the program never made.
  func fd(_ ref: DescriptorRef) -> String { variables.lookup(ref) ?? "None" }

  func address(_ spec: AddressSpec) -> String? {
    Export.pyAddress(spec, family: entry.family ?? .ipv4, variables)
  }

  /// socket and accept: `make(...)` keeps the new socket in a variable; when the call failed in
  /// the session, only the check of `failed`, made with `.fileno()` of what it returns.
  mutating func create(_ what: String, _ make: String) -> [String] {
    guard case .returned(let number) = entry.outcome else { return check(what, "\(make).fileno()") }
    let variable = variables.create(fd: Int32(number), name: entry.line.name)
    return ["    \(variable) = make(lambda: \(make), \(Export.pyString(what)))"]
  }
}
