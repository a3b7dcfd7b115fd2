/// A problem in a rule file, a test file or a proposal file, at a position of that file.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
  /// How bad it is.
  public enum Severity: String, Sendable, Hashable {
    case error
    case warning
  }

  /// The file, as given to the loader.
  public var file: String
  /// 1-based line; 0 when the problem concerns the whole file.
  public var line: Int
  /// 1-based column; 0 when unknown.
  public var column: Int
  public var severity: Severity
  public var message: String

  /// Creates a diagnostic.
  public init(file: String, line: Int, column: Int, severity: Severity = .error, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.severity = severity
    self.message = message
  }

  /// `file:line:col: severity: message`, the form compilers and editors understand.
  public var description: String {
    "\(self.file):\(self.line):\(self.column): \(self.severity.rawValue): \(self.message)"
  }
}

/// Thrown when files do not load: every problem found, in file order.
public struct DiagnosticsError: Error, Sendable, CustomStringConvertible {
  /// The problems.
  public var diagnostics: [Diagnostic]

  /// Creates the error.
  public init(_ diagnostics: [Diagnostic]) {
    self.diagnostics = diagnostics
  }

  public var description: String { self.diagnostics.map(\.description).joined(separator: "\n") }
}
