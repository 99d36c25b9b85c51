/// The wire's frames as a pcapng file (what Wireshark writes, and tshark and tcpdump read): a
/// section header that says who wrote it, one interface (loopback's frames have an Ethernet
/// header, linktype 1), and one enhanced packet block a frame, timestamped in microseconds.
enum Pcap {
  /// What the section header says; `export` replaces a file only when it says this.
  static let writer = "written by sockshell"

  /// `length`: the frame's length on the wire (what was kept may be its first bytes only).
  static func file(_ frames: [(seconds: Double, bytes: [UInt8], length: Int)]) -> [UInt8] {
    var out: [UInt8] = []
    // Section header block: byte-order magic, version 1.0, section length unknown, shb_userappl.
    var header = word(0x1A2B_3C4D) + half(1) + half(0) + [UInt8](repeating: 0xFF, count: 8)
    header += option(4, Array(writer.utf8)) + half(0) + half(0)
    out += block(0x0A0D_0D0A, header)
    // Interface description block: Ethernet, no limit worth mentioning on a frame's length.
    out += block(1, half(1) + half(0) + word(262_144))
    for frame in frames {
      let micros = UInt64(max(0, frame.seconds * 1_000_000))
      var body = word(0) + word(UInt32(micros >> 32)) + word(UInt32(micros & 0xFFFF_FFFF))
      body += word(UInt32(frame.bytes.count)) + word(UInt32(frame.length)) + padded(frame.bytes)
      out += block(6, body)
    }
    return out
  }

  static func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
    let length = word(UInt32(12 + body.count))
    return word(type) + length + body + length
  }

  static func option(_ code: UInt16, _ value: [UInt8]) -> [UInt8] {
    half(code) + half(UInt16(value.count)) + padded(value)
  }

  static func padded(_ bytes: [UInt8]) -> [UInt8] {
    bytes + [UInt8](repeating: 0, count: (4 - bytes.count % 4) % 4)
  }

  static func word(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
  static func half(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
}
