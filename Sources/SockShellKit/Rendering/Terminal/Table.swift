extension Output {
  /// Writes rows as aligned columns, the first row (the header) in `header` style.
  func table(_ rows: [[String]], indent: String = "", header: Style = .heading) {
    for line in Table.render(rows) { self.line(indent + line.text, line.isHeader ? header : .plain) }
  }
}

/// Column layout for tables.
enum Table {
  struct Line {
    let text: String
    let isHeader: Bool
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
