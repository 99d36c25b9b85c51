extension Output {
  /// How a table that is wider than the terminal is made to fit, without cutting a value.
  enum Fit: Equatable {
    /// Lines are kept whole (`--wide`, or a table that has its own narrower layout).
    case whole
    /// The last column is prose: it wraps at spaces, continuing under itself.
    case wrapLast
    /// These columns (addresses, a long value) leave the table and stand under each row,
    /// named by their heading, whole.
    case stack(ClosedRange<Int>)
  }

  /// Writes rows as aligned columns, the first row (the header) in `header` style. `sections`:
  /// a heading to print above a row (by its index in `rows`), the columns aligned across them.
  func table(
    _ rows: [[String]], indent: String = "", header: Style = .heading, fit: Fit = .whole, sections: [Int: String] = [:]
  ) {
    let lines = Table.render(rows)
    let fits = fit == .whole || Table.fit(lines, in: width - Cells.width(indent))
    func section(_ index: Int) {
      guard let heading = sections[index] else { return }
      if index > 1 { self.line("") }
      self.line(heading, .heading)
    }
    switch fit {
    case .stack(let columns) where !fits:
      stacked(rows, columns: columns, indent: indent, header: header, section: section)
    case .wrapLast where !fits:
      let start = Cells.width(indent) + Table.lastColumnStart(rows)
      for (index, line) in lines.enumerated() {
        section(index)
        if line.isHeader || Cells.width(indent + line.text) <= width {
          self.line(indent + line.text, line.isHeader ? header : .plain, wrap: false)
        } else {
          field(indent + line.text, hanging: start)
        }
      }
    default:
      // A table's lines are laid out already: never wrapped here (ls --wide is wide on purpose).
      for (index, line) in lines.enumerated() {
        section(index)
        self.line(indent + line.text, line.isHeader ? header : .plain, wrap: false)
      }
    }
  }

  /// The table without `columns`, each row followed by their values, named, on a line of
  /// their own (or one line each when together they are too wide).
  private func stacked(
    _ rows: [[String]], columns: ClosedRange<Int>, indent: String, header: Style, section: (Int) -> Void
  ) {
    let short = rows.map { row in row.enumerated().filter { !columns.contains($0.offset) }.map(\.element) }
    let names = columns.map { rows[0][$0].lowercased() }
    let nameWidth = names.map { Cells.width($0) }.max() ?? 0
    for (index, line) in Table.render(short).enumerated() {
      section(index)
      self.line(indent + line.text, line.isHeader ? header : .plain, wrap: false)
      guard index > 0 else { continue }
      let named = zip(names, columns.map { rows[index][$0] }).filter { $0.1 != "-" }
      guard !named.isEmpty else { continue }
      let margin = indent + "      "
      let together = named.map { $0.0 + " " + $0.1 }.joined(separator: "   ")
      if Cells.width(margin + together) <= width {
        self.line(margin + together)
      } else {
        // A value wider than the terminal (an address structure) wraps at its spaces, under itself.
        for (name, value) in named {
          field(margin + name.padded(to: nameWidth) + " " + value, hanging: Cells.width(margin) + nameWidth + 1)
        }
      }
    }
  }
}

/// Column layout for tables.
enum Table {
  struct Line {
    let text: String
    let isHeader: Bool
  }

  /// Whether every line of a table fits `width` cells.
  static func fit(_ lines: [Line], in width: Int) -> Bool { lines.allSatisfy { Cells.width($0.text) <= width } }

  /// Where the last column starts, in cells from the table's left edge.
  static func lastColumnStart(_ rows: [[String]]) -> Int {
    guard let columns = rows.map(\.count).max(), columns > 1 else { return 0 }
    return (0..<columns - 1).reduce(0) { total, column in
      total + (rows.map { column < $0.count ? Cells.width($0[column]) : 0 }.max() ?? 0) + 2
    }
  }

  static func render(_ rows: [[String]]) -> [Line] {
    guard let columns = rows.map(\.count).max() else { return [] }
    var widths = [Int](repeating: 0, count: columns)
    for row in rows {
      for (index, cell) in row.enumerated() { widths[index] = max(widths[index], Cells.width(cell)) }
    }
    return rows.enumerated().map { index, row in
      let cells = row.enumerated().map { column, cell in
        column == row.count - 1 ? cell : cell.padded(to: widths[column])
      }
      return Line(text: cells.joined(separator: "  "), isHeader: index == 0)
    }
  }
}
