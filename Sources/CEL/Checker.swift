/// How the checker resolved a name.
enum Resolution: Sendable {
  /// A declared variable, by qualified name.
  case variable(String)
  /// A type name used as a value, e.g. `int` in `type(x) == int`.
  case type(CELTypeValue)
  /// A namespaced global function, e.g. `math.greatest` written as a call on `math`.
  case function(String)
}

/// The result of checking: the type of every node and the resolution of names.
public struct CheckedExpression: Sendable {
  /// The static type of each node, by id.
  public internal(set) var types: [Int: CELType] = [:]
  var resolutions: [Int: Resolution] = [:]

  /// The type of the whole expression.
  public internal(set) var resultType: CELType = .dyn
}

/// Checks a parsed expression against an environment: names, fields, and function overloads.
public struct CELChecker {
  private let environment: CELEnvironment
  private let parsed: ParsedExpression
  private var result = CheckedExpression()
  private var issues: [CELIssue] = []
  private var scopes: [[String: CELType]] = []

  /// Checks `parsed`; throws ``CELCompileError`` listing every problem.
  public static func check(_ parsed: ParsedExpression, in environment: CELEnvironment) throws
    -> CheckedExpression
  {
    var checker = CELChecker(environment: environment, parsed: parsed)
    let type = checker.check(parsed.expr)
    checker.result.resultType = type
    if !checker.issues.isEmpty {
      throw CELCompileError(
        issues: checker.issues.sorted { $0.location.offset < $1.location.offset })
    }
    return checker.result
  }

  private init(environment: CELEnvironment, parsed: ParsedExpression) {
    self.environment = environment
    self.parsed = parsed
  }

  private mutating func report(_ message: String, at id: Int) {
    self.issues.append(self.parsed.source.issue(message, at: self.parsed.offsets[id] ?? 0))
  }

  /// Whether a qualified name may name a global: not when its first part is a local variable
  /// (unless a leading dot asks for the global scope).
  private func isGlobalCandidate(_ name: String) -> Bool {
    if name.hasPrefix(".") { return true }
    let first = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
    return self.local(first) == nil
  }

  private func local(_ name: String) -> CELType? {
    guard !name.hasPrefix(".") else { return nil }
    for scope in self.scopes.reversed() {
      if let type = scope[name] { return type }
    }
    return nil
  }

  /// `a.b.c` for a chain of identifiers and field selections, or nil.
  static func qualifiedName(_ expr: CELExpr) -> String? {
    switch expr.kind {
    case .ident(let name): return name
    case .select(let operand, let field, false):
      return qualifiedName(operand).map { $0 + "." + field }
    default: return nil
    }
  }

  /// Resolves a (possibly qualified) name to a variable or type, honouring the container.
  func resolveGlobal(_ name: String) -> (Resolution, CELType)? {
    for candidate in self.environment.candidateNames(name) {
      if let variable = self.environment.variables[candidate] {
        return (.variable(candidate), variable.type)
      }
    }
    for candidate in self.environment.candidateNames(name) {
      if let type = self.environment.typeNamed(candidate),
        let runtime = type.runtimeType ?? (type == .dyn ? CELTypeValue("dyn") : nil)
      {
        return (.type(runtime), .type(type))
      }
    }
    return nil
  }

  private mutating func record(_ expr: CELExpr, _ type: CELType) -> CELType {
    self.result.types[expr.id] = type
    return type
  }

  mutating func check(_ expr: CELExpr) -> CELType {
    switch expr.kind {
    case .literal(let constant):
      let type: CELType
      switch constant {
      case .null: type = .null
      case .bool: type = .bool
      case .int: type = .int
      case .uint: type = .uint
      case .double: type = .double
      case .string: type = .string
      case .bytes: type = .bytes
      }
      return self.record(expr, type)

    case .ident(let name):
      if let type = self.local(name) { return self.record(expr, type) }
      if let (resolution, type) = self.resolveGlobal(name) {
        self.result.resolutions[expr.id] = resolution
        return self.record(expr, type)
      }
      let container = self.environment.container
      self.report(
        "undeclared reference to '\(name)' (in container '\(container)')\(self.suggestion(for: name))",
        at: expr.id)
      return self.record(expr, .error)

    case .select(let operand, let field, let testOnly):
      // A qualified variable name takes precedence over field selection, unless its first part
      // is a local variable.
      if !testOnly, let name = Self.qualifiedName(expr), self.isGlobalCandidate(name),
        let (resolution, type) = self.resolveGlobal(name)
      {
        self.result.resolutions[expr.id] = resolution
        return self.record(expr, type)
      }
      let operandType = self.check(operand)
      let fieldType = self.fieldType(of: operandType, field: field, at: expr.id)
      return self.record(expr, testOnly ? .bool : fieldType)

    case .list(let elements):
      var elementType: CELType? = nil
      for element in elements {
        let type = self.check(element)
        elementType = elementType.map { CELType.join($0, type) } ?? type
      }
      return self.record(expr, .list(elementType ?? .dyn))

    case .map(let entries):
      var keyType: CELType? = nil
      var valueType: CELType? = nil
      for entry in entries {
        let key = self.check(entry.key)
        switch key {
        case .bool, .int, .uint, .string, .dyn, .error: break
        default: self.report("unsupported map key type: \(key)", at: entry.key.id)
        }
        let value = self.check(entry.value)
        keyType = keyType.map { CELType.join($0, key) } ?? key
        valueType = valueType.map { CELType.join($0, value) } ?? value
      }
      return self.record(expr, .map(keyType ?? .dyn, valueType ?? .dyn))

    case .object(let typeName, let fields):
      let resolved = self.environment.candidateNames(typeName).first {
        self.environment.objectTypes[$0] != nil
      }
      guard let resolved, let objectType = self.environment.objectTypes[resolved] else {
        self.report(
          "undeclared reference to '\(typeName)' (in container '\(self.environment.container)')",
          at: expr.id)
        for field in fields { _ = self.check(field.value) }
        return self.record(expr, .error)
      }
      for field in fields {
        let valueType = self.check(field.value)
        guard let index = objectType.index(ofField: field.name) else {
          self.report("no field '\(field.name)' on \(objectType.name)", at: field.id)
          continue
        }
        var bindings: [String: CELType] = [:]
        let declared = objectType.fields[index].type
        if !declared.accepts(valueType, bindings: &bindings) && !(valueType == .null) {
          self.report(
            "field '\(field.name)' of \(objectType.name) is \(declared), not \(valueType)",
            at: field.id)
        }
      }
      return self.record(expr, .object(resolved))

    case .comprehension(let comprehension):
      return self.record(expr, self.checkComprehension(comprehension))

    case .call(let function, let target, let args):
      return self.record(expr, self.checkCall(expr, function: function, target: target, args: args))
    }
  }

  private mutating func checkComprehension(_ c: CELExpr.Comprehension) -> CELType {
    let rangeType = self.check(c.iterRange)
    var first: CELType = .dyn
    var second: CELType = .dyn
    switch rangeType {
    case .list(let element):
      if c.iterVar2 != nil {
        first = .int
        second = element
      } else {
        first = element
      }
    case .map(let key, let value):
      first = key
      second = value
    case .dyn, .error:
      break
    default:
      self.report(
        "expression of type '\(rangeType)' cannot be the range of a comprehension (must be list, map, or dynamic)",
        at: c.iterRange.id)
    }
    let initType = self.check(c.accuInit)
    var scope: [String: CELType] = [c.accuVar: initType, c.iterVar: first]
    if let second2 = c.iterVar2 { scope[second2] = second }
    self.scopes.append(scope)
    let conditionType = self.check(c.loopCondition)
    if !(conditionType == .bool || conditionType.isDynamic) {
      self.report("the loop condition must be bool, not \(conditionType)", at: c.loopCondition.id)
    }
    let stepType = self.check(c.loopStep)
    self.scopes.removeLast()
    var accumulatorType = CELType.join(initType, stepType)
    if case .list(.dyn) = initType, case .list = stepType { accumulatorType = stepType }
    if case .map(.dyn, .dyn) = initType, case .map = stepType { accumulatorType = stepType }
    self.scopes.append([c.accuVar: accumulatorType])
    let resultType = self.check(c.result)
    self.scopes.removeLast()
    return resultType
  }

  private mutating func checkCall(
    _ expr: CELExpr, function: String, target: CELExpr?, args: [CELExpr]
  ) -> CELType {
    switch function {
    case "_&&_", "_||_":
      for arg in args {
        let type = self.check(arg)
        if !(type == .bool || type.isDynamic) {
          self.report(
            "found no matching overload for '\(function)' applied to a \(type) operand (expected bool)",
            at: arg.id)
        }
      }
      return .bool
    case "_?_:_" where args.count == 3:
      let condition = self.check(args[0])
      if !(condition == .bool || condition.isDynamic) {
        self.report("the condition of '? :' must be bool, not \(condition)", at: args[0].id)
      }
      return CELType.join(self.check(args[1]), self.check(args[2]))
    case "@not_strictly_false":
      for arg in args { _ = self.check(arg) }
      return .bool
    case "@map_insert":
      let types = args.map { self.check($0) }
      if types.count == 3, case .map = types[0] { return .map(types[1], types[2]) }
      return .map(.dyn, .dyn)
    default:
      break
    }

    // A call on a namespace, `math.greatest(...)`, is a call of the qualified global function.
    if let target, let namespace = Self.qualifiedName(target),
      self.isGlobalCandidate(namespace),
      self.resolveGlobal(namespace).map({
        if case .variable = $0.0 { return false } else { return true }
      }) ?? true
    {
      let qualified = self.environment.candidateNames(namespace + "." + function).first {
        self.environment.hasFunction($0)
      }
      if let qualified {
        self.result.resolutions[expr.id] = .function(qualified)
        let argTypes = args.map { self.check($0) }
        return self.resolveOverload(qualified, member: false, argTypes: argTypes, at: expr.id)
      }
    }

    var argTypes: [CELType] = []
    if let target { argTypes.append(self.check(target)) }
    for arg in args { argTypes.append(self.check(arg)) }
    guard self.environment.hasFunction(function) else {
      self.report(
        "undeclared reference to '\(function)' (in container '\(self.environment.container)')",
        at: expr.id)
      return .error
    }
    return self.resolveOverload(function, member: target != nil, argTypes: argTypes, at: expr.id)
  }

  private mutating func resolveOverload(
    _ function: String, member: Bool, argTypes: [CELType], at id: Int
  ) -> CELType {
    let candidates = (self.environment.signatures[function] ?? []).filter {
      $0.isMember == member && $0.parameters.count == argTypes.count
    }
    var results: [CELType] = []
    for overload in candidates {
      var bindings: [String: CELType] = [:]
      var matches = true
      for (parameter, argument) in zip(overload.parameters, argTypes)
      where !parameter.accepts(argument, bindings: &bindings) {
        matches = false
        break
      }
      if matches { results.append(overload.result.substituting(bindings)) }
    }
    if results.isEmpty {
      if argTypes.contains(.error) { return .error }
      let shown = argTypes.map(\.description).joined(separator: ", ")
      self.report("found no matching overload for '\(function)' applied to '(\(shown))'", at: id)
      return .error
    }
    return results.dropFirst().reduce(results[0]) { $0 == $1 ? $0 : .dyn }
  }

  private mutating func fieldType(of type: CELType, field: String, at id: Int) -> CELType {
    switch type {
    case .object(let name):
      guard let objectType = self.environment.objectTypes[name] else { return .dyn }
      guard let index = objectType.index(ofField: field) else {
        let short = name.split(separator: ".").last.map(String.init) ?? name
        let hint = Self.closest(to: field, among: objectType.fields.map(\.name))
        self.report(
          "no field '\(field)' on \(short)\(hint.map { "; did you mean '\($0)'?" } ?? "")", at: id)
        return .error
      }
      return objectType.fields[index].type
    case .map(let key, let value):
      if !(key == .string || key.isDynamic) {
        self.report(
          "type '\(type)' does not support field selection (its keys are not strings)", at: id)
      }
      return value
    case .dyn, .error:
      return .dyn
    default:
      self.report("type '\(type)' does not support field selection", at: id)
      return .error
    }
  }

  private func suggestion(for name: String) -> String {
    let candidates = Array(self.environment.variables.keys) + self.scopes.flatMap(\.keys)
    return Self.closest(to: name, among: candidates).map { "; did you mean '\($0)'?" } ?? ""
  }

  /// The candidate nearest to `word` in edit distance, when it is near enough to be a typo.
  public static func closest(to word: String, among candidates: [String]) -> String? {
    let limit = max(1, min(3, word.count / 3))
    var best: (String, Int)? = nil
    for candidate in candidates where !candidate.hasPrefix("@") {
      let distance = editDistance(word, candidate)
      if distance <= limit, best.map({ distance < $0.1 }) ?? true { best = (candidate, distance) }
    }
    return best?.0
  }

  /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
  /// neighbours each count one, so `knid` is one away from `kind`.
  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.lowercased())
    let b = Array(b.lowercased())
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
      for j in 1...b.count {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
          d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
        }
      }
    }
    return d[a.count][b.count]
  }

}
