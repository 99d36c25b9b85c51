import SocketLayer

/// `addr ADDR [--ascii]`: the C structure the kernel receives for an address, byte by byte.
struct AddrCommand: ShellCommand {
  static let spec = CommandSpec(
    name: "addr",
    synopsis: "addr ADDR [--ascii]",
    summary: "draw the socket address structure (sockaddr_in, sockaddr_in6, sockaddr_un) byte by byte",
    example: "addr 127.0.0.1:8080",
    details: [
      "Shows each field's offset, size, value and bytes, the port in host and network byte order (htons),",
      "what inet_pton writes, and the length that bind and connect are given.",
    ],
    completion: [.address, .words(["--ascii"])],
    group: .options
  )

  var address: AddressSpec
  var ascii = false

  init(reading arguments: inout ArgumentReader) throws(ParseError) {
    address = try arguments.address()
    ascii = try arguments.flags(allowed: ["--ascii"]).contains("--ascii")
  }

  var arguments: [String] { [address.word] + (ascii ? ["--ascii"] : []) }

  struct Field {
    let name: String
    let offset: Int
    let size: Int
    let value: String
    let note: String
  }

  func run(_ context: CommandContext) throws(CommandRefusal) -> CommandOutcome {
    let session = context.session
    // The same rules as bind and connect; a name resolves as IPv4, *:PORT is 0.0.0.0.
    let target = try session.addresses.resolve(address, family: nil, subject: "the address", purpose: .describe).get()
    let bytes = target.withSockaddr { pointer, length in
      Array(UnsafeRawBufferPointer(start: pointer, count: Int(length)))
    }
    let fields = AddrCommand.fields(of: target)
    let out = session.out
    out.line("\(target): \(InspectCommand.structName(target)), \(bytes.count) bytes", .heading)
    var rows = [["OFFSET", "FIELD", "SIZE", "VALUE", "BYTES"]]
    for field in fields {
      let slice = bytes[min(field.offset, bytes.count)..<min(field.offset + field.size, bytes.count)]
      let hex =
        slice.count > 8
        ? slice.prefix(4).map(ByteText.hex2).joined(separator: " ") + " ..."
        : slice.map(ByteText.hex2).joined(separator: " ")
      rows.append(["\(field.offset)", field.name, "\(field.size)", field.value, hex])
    }
    out.table(rows, indent: "  ", header: .plain, fit: .stack(3...3))
    out.line()
    for line in AddrCommand.box(bytes: bytes, fields: fields, glyphs: .choose(ascii: ascii)) { out.line("  " + line) }
    out.line()
    for field in fields where !field.note.isEmpty { session.note("\(field.name): \(field.note)") }
    session.note("bind(fd, (struct sockaddr *)&addr, \(bytes.count)) and connect take this structure and its length.")
    return .done
  }

  static func fields(of address: SocketAddress) -> [Field] {
    let familyNote = "the address family, in the machine's own byte order (here little-endian: low byte first)."
    switch address {
    case .ipv4(let ip, let port):
      return [
        Field(name: "sin_family", offset: 0, size: 2, value: "AF_INET (2)", note: familyNote),
        portField(port, name: "sin_port", offset: 2),
        Field(
          name: "sin_addr", offset: 4, size: 4, value: address.host,
          note:
            "inet_pton(AF_INET, \"\(address.host)\", &addr.sin_addr) writes the four numbers as four bytes, in order: \(ip.map(ByteText.hex2).joined(separator: " ")) (network order)."
        ),
        Field(
          name: "sin_zero", offset: 8, size: 8, value: "padding", note: "padding to the size of struct sockaddr; zero."),
      ]
    case .ipv6(_, let port, let scope):
      return [
        Field(name: "sin6_family", offset: 0, size: 2, value: "AF_INET6 (10)", note: familyNote),
        portField(port, name: "sin6_port", offset: 2),
        Field(name: "sin6_flowinfo", offset: 4, size: 4, value: "0", note: "IPv6 flow information; 0."),
        Field(
          name: "sin6_addr", offset: 8, size: 16, value: address.host,
          note: "inet_pton(AF_INET6, \"\(address.host)\", &addr.sin6_addr) writes 16 bytes, network order."),
        Field(
          name: "sin6_scope_id", offset: 24, size: 4, value: "\(scope)",
          note: "the interface, for link-local addresses; 0 otherwise."),
      ]
    case .unix(let path):
      return [
        Field(name: "sun_family", offset: 0, size: 2, value: "AF_UNIX (1)", note: familyNote),
        Field(
          name: "sun_path", offset: 2, size: path.count + 1, value: ByteText.quoted(path),
          note:
            "the path and its terminating zero; the rest of the \(SocketAddress.sunPathCapacity)-byte sun_path is not passed: the length says where the address ends."
        ),
      ]
    case .abstract(let name):
      return [
        Field(name: "sun_family", offset: 0, size: 2, value: "AF_UNIX (1)", note: familyNote),
        Field(
          name: "sun_path", offset: 2, size: name.count + 1, value: ByteText.escaped([0] + name),
          note: "an abstract name starts with a zero byte: no file is made, and it vanishes with the last socket."),
      ]
    case .unnamed:
      return [Field(name: "sun_family", offset: 0, size: 2, value: "AF_UNIX (1)", note: familyNote)]
    }
  }

  static func portField(_ port: UInt16, name: String, offset: Int) -> Field {
    let high = ByteText.hex2(UInt8(port >> 8))
    let low = ByteText.hex2(UInt8(port & 0xFF))
    let swapped = UInt16(port & 0xFF) << 8 | port >> 8
    return Field(
      name: name, offset: offset, size: 2, value: "htons(\(port))",
      note:
        "\(port) is 0x\(high)\(low). htons puts the high byte first (network byte order): bytes \(high) \(low). Stored without htons on this little-endian machine it would be \(low) \(high), which the network reads as port \(swapped)."
    )
  }

  /// The bytes as a row of boxes, 8 to a line, with the field names bracketed under them.
  static func box(bytes: [UInt8], fields: [Field], glyphs: Glyphs) -> [String] {
    var lines: [String] = []
    let perRow = 8
    let cell = 4  // "│ 7f " is the wall and 4 characters
    var start = 0
    while start < bytes.count {
      let row = Array(bytes[start..<min(start + perRow, bytes.count)])
      let count = row.count
      let numbers = (0..<count).map { String(start + $0).padded(to: cell) }.joined(separator: " ")
      lines.append(("byte " + numbers).trimmingTrailingSpaces)
      let horizontal = String(repeating: glyphs.horizontal, count: cell)
      lines.append(
        "     " + glyphs.topLeft + Array(repeating: horizontal, count: count).joined(separator: glyphs.topTee)
          + glyphs.topRight)
      lines.append(
        "     " + glyphs.vertical + row.map { " " + ByteText.hex2($0) + " " }.joined(separator: glyphs.vertical)
          + glyphs.vertical)
      lines.append(
        "     " + glyphs.bottomLeft + Array(repeating: horizontal, count: count).joined(separator: glyphs.bottomTee)
          + glyphs.bottomRight)
      // Field brackets under the bytes of this row.
      var labels = "      "
      var position = start
      while position < start + count {
        guard let field = fields.first(where: { position >= $0.offset && position < $0.offset + $0.size }) else {
          labels += String(repeating: " ", count: cell + 1)
          position += 1
          continue
        }
        let end = min(field.offset + field.size, start + count)
        let width = (end - position) * (cell + 1) - 1
        var shortName = String(field.name.split(separator: "_").dropFirst().joined(separator: "_"))
        if shortName == "family" && width < 10 { shortName = "fam" }
        let name =
          Cells.width(shortName) + 2 <= width - 2 ? shortName : Cells.truncate(shortName, to: max(0, width - 4))
        let fill = max(0, width - 2 - Cells.width(name) - 2)
        let left = fill / 2
        labels +=
          glyphs.bracketLeft + String(repeating: glyphs.horizontal, count: left) + " " + name + " "
          + String(repeating: glyphs.horizontal, count: fill - left) + glyphs.bracketRight + " "
        position = end
      }
      lines.append(labels.trimmingTrailingSpaces)
      start += perRow
      if bytes.count > 32 && start >= 32 && start < bytes.count {
        lines.append("     ... \(bytes.count - start) more bytes")
        break
      }
    }
    return lines
  }
}

extension AddrCommand {
  var namedAddresses: [AddressSpec] { [address] }
}
