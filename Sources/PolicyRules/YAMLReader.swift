import CEL
import Foundation
import Yams

/// Reads a YAML file into nodes with positions, collecting diagnostics as it goes, so that a
/// loader can report every problem of a file at once, each with its line and column.
struct YAMLReader {
  let path: String
  let text: String
  private(set) var diagnostics: [Diagnostic] = []

  init(path: String, text: String) {
    self.path = path
    self.text = text
  }

  /// Parses the document; nil (with a diagnostic) when it is not valid YAML.
  mutating func root() -> Node? {
    do {
      guard let node = try Yams.compose(yaml: self.text) else {
        self.error("the file is empty", line: 1, column: 1)
        return nil
      }
      return node
    } catch let error as YamlError {
      switch error {
      case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
        .composer(_, let problem, let mark, _):
        self.error("invalid YAML: \(problem)", line: mark.line, column: mark.column)
      case .duplicatedKeysInMapping(let duplicates, let context):
        let mark = context.mark
        self.error(
          "duplicate key(s) \(duplicates.joined(separator: ", ")) in a mapping", line: mark.line,
          column: mark.column)
      default:
        self.error("invalid YAML: \(error)", line: 1, column: 1)
      }
      return nil
    } catch {
      self.error("invalid YAML: \(error)", line: 1, column: 1)
      return nil
    }
  }

  mutating func error(_ message: String, line: Int, column: Int) {
    self.diagnostics.append(
      Diagnostic(file: self.path, line: line, column: column, message: message))
  }

  mutating func warning(_ message: String, at node: Node) {
    let mark = node.mark
    self.diagnostics.append(
      Diagnostic(
        file: self.path, line: mark?.line ?? 0, column: mark?.column ?? 0, severity: .warning,
        message: message))
  }

  mutating func error(_ message: String, at node: Node) {
    self.error(message, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
  }

  /// The entries of a mapping, keys as strings, after checking the keys against `allowed`
  /// (unknown keys are reported with a suggestion) and `required`.
  mutating func mapping(
    _ node: Node,
    _ what: String,
    allowed: [String],
    required: [String] = []
  ) -> [String: Node]? {
    guard case .mapping(let mapping) = node else {
      self.error("\(what) must be a mapping (key: value pairs)", at: node)
      return nil
    }
    var entries: [String: Node] = [:]
    for (keyNode, value) in mapping {
      guard case .scalar(let key) = keyNode else {
        self.error("keys of \(what) must be plain names", at: keyNode)
        continue
      }
      guard allowed.contains(key.string) else {
        let hint = closest(key.string, among: allowed).map { "; did you mean '\($0)'?" } ?? ""
        self.error(
          "unknown key '\(key.string)' in \(what)\(hint) (known keys: \(allowed.joined(separator: ", ")))",
          at: keyNode)
        continue
      }
      entries[key.string] = value
    }
    for key in required where entries[key] == nil {
      self.error("\(what) is missing the required key '\(key)'", at: node)
    }
    return entries
  }

  /// A scalar's text, or nil (with a diagnostic) when the node is not a scalar.
  mutating func string(_ node: Node?, _ what: String) -> String? {
    guard let node else { return nil }
    guard case .scalar(let scalar) = node else {
      self.error("\(what) must be a single value, not a list or a mapping", at: node)
      return nil
    }
    return scalar.string
  }

  /// A non-empty string.
  mutating func nonEmptyString(_ node: Node?, _ what: String) -> String? {
    guard let node, let value = self.string(node, what) else { return nil }
    if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
      self.error("\(what) must not be empty", at: node)
      return nil
    }
    return value
  }

  mutating func number(_ node: Node?, _ what: String) -> Double? {
    guard let node, let text = self.string(node, what) else { return nil }
    guard let value = Double(text.replacingOccurrences(of: "_", with: "")), value.isFinite else {
      self.error("\(what) must be a number, not '\(text)'", at: node)
      return nil
    }
    return value
  }

  mutating func integer(_ node: Node?, _ what: String) -> Int64? {
    guard let node, let text = self.string(node, what) else { return nil }
    let cleaned = text.replacingOccurrences(of: "_", with: "").replacingOccurrences(
      of: ",", with: "")
    if let value = Int64(cleaned) { return value }
    if let value = Double(cleaned), value.rounded() == value, abs(value) < 9.2e18 {
      return Int64(value)
    }
    if cleaned == "null" || cleaned == "~" || cleaned.isEmpty { return 0 }
    self.error("\(what) must be a whole number, not '\(text)'", at: node)
    return nil
  }

  mutating func bool(_ node: Node?, _ what: String) -> Bool? {
    guard let node, let text = self.string(node, what) else { return nil }
    switch text.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default:
      self.error("\(what) must be true or false, not '\(text)'", at: node)
      return nil
    }
  }

  /// A list of scalars (a single scalar counts as a one-element list).
  mutating func strings(_ node: Node?, _ what: String) -> [String]? {
    guard let node else { return nil }
    switch node {
    case .sequence(let sequence):
      var values: [String] = []
      for item in sequence {
        if let value = self.string(item, "each item of \(what)") { values.append(value) }
      }
      return values
    case .scalar(let scalar):
      if scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~" { return [] }
      return [scalar.string]
    default:
      self.error("\(what) must be a list", at: node)
      return nil
    }
  }

  mutating func sequence(_ node: Node?, _ what: String) -> [Node]? {
    guard let node else { return nil }
    if case .sequence(let sequence) = node { return Array(sequence) }
    if case .scalar(let scalar) = node,
      scalar.string.isEmpty || scalar.string == "null" || scalar.string == "~"
    {
      return []
    }
    self.error("\(what) must be a list", at: node)
    return nil
  }
}

/// The candidate nearest to `word`, when it is near enough to be a typo.
func closest(_ word: String, among candidates: [String]) -> String? {
  CELChecker.closest(to: word, among: candidates)
}

/// Where a scalar's text starts in the file, to map positions inside it (a CEL expression's
/// line and column) back to the file.
struct ScalarPosition: Sendable {
  var line: Int
  var column: Int
  /// For block scalars (`|`, `>`): the content starts on the next line at this column.
  var blockIndent: Int?
  /// The opening quote of a quoted scalar shifts the first column by one.
  var quoted: Bool

  init(node: Node, fileLines: [Substring]) {
    let mark = node.mark
    self.line = mark?.line ?? 0
    self.column = mark?.column ?? 0
    self.quoted = false
    self.blockIndent = nil
    guard case .scalar(let scalar) = node else { return }
    switch scalar.style {
    case .singleQuoted, .doubleQuoted:
      self.quoted = true
    case .literal, .folded:
      // The first non-blank line after the indicator gives the indentation.
      var lineIndex = self.line
      while lineIndex < fileLines.count {
        let content = fileLines[lineIndex]
        if !content.trimmingCharacters(in: .whitespaces).isEmpty {
          self.blockIndent = content.prefix { $0 == " " }.count
          break
        }
        lineIndex += 1
      }
    default:
      break
    }
  }

  /// The file position of a 1-based line and column inside the scalar's text.
  func filePosition(line: Int, column: Int) -> (line: Int, column: Int) {
    if let indent = self.blockIndent {
      return (self.line + line, indent + column)
    }
    if line == 1 { return (self.line, self.column + column - 1 + (self.quoted ? 1 : 0)) }
    return (self.line + line - 1, column)
  }
}
