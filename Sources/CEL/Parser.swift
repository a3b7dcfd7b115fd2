/// Limits and switches of the parser.
public struct ParserOptions: Sendable {
  /// Deepest nesting of the expression tree (parentheses, calls, operator chains).
  public var maxDepth = 250
  /// Longest source, in Unicode scalars.
  public var maxSourceLength = 100_000
  /// Whether `has`, `all`, `exists`, `exists_one`, `map`, `filter`, the two-variable macros and
  /// `cel.bind` are expanded.
  public var enableMacros = true

  /// The defaults.
  public init() {}
}

/// Parses CEL source into a ``ParsedExpression``, expanding macros.
///
/// ```swift
/// let parsed = try CELParser.parse("[1, 2].exists(x, x > 1)")
/// ```
public struct CELParser {
  /// Words that may not be used as identifiers.
  static let reservedWords: Set<String> = [
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let", "loop",
    "package", "namespace", "return", "var", "void", "while",
  ]

  private var lexer: Lexer
  private var token: Token
  private let source: CELSource
  private let options: ParserOptions
  private var nextID = 1
  private var offsets: [Int: Int] = [:]
  private var depth = 0

  /// Parses `text`; throws ``CELCompileError`` with the first syntax error.
  public static func parse(_ text: String, options: ParserOptions = ParserOptions()) throws
    -> ParsedExpression
  {
    try self.parse(CELSource(text), options: options)
  }

  /// Parses `source`; throws ``CELCompileError`` with the first syntax error.
  public static func parse(_ source: CELSource, options: ParserOptions = ParserOptions()) throws
    -> ParsedExpression
  {
    if source.scalars.count > options.maxSourceLength {
      throw CELCompileError(issues: [
        source.issue(
          "expression is \(source.scalars.count) characters long, more than the limit of \(options.maxSourceLength)",
          at: 0
        )
      ])
    }
    var parser = CELParser(source: source, options: options)
    do {
      let expr = try parser.parseExpression()
      guard case .end = parser.token.kind else {
        throw parser.error(
          "unexpected \(parser.describe(parser.token)); expected the end of the expression")
      }
      return ParsedExpression(expr: expr, source: source, offsets: parser.offsets)
    } catch let issue as CELIssue {
      throw CELCompileError(issues: [issue])
    }
  }

  private init(source: CELSource, options: ParserOptions) {
    self.source = source
    self.options = options
    self.lexer = Lexer(source)
    self.token = Token(kind: .end, offset: 0)
    self.token = self.lexer.next()
  }

  // MARK: - Tokens

  private mutating func advance() { self.token = self.lexer.next() }

  private func isPunctuation(_ text: String) -> Bool {
    if case .punctuation(let value) = self.token.kind { return value == text }
    return false
  }

  private func isKeyword(_ word: String) -> Bool {
    if case .identifier(let value) = self.token.kind { return value == word }
    return false
  }

  private mutating func expect(_ text: String) throws {
    guard self.isPunctuation(text) else {
      throw self.error("expected '\(text)' but found \(self.describe(self.token))")
    }
    self.advance()
  }

  private func describe(_ token: Token) -> String {
    switch token.kind {
    case .identifier(let name): return "'\(name)'"
    case .punctuation(let text): return "'\(text)'"
    case .end: return "the end of the expression"
    case .invalid(let message): return message
    case .string: return "a string literal"
    case .bytes: return "a bytes literal"
    case .int, .uint, .double: return "a number"
    }
  }

  private func error(_ message: String, at offset: Int? = nil) -> CELIssue {
    if case .invalid(let lexical) = self.token.kind, offset == nil {
      return self.source.issue(lexical, at: self.token.offset)
    }
    return self.source.issue(message, at: offset ?? self.token.offset)
  }

  // MARK: - Nodes

  /// A fresh node id, remembering where in the source it stands.
  private mutating func newID(at offset: Int) -> Int {
    let id = self.nextID
    self.nextID += 1
    self.offsets[id] = offset
    return id
  }

  private mutating func node(_ kind: CELExpr.Kind, at offset: Int) -> CELExpr {
    CELExpr(id: self.newID(at: offset), kind: kind)
  }

  private mutating func call(_ function: String, _ args: [CELExpr], at offset: Int) -> CELExpr {
    self.node(.call(function: function, target: nil, args: args), at: offset)
  }

  private mutating func enter() throws {
    self.depth += 1
    if self.depth > self.options.maxDepth {
      throw self.error("expression nesting exceeds the limit of \(self.options.maxDepth)")
    }
  }

  private mutating func leave() { self.depth -= 1 }

  // MARK: - Grammar

  private mutating func parseExpression() throws -> CELExpr {
    try self.enter()
    defer { self.leave() }
    let condition = try self.parseBinary(minimumPrecedence: 1)
    guard self.isPunctuation("?") else { return condition }
    let offset = self.token.offset
    self.advance()
    let whenTrue = try self.parseBinary(minimumPrecedence: 1)
    try self.expect(":")
    let whenFalse = try self.parseExpression()
    return self.call("_?_:_", [condition, whenTrue, whenFalse], at: offset)
  }

  private func binaryOperator() -> (function: String, precedence: Int)? {
    switch self.token.kind {
    case .punctuation("||"): return ("_||_", 1)
    case .punctuation("&&"): return ("_&&_", 2)
    case .punctuation("=="): return ("_==_", 3)
    case .punctuation("!="): return ("_!=_", 3)
    case .punctuation("<"): return ("_<_", 3)
    case .punctuation("<="): return ("_<=_", 3)
    case .punctuation(">"): return ("_>_", 3)
    case .punctuation(">="): return ("_>=_", 3)
    case .identifier("in"): return ("@in", 3)
    case .punctuation("+"): return ("_+_", 4)
    case .punctuation("-"): return ("_-_", 4)
    case .punctuation("*"): return ("_*_", 5)
    case .punctuation("/"): return ("_/_", 5)
    case .punctuation("%"): return ("_%_", 5)
    default: return nil
    }
  }

  /// Precedence climbing; `&&` and `||` chains are collected and built as balanced trees, as
  /// cel-go does, so that long chains stay shallow.
  private mutating func parseBinary(minimumPrecedence: Int) throws -> CELExpr {
    var left = try self.parseUnary()
    var chainDepth = 0
    while let (function, precedence) = self.binaryOperator(), precedence >= minimumPrecedence {
      let offset = self.token.offset
      self.advance()
      if function == "_||_" || function == "_&&_" {
        var operands = [left]
        var operatorOffsets = [offset]
        operands.append(try self.parseBinary(minimumPrecedence: precedence + 1))
        while let (next, _) = self.binaryOperator(), next == function {
          operatorOffsets.append(self.token.offset)
          self.advance()
          operands.append(try self.parseBinary(minimumPrecedence: precedence + 1))
        }
        left = self.balance(function, operands[...], operatorOffsets[...])
        continue
      }
      let right = try self.parseBinary(minimumPrecedence: precedence + 1)
      left = self.call(function, [left, right], at: offset)
      chainDepth += 1
      if self.depth + chainDepth > self.options.maxDepth {
        throw self.error(
          "expression nesting exceeds the limit of \(self.options.maxDepth)", at: offset)
      }
    }
    return left
  }

  private mutating func balance(
    _ function: String,
    _ operands: ArraySlice<CELExpr>,
    _ offsets: ArraySlice<Int>
  ) -> CELExpr {
    if operands.count == 1, let only = operands.first { return only }
    let middle = operands.startIndex + operands.count / 2
    let left = self.balance(
      function, operands[operands.startIndex..<middle], offsets[offsets.startIndex..<(middle - 1)])
    let right = self.balance(function, operands[middle...], offsets[middle...])
    return self.call(function, [left, right], at: offsets[middle - 1])
  }

  private mutating func parseUnary() throws -> CELExpr {
    if self.isPunctuation("!") || self.isPunctuation("-") {
      try self.enter()
      defer { self.leave() }
      let offset = self.token.offset
      let isNot = self.isPunctuation("!")
      self.advance()
      if !isNot, case .int(let magnitude, let overflow) = self.token.kind, !overflow {
        // A negative integer literal, so that -9223372036854775808 is in range.
        let literalOffset = self.token.offset
        if magnitude <= UInt64(Int64.max) + 1 {
          self.advance()
          let value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
          return try self.parseMemberSuffixes(self.node(.literal(.int(value)), at: literalOffset))
        }
      }
      let operand = try self.parseUnary()
      return self.call(isNot ? "!_" : "-_", [operand], at: offset)
    }
    return try self.parseMember()
  }

  private mutating func parseMember() throws -> CELExpr {
    let primary = try self.parsePrimary()
    return try self.parseMemberSuffixes(primary)
  }

  private mutating func parseMemberSuffixes(_ start: CELExpr) throws -> CELExpr {
    var expr = start
    var suffixes = 0
    while true {
      if self.isPunctuation(".") {
        let offset = self.token.offset
        self.advance()
        guard case .identifier(let name) = self.token.kind else {
          throw self.error(
            "expected a field or method name after '.' but found \(self.describe(self.token))")
        }
        let nameOffset = self.token.offset
        self.advance()
        if self.isPunctuation("(") {
          self.advance()
          let args = try self.parseList(closing: ")")
          expr = try self.makeCall(name, target: expr, args: args, at: nameOffset)
        } else {
          expr = self.node(.select(operand: expr, field: name, testOnly: false), at: offset)
        }
      } else if self.isPunctuation("[") {
        let offset = self.token.offset
        self.advance()
        let index = try self.parseExpression()
        try self.expect("]")
        expr = self.call("_[_]", [expr, index], at: offset)
      } else {
        return expr
      }
      suffixes += 1
      if self.depth + suffixes > self.options.maxDepth {
        throw self.error("expression nesting exceeds the limit of \(self.options.maxDepth)")
      }
    }
  }

  /// Comma-separated expressions up to `closing` (trailing comma allowed); consumes `closing`.
  private mutating func parseList(closing: String) throws -> [CELExpr] {
    try self.parseSeparated(closing: closing) { parser in try parser.parseExpression() }
  }

  /// Comma-separated items up to `closing` (trailing comma allowed); consumes `closing`. Lists,
  /// call arguments, map literals and object literals all read this way.
  private mutating func parseSeparated<Item>(
    closing: String,
    _ item: (inout CELParser) throws -> Item
  ) throws -> [Item] {
    var items: [Item] = []
    while !self.isPunctuation(closing) {
      items.append(try item(&self))
      if self.isPunctuation(",") {
        self.advance()
      } else if !self.isPunctuation(closing) {
        throw self.error("expected ',' or '\(closing)' but found \(self.describe(self.token))")
      }
    }
    self.advance()
    return items
  }

  private mutating func parsePrimary() throws -> CELExpr {
    try self.enter()
    defer { self.leave() }
    let offset = self.token.offset
    switch self.token.kind {
    case .int(let value, let overflow):
      guard !overflow, value <= UInt64(Int64.max) else {
        throw self.error("integer literal out of range (int64)")
      }
      self.advance()
      return self.node(.literal(.int(Int64(value))), at: offset)
    case .uint(let value, let overflow):
      guard !overflow else { throw self.error("integer literal out of range (uint64)") }
      self.advance()
      return self.node(.literal(.uint(value)), at: offset)
    case .double(let value):
      self.advance()
      return self.node(.literal(.double(value)), at: offset)
    case .string(let value):
      self.advance()
      return self.node(.literal(.string(value)), at: offset)
    case .bytes(let value):
      self.advance()
      return self.node(.literal(.bytes(value)), at: offset)
    case .punctuation("("):
      self.advance()
      let inner = try self.parseExpression()
      try self.expect(")")
      return inner
    case .punctuation("["):
      self.advance()
      let elements = try self.parseList(closing: "]")
      return self.node(.list(elements: elements), at: offset)
    case .punctuation("{"):
      self.advance()
      return try self.parseMapLiteral(at: offset)
    case .punctuation("."):
      self.advance()
      guard case .identifier(let name) = self.token.kind else {
        throw self.error("expected an identifier after a leading '.'")
      }
      return try self.parseIdentifier("." + name, at: offset)
    case .identifier(let name):
      return try self.parseIdentifier(name, at: offset)
    case .end:
      throw self.error("unexpected end of the expression")
    default:
      throw self.error("unexpected \(self.describe(self.token))")
    }
  }

  /// An identifier, a global call, or the qualified name of an object literal.
  private mutating func parseIdentifier(_ name: String, at offset: Int) throws -> CELExpr {
    let bare = name.hasPrefix(".") ? String(name.dropFirst()) : name
    switch bare {
    case "true", "false":
      guard !name.hasPrefix(".") else { throw self.error("unexpected '\(bare)' after '.'") }
      self.advance()
      return self.node(.literal(.bool(bare == "true")), at: offset)
    case "null":
      guard !name.hasPrefix(".") else { throw self.error("unexpected 'null' after '.'") }
      self.advance()
      return self.node(.literal(.null), at: offset)
    case "in":
      throw self.error("reserved word 'in' cannot be used as an identifier")
    default:
      if Self.reservedWords.contains(bare) {
        throw self.error("reserved word '\(bare)' cannot be used as an identifier")
      }
    }
    self.advance()
    if self.isPunctuation("(") {
      self.advance()
      let args = try self.parseList(closing: ")")
      return try self.makeCall(name, target: nil, args: args, at: offset)
    }
    // A qualified type name followed by '{' is an object literal: collect `a.b.C{`.
    if self.isPunctuation("{") {
      self.advance()
      return try self.parseObjectLiteral(typeName: name, at: offset)
    }
    var expr = self.node(.ident(name), at: offset)
    // `a.b.c{...}`: look ahead along a chain of selectors for an object literal.
    var qualified = name
    var chainLength = 0
    var checkpoint = (self.lexer, self.token, self.nextID, self.offsets)
    while self.isPunctuation(".") {
      let dotOffset = self.token.offset
      self.advance()
      guard case .identifier(let part) = self.token.kind else {
        throw self.error(
          "expected a field or method name after '.' but found \(self.describe(self.token))")
      }
      self.advance()
      if self.isPunctuation("(") || self.isPunctuation("[") {
        (self.lexer, self.token, self.nextID, self.offsets) = checkpoint
        return expr
      }
      qualified += "." + part
      if self.isPunctuation("{") {
        self.advance()
        return try self.parseObjectLiteral(typeName: qualified, at: offset)
      }
      expr = self.node(.select(operand: expr, field: part, testOnly: false), at: dotOffset)
      checkpoint = (self.lexer, self.token, self.nextID, self.offsets)
      chainLength += 1
      if self.depth + chainLength > self.options.maxDepth {
        throw self.error("expression nesting exceeds the limit of \(self.options.maxDepth)")
      }
    }
    return expr
  }

  private mutating func parseMapLiteral(at offset: Int) throws -> CELExpr {
    let entries = try self.parseSeparated(closing: "}") { parser -> CELExpr.MapEntry in
      let key = try parser.parseExpression()
      let colonOffset = parser.token.offset
      try parser.expect(":")
      let value = try parser.parseExpression()
      return CELExpr.MapEntry(id: parser.newID(at: colonOffset), key: key, value: value)
    }
    return self.node(.map(entries: entries), at: offset)
  }

  private mutating func parseObjectLiteral(typeName: String, at offset: Int) throws -> CELExpr {
    let fields = try self.parseSeparated(closing: "}") { parser -> CELExpr.FieldEntry in
      guard case .identifier(let field) = parser.token.kind else {
        throw parser.error("expected a field name but found \(parser.describe(parser.token))")
      }
      let fieldOffset = parser.token.offset
      parser.advance()
      try parser.expect(":")
      let value = try parser.parseExpression()
      return CELExpr.FieldEntry(id: parser.newID(at: fieldOffset), name: field, value: value)
    }
    return self.node(.object(typeName: typeName, fields: fields), at: offset)
  }

  // MARK: - Macros

  private mutating func makeCall(
    _ function: String,
    target: CELExpr?,
    args: [CELExpr],
    at offset: Int
  ) throws -> CELExpr {
    if self.options.enableMacros,
      let expanded = try self.expandMacro(function, target: target, args: args, at: offset)
    {
      return expanded
    }
    return self.node(.call(function: function, target: target, args: args), at: offset)
  }

  private func variableName(_ expr: CELExpr, macro: String) throws -> String {
    guard case .ident(let name) = expr.kind, !name.hasPrefix(".") else {
      throw self.source.issue(
        "\(macro)() variable names must be simple identifiers",
        at: self.offsets[expr.id] ?? 0
      )
    }
    return name
  }

  private mutating func expandMacro(
    _ function: String,
    target: CELExpr?,
    args: [CELExpr],
    at offset: Int
  ) throws -> CELExpr? {
    let accumulator = CELExpr.accumulatorName
    func accu(_ parser: inout CELParser) -> CELExpr { parser.node(.ident(accumulator), at: offset) }

    guard let target else {
      guard function == "has", args.count == 1 else { return nil }
      guard case .select(let operand, let field, false) = args[0].kind else {
        throw self.source.issue(
          "invalid argument to has() macro", at: self.offsets[args[0].id] ?? offset)
      }
      return self.node(.select(operand: operand, field: field, testOnly: true), at: offset)
    }

    if function == "bind", case .ident("cel") = target.kind, args.count == 3 {
      let name = try self.variableName(args[0], macro: "cel.bind")
      let empty = self.node(.list(elements: []), at: offset)
      let never = self.node(.literal(.bool(false)), at: offset)
      let result = args[2]
      let unusedStep = self.node(.ident(name), at: offset)
      return self.node(
        .comprehension(
          CELExpr.Comprehension(
            iterVar: "#unused", iterVar2: nil, iterRange: empty, accuVar: name, accuInit: args[1],
            loopCondition: never, loopStep: unusedStep, result: result
          )
        ),
        at: offset
      )
    }

    let twoVariable = args.count >= 3
    switch (function, args.count) {
    case ("all", 2), ("exists", 2), ("exists_one", 2), ("existsOne", 2),
      ("all", 3), ("exists", 3), ("exists_one", 3), ("existsOne", 3):
      let first = try self.variableName(args[0], macro: function)
      let second = twoVariable ? try self.variableName(args[1], macro: function) : nil
      if first == accumulator || second == accumulator {
        throw self.source.issue("iteration variable overwrites accumulator variable", at: offset)
      }
      let predicate = args[args.count - 1]
      let initial: CELExpr
      let condition: CELExpr
      let step: CELExpr
      let result: CELExpr
      switch function {
      case "all":
        initial = self.node(.literal(.bool(true)), at: offset)
        condition = self.call("@not_strictly_false", [accu(&self)], at: offset)
        step = self.call("_&&_", [accu(&self), predicate], at: offset)
        result = accu(&self)
      case "exists":
        initial = self.node(.literal(.bool(false)), at: offset)
        let negated = self.call("!_", [accu(&self)], at: offset)
        condition = self.call("@not_strictly_false", [negated], at: offset)
        step = self.call("_||_", [accu(&self), predicate], at: offset)
        result = accu(&self)
      default:
        initial = self.node(.literal(.int(0)), at: offset)
        condition = self.node(.literal(.bool(true)), at: offset)
        let one = self.node(.literal(.int(1)), at: offset)
        let increment = self.call("_+_", [accu(&self), one], at: offset)
        step = self.call("_?_:_", [predicate, increment, accu(&self)], at: offset)
        let oneAgain = self.node(.literal(.int(1)), at: offset)
        result = self.call("_==_", [accu(&self), oneAgain], at: offset)
      }
      return self.node(
        .comprehension(
          CELExpr.Comprehension(
            iterVar: first, iterVar2: second, iterRange: target, accuVar: accumulator,
            accuInit: initial, loopCondition: condition, loopStep: step, result: result
          )
        ),
        at: offset
      )

    case ("map", 2), ("map", 3), ("filter", 2), ("transformList", 3), ("transformList", 4):
      let transform = function == "transformList"
      let first = try self.variableName(args[0], macro: function)
      let second = transform ? try self.variableName(args[1], macro: function) : nil
      let base = transform ? 2 : 1
      let filter: CELExpr?
      let element: CELExpr
      if function == "filter" {
        filter = args[1]
        element = self.node(.ident(first), at: offset)
      } else if args.count == base + 2 {
        filter = args[base]
        element = args[base + 1]
      } else {
        filter = nil
        element = args[base]
      }
      let initial = self.node(.list(elements: []), at: offset)
      let condition = self.node(.literal(.bool(true)), at: offset)
      let single = self.node(.list(elements: [element]), at: offset)
      let appended = self.call("_+_", [accu(&self), single], at: offset)
      let step =
        filter.map { self.call("_?_:_", [$0, appended, accu(&self)], at: offset) } ?? appended
      return self.node(
        .comprehension(
          CELExpr.Comprehension(
            iterVar: first, iterVar2: second, iterRange: target, accuVar: accumulator,
            accuInit: initial, loopCondition: condition, loopStep: step, result: accu(&self)
          )
        ),
        at: offset
      )

    case ("transformMap", 3), ("transformMap", 4), ("transformMapEntry", 3),
      ("transformMapEntry", 4):
      let first = try self.variableName(args[0], macro: function)
      let second = try self.variableName(args[1], macro: function)
      let filter = args.count == 4 ? args[2] : nil
      let value = args[args.count - 1]
      let initial = self.node(.map(entries: []), at: offset)
      let condition = self.node(.literal(.bool(true)), at: offset)
      let insert: CELExpr
      if function == "transformMap" {
        let key = self.node(.ident(first), at: offset)
        insert = self.call("@map_insert", [accu(&self), key, value], at: offset)
      } else {
        insert = self.call("@map_insert", [accu(&self), value], at: offset)
      }
      let step = filter.map { self.call("_?_:_", [$0, insert, accu(&self)], at: offset) } ?? insert
      return self.node(
        .comprehension(
          CELExpr.Comprehension(
            iterVar: first, iterVar2: second, iterRange: target, accuVar: accumulator,
            accuInit: initial, loopCondition: condition, loopStep: step, result: accu(&self)
          )
        ),
        at: offset
      )
    default:
      return nil
    }
  }
}
