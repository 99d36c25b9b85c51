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

  /// The program's text.
  static func program(_ transcript: [TranscriptEntry], language: Language) -> String {
    var variables = Variables()
    var body: [String] = []
    var largestRead = 1
    for entry in transcript {
      let lines: [String]
      switch language {
      case .c: lines = cStatements(entry, &variables, &largestRead)
      case .python: lines = pythonStatements(entry, &variables)
      }
      body.append(
        (language == .c ? "  /* " : "    # ") + ByteText.sanitized(entry.line.text).replacing("*", with: "+")
          + (language == .c ? " */" : ""))
      body += lines
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

  static func cStatements(_ entry: TranscriptEntry, _ variables: inout Variables, _ largestRead: inout Int) -> [String]
  {
    let (want, wantErrno) = expectation(entry.outcome)
    func check(_ what: String, _ call: String) -> [String] {
      ["  r = \(call);", "  check(\(cString(Array(what.utf8))), r, \(want), \(wantErrno));"]
    }
    func fd(_ ref: DescriptorRef) -> String { variables.lookup(ref) ?? "-1" }
    let command = entry.line.command
    switch command {
    case let socket as SocketCommand:
      guard case .returned(let number) = entry.outcome else {
        return check(
          "socket",
          "socket(\(socket.family.cName), \(socket.type.cName), \(socket.type.protocolCName(in: socket.family)))")
      }
      let variable = variables.create(fd: Int32(number), name: entry.line.name)
      return [
        "  \(variable) = socket(\(socket.family.cName), \(socket.type.cName), \(socket.type.protocolCName(in: socket.family)));",
        "  check_fd(\"socket\", \(variable));",
      ]
    case let accept as AcceptCommand:
      let listener = fd(accept.fd)
      guard case .returned(let number) = entry.outcome else {
        return check("accept", "accept(\(listener), NULL, NULL)")
      }
      let variable = variables.create(fd: Int32(number), name: entry.line.name)
      return ["  \(variable) = accept(\(listener), NULL, NULL);", "  check_fd(\"accept\", \(variable));"]
    case let bind as BindCommand:
      guard let address = cAddress(bind.address, family: family(of: bind.fd, entry), variables) else {
        return ["  /* skipped */"]
      }
      // The path did not exist when the session bound it: start from the same state.
      var prepare: [String] = []
      if case .unixPath(let path) = bind.address, case .returned = entry.outcome {
        prepare = ["  unlink(\(cString(Array(path.utf8))));"]
      }
      return prepare + ["  " + address] + check("bind", "bind(\(fd(bind.fd)), (struct sockaddr *)&addr, len)")
    case let connect as ConnectCommand:
      guard let address = cAddress(connect.address, family: family(of: connect.fd, entry), variables) else {
        return ["  /* skipped */"]
      }
      return ["  " + address] + check("connect", "connect(\(fd(connect.fd)), (struct sockaddr *)&addr, len)")
    case let listen as ListenCommand:
      return check("listen", "listen(\(fd(listen.fd)), \(listen.backlog ?? ListenCommand.defaultBacklog))")
    case let send as SendCommand:
      let data = cData(send.data)
      return data.prepare.map { "  " + $0 }
        + check(
          "send", "send(\(fd(send.fd)), \(data.pointer), \(data.count), \(cFlags(send.flags, Transfer.sendFlags)))")
    case let sendto as SendToCommand:
      let data = cData(sendto.data)
      guard let address = cAddress(sendto.address, family: family(of: sendto.fd, entry), variables) else {
        return ["  /* skipped */"]
      }
      return data.prepare.map { "  " + $0 } + ["  " + address]
        + check(
          "sendto",
          "sendto(\(fd(sendto.fd)), \(data.pointer), \(data.count), \(cFlags(sendto.flags, Transfer.sendFlags)), (struct sockaddr *)&addr, len)"
        )
    case let recv as RecvCommand:
      let length = recv.length ?? Transfer.defaultLength
      largestRead = max(largestRead, length)
      return check("recv", "recv(\(fd(recv.fd)), buffer, \(length), \(cFlags(recv.flags, Transfer.recvFlags)))")
    case let recvfrom as RecvFromCommand:
      let length = recvfrom.length ?? Transfer.defaultLength
      largestRead = max(largestRead, length)
      return ["  len = sizeof addr;"]
        + check(
          "recvfrom",
          "recvfrom(\(fd(recvfrom.fd)), buffer, \(length), \(cFlags(recvfrom.flags, Transfer.recvFlags)), (struct sockaddr *)&addr, &len)"
        )
    case let close as CloseCommand:
      let variable = fd(close.fd)
      variables.forget(close.fd)
      return check("close", "close(\(variable))")
    case let shutdown as ShutdownCommand:
      return check("shutdown", "shutdown(\(fd(shutdown.fd)), \(shutdown.how.cName))")
    case let query as GetSockNameCommand:
      return ["  len = sizeof addr;"]
        + check("getsockname", "getsockname(\(fd(query.fd)), (struct sockaddr *)&addr, &len)")
    case let query as GetPeerNameCommand:
      return ["  len = sizeof addr;"]
        + check("getpeername", "getpeername(\(fd(query.fd)), (struct sockaddr *)&addr, &len)")
    case let set as SetSockOptCommand:
      let value: String
      switch set.value {
      case .integer(let number): value = "int v = \(number);"
      case .linger(let on, let seconds): value = "struct linger v = { \(on ? 1 : 0), \(seconds) };"
      case .milliseconds(let ms): value = "struct timeval v = { \(ms / 1000), \((ms % 1000) * 1000) };"
      }
      return ["  {", "    " + value]
        + check("setsockopt", "setsockopt(\(fd(set.fd)), \(set.option.levelName), \(set.option.cName), &v, sizeof v)")
        .map {
          "  " + $0
        } + ["  }"]
    case let get as GetSockOptCommand:
      guard let option = get.option else { return ["  /* every option was read here */"] }
      let size =
        option.kind == .linger
        ? "sizeof(struct linger)" : option.kind == .timeval ? "sizeof(struct timeval)" : "sizeof(int)"
      return ["  len = \(size);"]
        + check("getsockopt", "getsockopt(\(fd(get.fd)), \(option.levelName), \(option.cName), buffer, &len)")
    case let nonblock as NonBlockCommand:
      guard let on = nonblock.on else { return check("fcntl", "fcntl(\(fd(nonblock.fd)), F_GETFL) == -1 ? -1 : 0") }
      let variable = fd(nonblock.fd)
      return check(
        "fcntl",
        "fcntl(\(variable), F_SETFL, \(on ? "fcntl(\(variable), F_GETFL) | O_NONBLOCK" : "fcntl(\(variable), F_GETFL) & ~O_NONBLOCK"))"
      )
    case let poll as PollCommand:
      let entries = poll.fds.map { "{ \(fd($0)), POLLIN | POLLOUT | POLLPRI | POLLRDHUP, 0 }" }.joined(separator: ", ")
      return ["  {", "    struct pollfd fds[] = { \(entries) };"]
        + check("poll", "poll(fds, \(poll.fds.count), \(poll.timeout))").map { "  " + $0 } + ["  }"]
    default:
      return ["  /* not a system call */"]
    }
  }

  /// The family of the descriptor a command uses, from the transcript so far.
  static func family(of ref: DescriptorRef, _ entry: TranscriptEntry) -> SocketFamily {
    entry.family ?? .ipv4
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

  static func pythonStatements(_ entry: TranscriptEntry, _ variables: inout Variables) -> [String] {
    let (want, wantErrno) = expectation(entry.outcome)
    let errnoText = wantErrno == "0" ? "0" : "errno.\(wantErrno)"
    func check(_ what: String, _ call: String) -> [String] {
      ["    check(\(pyString(what)), lambda: \(call), \(want), \(errnoText))"]
    }
    func fd(_ ref: DescriptorRef) -> String { variables.lookup(ref) ?? "None" }
    switch entry.line.command {
    case let socket as SocketCommand:
      let family = "socket.\(socket.family.cName)"
      let type = "socket.\(socket.type.cName)"
      guard case .returned(let number) = entry.outcome else {
        return check("socket", "socket.socket(\(family), \(type)).fileno()")
      }
      let variable = variables.create(fd: Int32(number), name: entry.line.name)
      return ["    \(variable) = make(lambda: socket.socket(\(family), \(type)), 'socket')"]
    case let accept as AcceptCommand:
      guard case .returned(let number) = entry.outcome else {
        return check("accept", "\(fd(accept.fd)).accept()[0].fileno()")
      }
      let variable = variables.create(fd: Int32(number), name: entry.line.name)
      return ["    \(variable) = make(lambda: \(fd(accept.fd)).accept()[0], 'accept')"]
    case let bind as BindCommand:
      guard let address = pyAddress(bind.address, family: entry.family ?? .ipv4, variables) else { return [] }
      // The path did not exist when the session bound it: start from the same state.
      var prepare: [String] = []
      if case .unixPath(let path) = bind.address, case .returned = entry.outcome {
        prepare = ["    remove_socket_file(\(pyString(path)))"]
      }
      return prepare + check("bind", "\(fd(bind.fd)).bind(\(address))")
    case let connect as ConnectCommand:
      guard let address = pyAddress(connect.address, family: entry.family ?? .ipv4, variables) else { return [] }
      return check("connect", "\(fd(connect.fd)).connect(\(address))")
    case let listen as ListenCommand:
      return check("listen", "\(fd(listen.fd)).listen(\(listen.backlog ?? ListenCommand.defaultBacklog))")
    case let send as SendCommand:
      return check("send", "\(fd(send.fd)).send(\(pyData(send.data)), \(pyFlags(send.flags, Transfer.sendFlags)))")
    case let sendto as SendToCommand:
      guard let address = pyAddress(sendto.address, family: entry.family ?? .ipv4, variables) else { return [] }
      return check(
        "sendto",
        "\(fd(sendto.fd)).sendto(\(pyData(sendto.data)), \(pyFlags(sendto.flags, Transfer.sendFlags)), \(address))")
    case let recv as RecvCommand:
      return check(
        "recv",
        "len(\(fd(recv.fd)).recv(\(recv.length ?? Transfer.defaultLength), \(pyFlags(recv.flags, Transfer.recvFlags))))"
      )
    case let recvfrom as RecvFromCommand:
      return check(
        "recvfrom",
        "len(\(fd(recvfrom.fd)).recvfrom(\(recvfrom.length ?? Transfer.defaultLength), \(pyFlags(recvfrom.flags, Transfer.recvFlags)))[0])"
      )
    case let close as CloseCommand:
      let variable = fd(close.fd)
      variables.forget(close.fd)
      return check("close", "\(variable).close()")
    case let shutdown as ShutdownCommand:
      return check("shutdown", "\(fd(shutdown.fd)).shutdown(socket.\(shutdown.how.cName))")
    case let query as GetSockNameCommand:
      return check("getsockname", "\(fd(query.fd)).getsockname()")
    case let query as GetPeerNameCommand:
      return check("getpeername", "\(fd(query.fd)).getpeername()")
    case let set as SetSockOptCommand:
      let value: String
      switch set.value {
      case .integer(let number): value = "\(number)"
      case .linger(let on, let seconds): value = "struct.pack('ii', \(on ? 1 : 0), \(seconds))"
      case .milliseconds(let ms): value = "struct.pack('ll', \(ms / 1000), \((ms % 1000) * 1000))"
      }
      return check(
        "setsockopt", "\(fd(set.fd)).setsockopt(socket.\(set.option.levelName), socket.\(set.option.cName), \(value))")
    case let get as GetSockOptCommand:
      guard let option = get.option else { return [] }
      return check("getsockopt", "\(fd(get.fd)).getsockopt(socket.\(option.levelName), socket.\(option.cName), 16)")
    case let nonblock as NonBlockCommand:
      guard let on = nonblock.on else { return [] }
      return check("fcntl", "\(fd(nonblock.fd)).setblocking(\(on ? "False" : "True"))")
    case let poll as PollCommand:
      return check("poll", "poll_ready([\(poll.fds.map(fd).joined(separator: ", "))], \(poll.timeout))")
    default:
      return []
    }
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
