/// Pictures for handouts and slides: the timeline and the TCP state diagram as SVG, the same
/// drawings with real lines and text (`timeline --svg FILE`, `tcp FD --svg FILE`). Every piece of
/// text is escaped for XML; what it says was escaped by the byte renderer already.
enum SVG {
  /// The comment `export`'s rule for replacing a file looks for in its first lines.
  static let signature = "<!-- written by sockshell -->"

  static func escaped(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      // XML 1.0 has no place for control characters: none reaches the file.
      case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "?"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  static func document(width: Int, height: Int, _ body: [String]) -> String {
    ([
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", signature,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">",
      "<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#222\"/></marker></defs>",
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
    ]
      + body + ["</svg>", ""]).joined(separator: "\n")
  }

  static func text(_ x: Int, _ y: Int, _ text: String, anchor: String = "middle", extra: String = "") -> String {
    "<text x=\"\(x)\" y=\"\(y)\" text-anchor=\"\(anchor)\"\(extra)>\(escaped(text))</text>"
  }

  /// The timeline: a column per endpoint with its name whole, an arrow per row (call or packet)
  /// with its label above it, notes beside their column; a column ends where it was closed.
  static func timeline(_ diagram: TimelineCommand.Diagram) -> String {
    let count = diagram.selected ?? diagram.columns.count
    let columnWidth = 170
    let rowHeight = 26
    let top = 56
    func center(_ index: Int) -> Int { 30 + index * columnWidth + columnWidth / 2 }
    var body: [String] = []
    for index in 0..<count {
      body.append(text(center(index), 32, diagram.columns[index], extra: " font-weight=\"bold\""))
    }
    var ends = [Int?](repeating: nil, count: count)
    var y = top
    for row in diagram.rows {
      y += rowHeight
      switch row {
      case .arrow(let from, let to, let label):
        if from < count, to < count, from != to {
          let start = center(from)
          let end = center(to)
          body.append(
            "<line x1=\"\(start)\" y1=\"\(y)\" x2=\"\(end)\" y2=\"\(y)\" stroke=\"#222\" stroke-width=\"1.5\" marker-end=\"url(#head)\"/>"
          )
          body.append(text((start + end) / 2, y - 5, label))
        } else if from < count {
          let other = to < count ? "" : "to " + diagram.columns[to] + ": "
          body.append(text(center(from) + 8, y + 4, other + label, anchor: "start"))
        } else if to < count {
          body.append(text(center(to) + 8, y + 4, "from " + diagram.columns[from] + ": " + label, anchor: "start"))
        }
      case .note(let column, let note):
        guard column < count else { continue }
        body.append(text(center(column) + 8, y + 4, note, anchor: "start", extra: " fill=\"#555\""))
        if note == "closed" && ends[column] == nil {
          ends[column] = y
          let x = center(column)
          body.append(
            "<path d=\"M\(x - 6),\(y - 6) L\(x + 6),\(y + 6) M\(x + 6),\(y - 6) L\(x - 6),\(y + 6)\" stroke=\"#a00\" stroke-width=\"2\"/>"
          )
        }
      }
    }
    let bottom = y + rowHeight
    // The life lines, under everything else.
    let lines = (0..<count).map { index in
      "<line x1=\"\(center(index))\" y1=\"\(top - 12)\" x2=\"\(center(index))\" y2=\"\(ends[index] ?? bottom)\" stroke=\"#999\" stroke-width=\"1\"/>"
    }
    // Room on the right for the last column's notes.
    return document(width: 60 + count * columnWidth + 160, height: bottom + 20, lines + body)
  }

  /// A diagram drawn in text (the TCP states): each line as text in a fixed-width font, its
  /// lines and arrows as the terminal shows them; `marked` lines are bold (the state now).
  static func textDrawing(_ lines: [String], title: String) -> String {
    let lineHeight = 18
    var body = [text(20, 28, title, anchor: "start", extra: " font-weight=\"bold\"")]
    for (index, line) in lines.enumerated() {
      body.append(
        "<text x=\"20\" y=\"\(56 + index * lineHeight)\" font-family=\"DejaVu Sans Mono, monospace\" xml:space=\"preserve\">\(escaped(line))</text>"
      )
    }
    let widest = lines.map { Cells.width($0) }.max() ?? 40
    return document(width: 40 + widest * 9, height: 80 + lines.count * lineHeight, body)
  }
}
