/// A regular expression with RE2 syntax and semantics, matched in time linear in the input
/// (a Thompson NFA simulated breadth-first, as RE2 and Go's regexp do), so that no pattern can
/// make matching backtrack exponentially.
///
/// Supported: literals and escapes (`\n`, `\x41`, `\x{263a}`, `\Q...\E`), `.`, classes
/// (`[a-z]`, `[^...]`, `[[:alpha:]]`, `\d \s \w \D \S \W`, `\pL`, `\p{Lu}`, `\PN`), anchors
/// `^ $ \A \z \b \B`, groups `(...)`, `(?:...)`, `(?P<name>...)`, `(?<name>...)`, flags
/// `(?i) (?m) (?s) (?U)` and `(?i:...)`, alternation, and the quantifiers `* + ? {n} {n,}
/// {n,m}` with their lazy forms. Backreferences and look-around are not RE2 and are errors.
public struct RE2Regex: Sendable {
  private let program: [Instruction]
  private let start: Int
  private let anchoredAtStart: Bool

  /// The largest repetition count and program size accepted, as RE2 does.
  static let maxRepeat = 1000
  static let maxProgramSize = 50_000

  /// Compiles `pattern`; throws ``CELError`` describing a syntax error.
  public init(_ pattern: String) throws(CELError) {
    var parser = RegexParser(pattern)
    let node = try parser.parse()
    var compiler = RegexCompiler()
    let start = try compiler.compile(node)
    self.program = compiler.program
    self.start = start
    self.anchoredAtStart = node.isAnchoredAtTextStart
  }

  /// Whether the pattern matches anywhere in `text`.
  public func matches(_ text: String) -> Bool {
    var input: [Unicode.Scalar] = []
    input.reserveCapacity(text.utf8.count)
    input.append(contentsOf: text.unicodeScalars)
    var current = ThreadList(capacity: self.program.count)
    var next = ThreadList(capacity: self.program.count)
    var stack: [Int] = []
    for position in 0...input.count {
      if position == 0 || !self.anchoredAtStart {
        if self.addThread(self.start, to: &current, at: position, input: input, stack: &stack) {
          return true
        }
      }
      if current.isEmpty {
        if self.anchoredAtStart { return false }
        continue
      }
      guard position < input.count else { break }
      let scalar = input[position]
      next.clear()
      for pc in current.members {
        if case .character(let matcher) = self.program[pc], matcher.matches(scalar) {
          if self.addThread(pc + 1, to: &next, at: position + 1, input: input, stack: &stack) {
            return true
          }
        }
      }
      swap(&current, &next)
    }
    return false
  }

  /// Adds the epsilon closure of `pc` at `position`; returns true when it reaches `match`.
  private func addThread(
    _ pc: Int, to list: inout ThreadList, at position: Int, input: [Unicode.Scalar],
    stack: inout [Int]
  ) -> Bool {
    stack.removeAll(keepingCapacity: true)
    stack.append(pc)
    while let pc = stack.popLast() {
      guard list.insert(pc) else { continue }
      switch self.program[pc] {
      case .match:
        return true
      case .jump(let target):
        stack.append(target)
      case .split(let preferred, let other):
        stack.append(other)
        stack.append(preferred)
      case .assertion(let assertion):
        if assertion.holds(at: position, in: input) { stack.append(pc + 1) }
      case .character:
        break
      }
    }
    return false
  }
}

/// A set of program counters with O(1) insert, test and clear (a sparse set).
private struct ThreadList {
  var dense: [Int]
  var sparse: [Int]
  var count = 0

  init(capacity: Int) {
    self.dense = Array(repeating: 0, count: capacity)
    self.sparse = Array(repeating: 0, count: capacity)
  }

  var isEmpty: Bool { self.count == 0 }
  var members: ArraySlice<Int> { self.dense[0..<self.count] }

  mutating func insert(_ pc: Int) -> Bool {
    let slot = self.sparse[pc]
    if slot < self.count && self.dense[slot] == pc { return false }
    self.sparse[pc] = self.count
    self.dense[self.count] = pc
    self.count += 1
    return true
  }

  mutating func clear() { self.count = 0 }
}

private enum Instruction: Sendable {
  case character(CharacterMatcher)
  case split(Int, Int)
  case jump(Int)
  case assertion(Assertion)
  case match
}

enum Assertion: Sendable {
  case lineStart, lineEnd, textStart, textEnd, wordBoundary, notWordBoundary

  func holds(at position: Int, in input: [Unicode.Scalar]) -> Bool {
    switch self {
    case .textStart: return position == 0
    case .textEnd: return position == input.count
    case .lineStart: return position == 0 || input[position - 1] == "\n"
    case .lineEnd: return position == input.count || input[position] == "\n"
    case .wordBoundary, .notWordBoundary:
      let before = position > 0 && CharacterMatcher.isWord(input[position - 1])
      let after = position < input.count && CharacterMatcher.isWord(input[position])
      return (before != after) == (self == .wordBoundary)
    }
  }
}

/// What one position of the input must be.
struct CharacterMatcher: Sendable {
  var ranges: [ClosedRange<UInt32>] = []
  var categories: [Unicode.GeneralCategory] = []
  var categoryGroups: [Character] = []
  var negated = false
  var caseInsensitive = false

  static func isWord(_ s: Unicode.Scalar) -> Bool {
    let v = s.value
    return (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 95
  }

  func matches(_ scalar: Unicode.Scalar) -> Bool {
    var hit = self.contains(scalar)
    if !hit && self.caseInsensitive {
      for variant in Self.caseVariants(scalar) where variant != scalar && self.contains(variant) {
        hit = true
        break
      }
    }
    return hit != self.negated
  }

  private func contains(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    for range in self.ranges where range.contains(v) { return true }
    if !self.categories.isEmpty || !self.categoryGroups.isEmpty {
      let category = scalar.properties.generalCategory
      if self.categories.contains(category) { return true }
      if let group = Self.group(of: category), self.categoryGroups.contains(group) { return true }
    }
    return false
  }

  static func caseVariants(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
    if scalar.isASCII {
      let v = scalar.value
      if v >= 65 && v <= 90 { return [Unicode.Scalar(v + 32)!] }
      if v >= 97 && v <= 122 { return [Unicode.Scalar(v - 32)!] }
      return []
    }
    var variants: [Unicode.Scalar] = []
    for mapping in [
      scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping,
      scalar.properties.titlecaseMapping,
    ] {
      let scalars = mapping.unicodeScalars
      if scalars.count == 1, let only = scalars.first { variants.append(only) }
    }
    return variants
  }

  static func group(of category: Unicode.GeneralCategory) -> Character? {
    switch category {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
      return "L"
    case .nonspacingMark, .spacingMark, .enclosingMark: return "M"
    case .decimalNumber, .letterNumber, .otherNumber: return "N"
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation,
      .finalPunctuation, .otherPunctuation:
      return "P"
    case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: return "S"
    case .spaceSeparator, .lineSeparator, .paragraphSeparator: return "Z"
    case .control, .format, .surrogate, .privateUse, .unassigned: return "C"
    @unknown default: return nil
    }
  }
}

indirect enum RegexNode {
  case empty
  case character(CharacterMatcher)
  case concatenation([RegexNode])
  case alternation([RegexNode])
  case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
  case assertion(Assertion)

  var isAnchoredAtTextStart: Bool {
    switch self {
    case .assertion(.textStart): return true
    case .concatenation(let parts): return parts.first?.isAnchoredAtTextStart ?? false
    default: return false
    }
  }
}

struct RegexFlags {
  var caseInsensitive = false
  var multiLine = false
  var dotAll = false
  var ungreedy = false
}

/// Parses RE2 syntax.
struct RegexParser {
  let scalars: [Unicode.Scalar]
  var position = 0
  var flags = RegexFlags()
  var depth = 0

  init(_ pattern: String) {
    self.scalars = Array(pattern.unicodeScalars)
  }

  func error(_ message: String) -> CELError {
    CELError("invalid regular expression: \(message)")
  }

  var atEnd: Bool { self.position >= self.scalars.count }
  func peek(_ k: Int = 0) -> Unicode.Scalar? {
    self.position + k < self.scalars.count ? self.scalars[self.position + k] : nil
  }

  mutating func parse() throws(CELError) -> RegexNode {
    let node = try self.parseAlternation()
    if !self.atEnd { throw self.error("unexpected ) at offset \(self.position)") }
    return node
  }

  mutating func parseAlternation() throws(CELError) -> RegexNode {
    self.depth += 1
    defer { self.depth -= 1 }
    if self.depth > 500 { throw self.error("nesting too deep") }
    var branches = [try self.parseConcatenation()]
    while self.peek() == "|" {
      self.position += 1
      branches.append(try self.parseConcatenation())
    }
    return branches.count == 1 ? branches[0] : .alternation(branches)
  }

  mutating func parseConcatenation() throws(CELError) -> RegexNode {
    var parts: [RegexNode] = []
    while let c = self.peek(), c != "|", c != ")" {
      var atom: RegexNode
      if c == "(" {
        let saved = self.flags
        guard let group = try self.parseGroup() else { continue }
        atom = group
        self.flags = saved
      } else {
        atom = try self.parseAtom()
      }
      atom = try self.parseQuantifiers(atom)
      parts.append(atom)
    }
    if parts.isEmpty { return .empty }
    return parts.count == 1 ? parts[0] : .concatenation(parts)
  }

  /// A group, or nil for a flag-setting group `(?i)` that applies to the rest.
  mutating func parseGroup() throws(CELError) -> RegexNode? {
    self.position += 1
    if self.peek() == "?" {
      self.position += 1
      if self.peek() == "P" || (self.peek() == "<" && self.peek(1) != "=" && self.peek(1) != "!") {
        if self.peek() == "P" { self.position += 1 }
        guard self.peek() == "<" else { throw self.error("invalid named capture") }
        while let c = self.peek(), c != ">" { self.position += 1 }
        guard self.peek() == ">" else { throw self.error("invalid named capture") }
        self.position += 1
      } else {
        var enable = true
        var newFlags = self.flags
        var sawFlag = false
        while let c = self.peek(), c != ")" && c != ":" {
          switch c {
          case "-": enable = false
          case "i": newFlags.caseInsensitive = enable
          case "m": newFlags.multiLine = enable
          case "s": newFlags.dotAll = enable
          case "U": newFlags.ungreedy = enable
          case "=", "!", "<":
            throw self.error("look-around assertions are not supported (RE2 syntax)")
          default: throw self.error("invalid or unsupported flag '\(c)'")
          }
          sawFlag = true
          self.position += 1
        }
        guard let end = self.peek() else { throw self.error("missing closing )") }
        self.position += 1
        if end == ")" {
          guard sawFlag else { throw self.error("empty flag group") }
          self.flags = newFlags
          return nil
        }
        self.flags = newFlags
      }
    }
    let inner = try self.parseAlternation()
    guard self.peek() == ")" else { throw self.error("missing closing )") }
    self.position += 1
    return inner
  }

  mutating func parseQuantifiers(_ atom: RegexNode) throws(CELError) -> RegexNode {
    var node = atom
    var quantified = false
    while let c = self.peek() {
      var minimum = 0
      var maximum: Int? = nil
      switch c {
      case "*": self.position += 1
      case "+":
        minimum = 1
        self.position += 1
      case "?":
        maximum = 1
        self.position += 1
      case "{":
        guard let (lo, hi) = self.parseBraces() else { return node }
        minimum = lo
        maximum = hi
      default:
        return node
      }
      if quantified { throw self.error("bad repetition operator") }
      if case .empty = node { throw self.error("missing argument to repetition operator") }
      if case .assertion = node { throw self.error("missing argument to repetition operator") }
      quantified = true
      var greedy = true
      if self.peek() == "?" {
        greedy = false
        self.position += 1
      }
      if self.flags.ungreedy { greedy.toggle() }
      if minimum > RE2Regex.maxRepeat || (maximum ?? 0) > RE2Regex.maxRepeat {
        throw self.error("bad repetition operator: count above \(RE2Regex.maxRepeat)")
      }
      if let maximum, maximum < minimum {
        throw self.error("bad repetition operator: {\(minimum),\(maximum)}")
      }
      node = .repetition(node, min: minimum, max: maximum, greedy: greedy)
    }
    return node
  }

  /// `{n}`, `{n,}`, `{n,m}`; nil (and no input consumed) when it is not a repetition, in which
  /// case `{` is a literal, as in RE2.
  mutating func parseBraces() -> (Int, Int?)? {
    let saved = self.position
    self.position += 1
    func number() -> Int? {
      var digits = ""
      while let c = self.peek(), ("0"..."9").contains(c) {
        digits.unicodeScalars.append(c)
        self.position += 1
      }
      return digits.isEmpty ? nil : Int(digits.prefix(6))
    }
    guard let low = number() else {
      self.position = saved
      return nil
    }
    var high: Int? = low
    if self.peek() == "," {
      self.position += 1
      high = number()
    }
    guard self.peek() == "}" else {
      self.position = saved
      return nil
    }
    self.position += 1
    return (low, high)
  }

  mutating func literal(_ scalar: Unicode.Scalar) -> RegexNode {
    var matcher = CharacterMatcher(ranges: [scalar.value...scalar.value])
    matcher.caseInsensitive = self.flags.caseInsensitive
    return .character(matcher)
  }

  mutating func parseAtom() throws(CELError) -> RegexNode {
    guard let c = self.peek() else { throw self.error("unexpected end") }
    self.position += 1
    switch c {
    case ".":
      var matcher = CharacterMatcher(
        ranges: self.flags.dotAll ? [0...0x10FFFF] : [0...9, 11...0x10FFFF])
      matcher.caseInsensitive = false
      return .character(matcher)
    case "^": return .assertion(self.flags.multiLine ? .lineStart : .textStart)
    case "$": return .assertion(self.flags.multiLine ? .lineEnd : .textEnd)
    case "[": return .character(try self.parseClass())
    case "*", "+", "?": throw self.error("missing argument to repetition operator: \(c)")
    case "\\": return try self.parseEscape()
    default: return self.literal(c)
    }
  }

  mutating func parseEscape() throws(CELError) -> RegexNode {
    guard let c = self.peek() else { throw self.error("trailing backslash at end of expression") }
    switch c {
    case "A":
      self.position += 1
      return .assertion(.textStart)
    case "z":
      self.position += 1
      return .assertion(.textEnd)
    case "b":
      self.position += 1
      return .assertion(.wordBoundary)
    case "B":
      self.position += 1
      return .assertion(.notWordBoundary)
    case "Q":
      self.position += 1
      var parts: [RegexNode] = []
      while let s = self.peek() {
        if s == "\\" && self.peek(1) == "E" {
          self.position += 2
          break
        }
        parts.append(self.literal(s))
        self.position += 1
      }
      return .concatenation(parts)
    default:
      var matcher = try self.parseClassEscape()
      matcher.caseInsensitive = self.flags.caseInsensitive
      return .character(matcher)
    }
  }

  /// An escape that stands for one character or a class (`\d`, `\pL`, `\x41`, `\.`).
  mutating func parseClassEscape() throws(CELError) -> CharacterMatcher {
    guard let c = self.peek() else { throw self.error("trailing backslash at end of expression") }
    self.position += 1
    func single(_ v: UInt32) -> CharacterMatcher { CharacterMatcher(ranges: [v...v]) }
    switch c {
    case "d", "D": return CharacterMatcher(ranges: [48...57], negated: c == "D")
    case "s", "S": return CharacterMatcher(ranges: [9...10, 12...13, 32...32], negated: c == "S")
    case "w", "W":
      return CharacterMatcher(ranges: [48...57, 65...90, 95...95, 97...122], negated: c == "W")
    case "p", "P":
      var name = ""
      if self.peek() == "{" {
        self.position += 1
        while let s = self.peek(), s != "}" {
          name.unicodeScalars.append(s)
          self.position += 1
        }
        guard self.peek() == "}" else { throw self.error("invalid character class range") }
        self.position += 1
      } else if let s = self.peek() {
        name = String(s)
        self.position += 1
      }
      var negated = c == "P"
      if name.hasPrefix("^") {
        negated.toggle()
        name.removeFirst()
      }
      return try self.unicodeClass(name, negated: negated)
    case "n": return single(10)
    case "t": return single(9)
    case "r": return single(13)
    case "f": return single(12)
    case "v": return single(11)
    case "a": return single(7)
    case "x":
      var hex = ""
      if self.peek() == "{" {
        self.position += 1
        while let s = self.peek(), s != "}" {
          hex.unicodeScalars.append(s)
          self.position += 1
        }
        self.position += 1
      } else {
        for _ in 0..<2 {
          guard let s = self.peek() else { break }
          hex.unicodeScalars.append(s)
          self.position += 1
        }
      }
      guard let value = UInt32(hex, radix: 16), value <= 0x10FFFF else {
        throw self.error("invalid escape sequence \\x\(hex)")
      }
      return single(value)
    case "0"..."7":
      if c != "0" && !(self.peek().map { ("0"..."7").contains($0) } ?? false) {
        throw self.error("backreferences are not supported (RE2 syntax): \\\(c)")
      }
      var value = c.value - 48
      for _ in 0..<2 {
        guard let s = self.peek(), ("0"..."7").contains(s) else { break }
        value = value * 8 + (s.value - 48)
        self.position += 1
      }
      return single(value)
    case "8", "9": throw self.error("invalid escape sequence \\\(c)")
    default:
      if c.isASCII && (c.properties.isAlphabetic) {
        throw self.error("invalid escape sequence \\\(c)")
      }
      return single(c.value)
    }
  }

  func unicodeClass(_ name: String, negated: Bool) throws(CELError) -> CharacterMatcher {
    if name.count == 1, let group = name.first, "LMNPSZC".contains(group) {
      return CharacterMatcher(categoryGroups: [group], negated: negated)
    }
    let categories: [String: Unicode.GeneralCategory] = [
      "Lu": .uppercaseLetter, "Ll": .lowercaseLetter, "Lt": .titlecaseLetter, "Lm": .modifierLetter,
      "Lo": .otherLetter, "Mn": .nonspacingMark, "Mc": .spacingMark, "Me": .enclosingMark,
      "Nd": .decimalNumber, "Nl": .letterNumber, "No": .otherNumber, "Pc": .connectorPunctuation,
      "Pd": .dashPunctuation, "Ps": .openPunctuation, "Pe": .closePunctuation,
      "Pi": .initialPunctuation,
      "Pf": .finalPunctuation, "Po": .otherPunctuation, "Sm": .mathSymbol, "Sc": .currencySymbol,
      "Sk": .modifierSymbol, "So": .otherSymbol, "Zs": .spaceSeparator, "Zl": .lineSeparator,
      "Zp": .paragraphSeparator, "Cc": .control, "Cf": .format, "Co": .privateUse, "Cs": .surrogate,
    ]
    if let category = categories[name] {
      return CharacterMatcher(categories: [category], negated: negated)
    }
    if name == "Any" { return CharacterMatcher(ranges: [0...0x10FFFF], negated: negated) }
    throw self.error("invalid or unsupported Unicode class \\p{\(name)}")
  }

  /// A bracketed class; `position` is just past `[`.
  mutating func parseClass() throws(CELError) -> CharacterMatcher {
    var matcher = CharacterMatcher()
    matcher.caseInsensitive = self.flags.caseInsensitive
    if self.peek() == "^" {
      matcher.negated = true
      self.position += 1
    }
    var first = true
    while true {
      guard let c = self.peek() else { throw self.error("missing closing ]") }
      if c == "]" && !first {
        self.position += 1
        break
      }
      first = false
      if c == "[" && self.peek(1) == ":" {
        var name = ""
        var k = 2
        while let s = self.peek(k), s != ":" {
          name.unicodeScalars.append(s)
          k += 1
        }
        if self.peek(k) == ":" && self.peek(k + 1) == "]" {
          self.position += k + 2
          try self.addPosixClass(name, to: &matcher)
          continue
        }
      }
      var low: UInt32
      if c == "\\" {
        self.position += 1
        let escaped = try self.parseClassEscape()
        if escaped.ranges.count == 1, escaped.ranges[0].count == 1, !escaped.negated,
          escaped.categories.isEmpty,
          escaped.categoryGroups.isEmpty
        {
          low = escaped.ranges[0].lowerBound
        } else {
          try self.merge(escaped, into: &matcher)
          continue
        }
      } else {
        self.position += 1
        low = c.value
      }
      if self.peek() == "-", let after = self.peek(1), after != "]" {
        self.position += 1
        var high: UInt32
        if after == "\\" {
          self.position += 1
          let escaped = try self.parseClassEscape()
          guard escaped.ranges.count == 1, escaped.ranges[0].count == 1 else {
            throw self.error("invalid character class range")
          }
          high = escaped.ranges[0].lowerBound
        } else {
          self.position += 1
          high = after.value
        }
        guard low <= high else { throw self.error("invalid character class range") }
        matcher.ranges.append(low...high)
      } else {
        matcher.ranges.append(low...low)
      }
    }
    return matcher
  }

  func merge(_ other: CharacterMatcher, into matcher: inout CharacterMatcher) throws(CELError) {
    if other.negated {
      // A negated class inside brackets (\D, \W, \S, \PL): add its complement's ranges.
      guard other.categories.isEmpty && other.categoryGroups.isEmpty else {
        throw self.error("negated Unicode classes inside brackets are not supported")
      }
      var next: UInt32 = 0
      for range in other.ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
        if range.lowerBound > next { matcher.ranges.append(next...(range.lowerBound - 1)) }
        next = max(next, range.upperBound + 1)
      }
      if next <= 0x10FFFF { matcher.ranges.append(next...0x10FFFF) }
      return
    }
    matcher.ranges += other.ranges
    matcher.categories += other.categories
    matcher.categoryGroups += other.categoryGroups
  }

  func addPosixClass(_ name: String, to matcher: inout CharacterMatcher) throws(CELError) {
    var negated = false
    var name = name
    if name.hasPrefix("^") {
      negated = true
      name.removeFirst()
    }
    let ranges: [ClosedRange<UInt32>]
    switch name {
    case "alnum": ranges = [48...57, 65...90, 97...122]
    case "alpha": ranges = [65...90, 97...122]
    case "ascii": ranges = [0...127]
    case "blank": ranges = [9...9, 32...32]
    case "cntrl": ranges = [0...31, 127...127]
    case "digit": ranges = [48...57]
    case "graph": ranges = [33...126]
    case "lower": ranges = [97...122]
    case "print": ranges = [32...126]
    case "punct": ranges = [33...47, 58...64, 91...96, 123...126]
    case "space": ranges = [9...13, 32...32]
    case "upper": ranges = [65...90]
    case "word": ranges = [48...57, 65...90, 95...95, 97...122]
    case "xdigit": ranges = [48...57, 65...70, 97...102]
    default: throw self.error("invalid character class range [:\(name):]")
    }
    try self.merge(CharacterMatcher(ranges: ranges, negated: negated), into: &matcher)
  }
}

/// Compiles a regex tree into NFA instructions.
private struct RegexCompiler {
  var program: [Instruction] = []

  mutating func emit(_ instruction: Instruction) throws(CELError) -> Int {
    if self.program.count >= RE2Regex.maxProgramSize {
      throw CELError("invalid regular expression: expression too large")
    }
    self.program.append(instruction)
    return self.program.count - 1
  }

  /// Compiles `node` followed by `match`; returns the start.
  mutating func compile(_ node: RegexNode) throws(CELError) -> Int {
    try self.emitNode(node)
    _ = try self.emit(.match)
    return 0
  }

  mutating func emitNode(_ node: RegexNode) throws(CELError) {
    switch node {
    case .empty:
      break
    case .character(let matcher):
      _ = try self.emit(.character(matcher))
    case .assertion(let assertion):
      _ = try self.emit(.assertion(assertion))
    case .concatenation(let parts):
      for part in parts { try self.emitNode(part) }
    case .alternation(let branches):
      var jumps: [Int] = []
      for (index, branch) in branches.enumerated() {
        if index < branches.count - 1 {
          let split = try self.emit(.split(0, 0))
          try self.emitNode(branch)
          jumps.append(try self.emit(.jump(0)))
          self.program[split] = .split(split + 1, self.program.count)
        } else {
          try self.emitNode(branch)
        }
      }
      for jump in jumps { self.program[jump] = .jump(self.program.count) }
    case .repetition(let inner, let minimum, let maximum, let greedy):
      for _ in 0..<minimum { try self.emitNode(inner) }
      if let maximum {
        // Optional copies, nested: (x(x(x)?)?)?
        var splits: [Int] = []
        for _ in minimum..<maximum {
          splits.append(try self.emit(.split(0, 0)))
          try self.emitNode(inner)
        }
        let end = self.program.count
        for split in splits {
          self.program[split] = greedy ? .split(split + 1, end) : .split(end, split + 1)
        }
      } else {
        let loop = try self.emit(.split(0, 0))
        try self.emitNode(inner)
        _ = try self.emit(.jump(loop))
        let end = self.program.count
        self.program[loop] = greedy ? .split(loop + 1, end) : .split(end, loop + 1)
      }
    }
  }
}
