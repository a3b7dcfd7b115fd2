/// A position in CEL source text: 1-based line and column (in Unicode scalars), and the
/// 0-based scalar offset from the start.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
  /// 1-based line.
  public var line: Int
  /// 1-based column, counted in Unicode scalars.
  public var column: Int
  /// 0-based offset in Unicode scalars.
  public var offset: Int

  /// Creates a location.
  public init(line: Int, column: Int, offset: Int) {
    self.line = line
    self.column = column
    self.offset = offset
  }

  public var description: String { "\(self.line):\(self.column)" }
}

/// CEL source text, indexed for lexing and for turning offsets into lines and columns.
public struct CELSource: Sendable {
  /// The text as given.
  public let text: String
  /// A name for messages (a rule id, a file name); may be empty.
  public let name: String
  let scalars: [Unicode.Scalar]
  let lineStarts: [Int]

  /// Wraps `text`.
  public init(_ text: String, name: String = "") {
    self.text = text
    self.name = name
    self.scalars = Array(text.unicodeScalars)
    var starts = [0]
    for (index, scalar) in self.scalars.enumerated() where scalar == "\n" {
      starts.append(index + 1)
    }
    self.lineStarts = starts
  }

  /// The line and column of a scalar offset.
  public func location(ofOffset offset: Int) -> SourceLocation {
    var low = 0
    var high = self.lineStarts.count - 1
    while low < high {
      let mid = (low + high + 1) / 2
      if self.lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
    }
    return SourceLocation(line: low + 1, column: offset - self.lineStarts[low] + 1, offset: offset)
  }

  /// The text of a 1-based line, without its line break.
  public func line(_ number: Int) -> String {
    guard number >= 1, number <= self.lineStarts.count else { return "" }
    let start = self.lineStarts[number - 1]
    var end = number < self.lineStarts.count ? self.lineStarts[number] - 1 : self.scalars.count
    if end > start, self.scalars[end - 1] == "\r" { end -= 1 }
    var line = String.UnicodeScalarView()
    line.append(contentsOf: self.scalars[start..<max(start, end)])
    return String(line)
  }
}

/// A problem found while parsing or checking an expression.
public struct CELIssue: Error, Sendable, Hashable, CustomStringConvertible {
  /// What is wrong.
  public var message: String
  /// Where, in the expression's own source.
  public var location: SourceLocation
  /// The offending source line and a caret under the position, for display.
  public var snippet: String

  /// Creates an issue.
  public init(message: String, location: SourceLocation, snippet: String = "") {
    self.message = message
    self.location = location
    self.snippet = snippet
  }

  public var description: String {
    "ERROR: <input>:\(self.location.line):\(self.location.column): \(self.message)"
      + (self.snippet.isEmpty ? "" : "\n" + self.snippet)
  }
}

/// The error thrown when an expression does not parse or check: every issue found.
public struct CELCompileError: Error, Sendable, CustomStringConvertible {
  /// The issues, in source order.
  public var issues: [CELIssue]

  /// Creates an error from its issues.
  public init(issues: [CELIssue]) {
    self.issues = issues
  }

  public var description: String { self.issues.map(\.description).joined(separator: "\n") }
}

extension CELSource {
  func issue(_ message: String, at offset: Int) -> CELIssue {
    let location = self.location(ofOffset: offset)
    let line = self.line(location.line)
    let caret = String(repeating: " ", count: max(0, location.column - 1)) + "^"
    return CELIssue(message: message, location: location, snippet: " | \(line)\n | \(caret)")
  }
}
