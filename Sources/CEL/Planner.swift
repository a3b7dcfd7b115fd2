/// Turns a parsed (and usually checked) expression into a tree of closures, resolving every
/// name, field and function once. Evaluation never looks at the AST again.
struct CELPlanner {
  private let environment: CELEnvironment
  private let parsed: ParsedExpression
  private let checked: CheckedExpression?
  private var scopes: [[String: Int]] = []
  private var slotCount: Int

  static func plan(
    _ parsed: ParsedExpression, checked: CheckedExpression?, in environment: CELEnvironment
  ) throws -> CELProgram {
    var planner = CELPlanner(environment: environment, parsed: parsed, checked: checked)
    let root = try planner.plan(parsed.expr)
    let estimate = CELCostEstimator.estimate(parsed, checked: checked, in: environment)
    return CELProgram(
      root: root,
      slotCount: planner.slotCount,
      environment: environment,
      resultType: checked?.resultType ?? .dyn,
      costEstimate: estimate,
      parsed: parsed
    )
  }

  private init(environment: CELEnvironment, parsed: ParsedExpression, checked: CheckedExpression?) {
    self.environment = environment
    self.parsed = parsed
    self.checked = checked
    self.slotCount = 0
  }

  /// Whether a qualified name may name a global: not when its first part is a local variable
  /// (unless a leading dot asks for the global scope).
  private func isGlobalCandidate(_ name: String) -> Bool {
    if name.hasPrefix(".") { return true }
    let first = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
    return self.local(first) == nil
  }

  private func local(_ name: String) -> Int? {
    guard !name.hasPrefix(".") else { return nil }
    for scope in self.scopes.reversed() {
      if let slot = scope[name] { return slot }
    }
    return nil
  }

  private mutating func newSlot() -> Int {
    defer { self.slotCount += 1 }
    return self.slotCount
  }

  private func staticType(_ expr: CELExpr) -> CELType { self.checked?.types[expr.id] ?? .dyn }

  /// Resolves a global name without the checker's help.
  private func resolveGlobal(_ name: String) -> Resolution? {
    if let resolution = self.checkedResolution(name) { return resolution }
    for candidate in self.environment.candidateNames(name)
    where self.environment.variables[candidate] != nil {
      return .variable(candidate)
    }
    for candidate in self.environment.candidateNames(name) {
      if let type = self.environment.typeNamed(candidate) {
        return .type(type.runtimeType ?? CELTypeValue("dyn"))
      }
    }
    return nil
  }

  private func checkedResolution(_ name: String) -> Resolution? { nil }

  mutating func plan(_ expr: CELExpr) throws -> Eval {
    switch expr.kind {
    case .literal(let constant):
      let value = Self.value(of: constant)
      return { _ in value }

    case .ident(let name):
      if let slot = self.local(name) { return { $0.slots[slot] } }
      let resolution = self.checked?.resolutions[expr.id] ?? self.resolveGlobal(name)
      return self.planResolution(resolution, name: name)

    case .select(let operand, let field, let testOnly):
      if !testOnly {
        if let resolution = self.checked?.resolutions[expr.id] {
          return self.planResolution(resolution, name: CELChecker.qualifiedName(expr) ?? field)
        }
        if self.checked == nil, let name = CELChecker.qualifiedName(expr),
          self.isGlobalCandidate(name),
          let resolution = self.resolveGlobal(name)
        {
          return self.planResolution(resolution, name: name)
        }
      }
      let operandEval = try self.plan(operand)
      return self.planSelect(
        operandEval, field: field, testOnly: testOnly, operandType: self.staticType(operand))

    case .list(let elements):
      let evals = try elements.map { try self.plan($0) }
      if evals.isEmpty { return { _ in .list([]) } }
      return { frame in
        var values: [CELValue] = []
        values.reserveCapacity(evals.count)
        for eval in evals {
          let value = eval(frame)
          if value.isError { return value }
          values.append(value)
        }
        return .list(values)
      }

    case .map(let entries):
      let evals = try entries.map { (try self.plan($0.key), try self.plan($0.value)) }
      return { frame in
        var map = CELMap()
        for (keyEval, valueEval) in evals {
          let key = keyEval(frame)
          if key.isError { return key }
          let value = valueEval(frame)
          if value.isError { return value }
          guard CELMapKey(key) != nil else {
            return .error(CELError("unsupported key type: \(key.typeValue)"))
          }
          if !map.insert(key: key, value: value) {
            return .error(CELError("Failed with repeated key: \(Formatting.display(key))"))
          }
        }
        return .map(map)
      }

    case .object(let typeName, let fields):
      for field in fields { _ = try self.plan(field.value) }
      let message =
        "cannot construct a value of type '\(typeName)': object construction is not supported"
      return { _ in .error(CELError(message)) }

    case .comprehension(let comprehension):
      return try self.planComprehension(comprehension)

    case .call(let function, let target, let args):
      return try self.planCall(expr, function: function, target: target, args: args)
    }
  }

  private func planResolution(_ resolution: Resolution?, name: String) -> Eval {
    switch resolution {
    case .variable(let qualified)?:
      guard let slot = self.environment.variables[qualified]?.slot else { break }
      return { $0.variables[slot] }
    case .type(let type)?:
      let value = CELValue.type(type)
      return { _ in value }
    case .function?, nil:
      break
    }
    let message = "undeclared reference to '\(name)' (in container '\(self.environment.container)')"
    return { _ in .error(CELError(message)) }
  }

  private func planSelect(
    _ operand: @escaping Eval, field: String, testOnly: Bool, operandType: CELType
  ) -> Eval {
    // A field of a declared object type: resolved to its position now.
    if case .object(let typeName) = operandType,
      let objectType = self.environment.objectTypes[typeName],
      let index = objectType.index(ofField: field)
    {
      if testOnly {
        return { frame in
          let value = operand(frame)
          if case .object(let object) = value, object.objectType === objectType {
            return .bool(object.hasValue(ofField: index))
          }
          return Self.selectDynamic(value, field: field, testOnly: true)
        }
      }
      return { frame in
        let value = operand(frame)
        if case .object(let object) = value, object.objectType === objectType {
          return object.value(ofField: index)
        }
        return Self.selectDynamic(value, field: field, testOnly: false)
      }
    }
    return { frame in Self.selectDynamic(operand(frame), field: field, testOnly: testOnly) }
  }

  static func selectDynamic(_ value: CELValue, field: String, testOnly: Bool) -> CELValue {
    switch value {
    case .map(let map):
      if testOnly { return .bool(map[field] != nil) }
      return map[field] ?? .error(CELError("no such key: \(field)"))
    case .object(let object):
      guard let index = object.objectType.index(ofField: field) else {
        return .error(CELError("no such field '\(field)' on \(object.objectType.name)"))
      }
      return testOnly ? .bool(object.hasValue(ofField: index)) : object.value(ofField: index)
    case .error:
      return value
    default:
      return .error(CELError("type '\(value.typeValue)' does not support field selection"))
    }
  }

  // MARK: - Calls

  private mutating func planCall(
    _ expr: CELExpr, function: String, target: CELExpr?, args: [CELExpr]
  ) throws -> Eval {
    switch function {
    case "_&&_" where args.count == 2, "_||_" where args.count == 2:
      // Commutative and error-absorbing: the decisive value (false for &&, true for ||) on
      // either side decides, even when the other side is an error.
      let decisive = function == "_||_"
      let left = try self.plan(args[0])
      let right = try self.plan(args[1])
      return { frame in
        let a = left(frame)
        if case .bool(let value) = a, value == decisive { return a }
        let b = right(frame)
        if case .bool(let value) = b, value == decisive { return b }
        if case .bool = a, case .bool = b { return a }
        if a.isError { return a }
        if b.isError { return b }
        return CELValue.noSuchOverload(function, a, b)
      }
    case "_?_:_" where args.count == 3:
      let condition = try self.plan(args[0])
      let whenTrue = try self.plan(args[1])
      let whenFalse = try self.plan(args[2])
      return { frame in
        switch condition(frame) {
        case .bool(true): return whenTrue(frame)
        case .bool(false): return whenFalse(frame)
        case .error(let error): return .error(error)
        case let other: return CELValue.noSuchOverload("_?_:_", other)
        }
      }
    case "@not_strictly_false" where args.count == 1:
      let operand = try self.plan(args[0])
      return { frame in
        if case .bool(false) = operand(frame) { return .bool(false) }
        return .bool(true)
      }
    case "@map_insert":
      let evals = try args.map { try self.plan($0) }
      return { frame in
        let values = evals.map { $0(frame) }
        for value in values where value.isError { return value }
        guard case .map(var map) = values[0] else {
          return CELValue.noSuchOverload("@map_insert", values[0])
        }
        if values.count == 3 {
          if !map.insert(key: values[1], value: values[2]) {
            return .error(CELError("Failed with repeated key: \(Formatting.display(values[1]))"))
          }
        } else if case .map(let entry) = values[1] {
          for (key, value) in entry.entries where !map.insert(key: key, value: value) {
            return .error(CELError("Failed with repeated key: \(Formatting.display(key))"))
          }
        }
        return .map(map)
      }
    default:
      break
    }

    // A namespaced global function: `math.greatest(1, 2)`.
    var name = function
    var receiver = target
    if case .function(let qualified)? = self.checked?.resolutions[expr.id] {
      name = qualified
      receiver = nil
    } else if self.checked == nil, let target, let namespace = CELChecker.qualifiedName(target),
      self.isGlobalCandidate(namespace)
    {
      let isVariable: Bool
      if case .variable? = self.resolveGlobal(namespace) {
        isVariable = true
      } else {
        isVariable = false
      }
      if !isVariable,
        let qualified = self.environment.candidateNames(namespace + "." + function).first(where: {
          self.environment.hasFunction($0)
        })
      {
        name = qualified
        receiver = nil
      }
    }

    if receiver == nil, args.count == 2,
      let specialised = try self.planComparisonWithLiteral(name, args)
    {
      return specialised
    }
    if name == "matches", let regexPlan = try self.planLiteralRegex(receiver: receiver, args: args)
    {
      return regexPlan
    }

    var planned: [Eval] = []
    if let receiver { planned.append(try self.plan(receiver)) }
    for arg in args { planned.append(try self.plan(arg)) }
    let evals = planned
    guard
      let implementation = self.environment.implementation(
        name, member: receiver != nil, arity: evals.count)
    else {
      let message: String
      if self.environment.hasFunction(name) {
        message = "no such overload: \(name) with \(evals.count) argument(s)"
      } else {
        message = "undeclared reference to '\(name)' (in container '\(self.environment.container)')"
      }
      return { frame in
        for eval in evals {
          let value = eval(frame)
          if value.isError { return value }
        }
        return .error(CELError(message))
      }
    }
    switch (implementation, evals.count) {
    case (.unary(let body), 1):
      let a = evals[0]
      return { frame in
        frame.cost &+= 1
        let x = a(frame)
        if x.isError { return x }
        return body(x)
      }
    case (.binary(let body), 2):
      let a = evals[0]
      let b = evals[1]
      return { frame in
        frame.cost &+= 1
        let x = a(frame)
        if x.isError { return x }
        let y = b(frame)
        if y.isError { return y }
        return body(x, y)
      }
    case (.ternary(let body), 3):
      let a = evals[0]
      let b = evals[1]
      let c = evals[2]
      return { frame in
        frame.cost &+= 1
        let x = a(frame)
        if x.isError { return x }
        let y = b(frame)
        if y.isError { return y }
        let z = c(frame)
        if z.isError { return z }
        return body(x, y, z)
      }
    case (.variadic(let body), _):
      return { frame in
        frame.cost &+= 1
        var values: [CELValue] = []
        values.reserveCapacity(evals.count)
        for eval in evals {
          let value = eval(frame)
          if value.isError { return value }
          values.append(value)
        }
        return body(values)
      }
    default:
      let message = "no such overload: \(name) with \(evals.count) argument(s)"
      return { _ in .error(CELError(message)) }
    }
  }

  /// `x == 'literal'`, `x != 3`, `x > 1000`: a comparison with a constant, done without the
  /// generic dispatch when the value has the constant's type.
  private mutating func planComparisonWithLiteral(_ name: String, _ args: [CELExpr]) throws -> Eval?
  {
    guard ["_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_"].contains(name) else { return nil }
    let constant: CELConstant
    let other: CELExpr
    let flipped: Bool
    if case .literal(let c) = args[1].kind {
      (constant, other, flipped) = (c, args[0], false)
    } else if case .literal(let c) = args[0].kind {
      (constant, other, flipped) = (c, args[1], true)
    } else {
      return nil
    }
    guard let generic = self.environment.implementation(name, member: false, arity: 2),
      case .binary(let fallback) = generic
    else { return nil }
    let operand = try self.plan(other)
    let literal = Self.value(of: constant)
    let test: @Sendable (Operators.Ordering) -> Bool
    switch (name, flipped) {
    case ("_==_", _): test = { $0 == .equal }
    case ("_!=_", _): test = { $0 != .equal }
    case ("_<_", false), ("_>_", true): test = { $0 == .less }
    case ("_<=_", false), ("_>=_", true): test = { $0 == .less || $0 == .equal }
    case ("_>_", false), ("_<_", true): test = { $0 == .greater }
    default: test = { $0 == .greater || $0 == .equal }
    }
    let isEquality = name == "_==_" || name == "_!=_"
    switch constant {
    case .string(let text):
      return { frame in
        frame.cost &+= 1
        let value = operand(frame)
        if case .string(let s) = value {
          if isEquality { return .bool(TextSearch.sameScalars(s, text) == (name == "_==_")) }
          return .bool(test(Operators.compare(value, literal) ?? .unordered))
        }
        if value.isError { return value }
        return flipped ? fallback(literal, value) : fallback(value, literal)
      }
    case .int(let number):
      return { frame in
        frame.cost &+= 1
        let value = operand(frame)
        if case .int(let i) = value {
          return .bool(test(i < number ? .less : i > number ? .greater : .equal))
        }
        if value.isError { return value }
        return flipped ? fallback(literal, value) : fallback(value, literal)
      }
    default:
      return { frame in
        frame.cost &+= 1
        let value = operand(frame)
        if value.isError { return value }
        return flipped ? fallback(literal, value) : fallback(value, literal)
      }
    }
  }

  /// `text.matches('literal')`: the pattern is compiled once, here, and a bad pattern is a
  /// compile error at its position.
  private mutating func planLiteralRegex(receiver: CELExpr?, args: [CELExpr]) throws -> Eval? {
    let operands = (receiver.map { [$0] } ?? []) + args
    guard operands.count == 2, case .literal(.string(let pattern)) = operands[1].kind else {
      return nil
    }
    let regex: RE2Regex
    do {
      regex = try RE2Regex(pattern)
    } catch {
      throw CELCompileError(issues: [
        self.parsed.source.issue(error.message, at: self.parsed.offsets[operands[1].id] ?? 0)
      ])
    }
    let text = try self.plan(operands[0])
    return { frame in
      frame.cost &+= 1
      let value = text(frame)
      guard case .string(let s) = value else {
        return value.isError ? value : CELValue.noSuchOverload("matches", value, .string(pattern))
      }
      frame.cost &+= s.utf8.count / 100
      return .bool(regex.matches(s))
    }
  }

  // MARK: - Comprehensions

  private mutating func planComprehension(_ c: CELExpr.Comprehension) throws -> Eval {
    let range = try self.plan(c.iterRange)
    let accumulatorInit = try self.plan(c.accuInit)
    let accumulator = self.newSlot()
    let first = self.newSlot()
    let second = c.iterVar2 != nil ? self.newSlot() : nil
    var scope = [c.accuVar: accumulator, c.iterVar: first]
    if let name = c.iterVar2, let second { scope[name] = second }
    self.scopes.append(scope)
    defer { self.scopes.removeLast() }

    // The macros' shapes get loops of their own: exists/all stop at the first decisive
    // element, and map/filter append in place instead of concatenating lists.
    let shape = Self.shape(of: c)
    let condition = try self.plan(c.loopCondition)
    let step: Eval
    var predicate: Eval? = nil
    var appendFilter: Eval? = nil
    var appendElement: Eval? = nil
    switch shape {
    case .exists(let p), .all(let p):
      predicate = try self.plan(p)
      step = { _ in .null }
    case .append(let filter, let element):
      appendFilter = try filter.map { try self.plan($0) }
      appendElement = try self.plan(element)
      step = { _ in .null }
    case .general:
      step = try self.plan(c.loopStep)
    }
    self.scopes.append([c.accuVar: accumulator])
    let result = try self.plan(c.result)
    self.scopes.removeLast()
    let twoVariables = second != nil
    let secondSlot = second ?? first

    switch shape {
    case .exists, .all:
      // exists stops at the first true, all at the first false (the decisive value); errors
      // and non-bool results only decide when no element is decisive, as `||`/`&&` absorb them.
      let predicate = predicate ?? { _ in .null }
      let decisive: Bool
      if case .exists = shape { decisive = true } else { decisive = false }
      let combiner = decisive ? "_||_" : "_&&_"
      return { frame in
        let rangeValue = range(frame)
        var sawError: CELValue? = nil
        var decided = false
        if let failure = Self.iterate(
          frame, rangeValue, first: first, second: secondSlot, twoVariables: twoVariables,
          { frame in
            switch predicate(frame) {
            case .bool(let value) where value == decisive:
              decided = true
              return false
            case .bool: return true
            case .error(let error):
              sawError = sawError ?? .error(error)
              return true
            case let other:
              sawError = sawError ?? CELValue.noSuchOverload(combiner, .bool(!decisive), other)
              return true
            }
          })
        {
          return failure
        }
        if decided { return .bool(decisive) }
        return sawError ?? .bool(!decisive)
      }
    case .append:
      let element = appendElement ?? { _ in .null }
      let filter = appendFilter
      return { frame in
        let rangeValue = range(frame)
        var output: [CELValue] = []
        var error: CELValue? = nil
        if let failure = Self.iterate(
          frame, rangeValue, first: first, second: secondSlot, twoVariables: twoVariables,
          { frame in
            if let filter {
              switch filter(frame) {
              case .bool(true): break
              case .bool(false): return true
              case .error(let e):
                error = .error(e)
                return false
              case let other:
                error = CELValue.noSuchOverload("_?_:_", other)
                return false
              }
            }
            let value = element(frame)
            if value.isError {
              error = value
              return false
            }
            output.append(value)
            return true
          })
        {
          return failure
        }
        return error ?? .list(output)
      }
    case .general:
      return { frame in
        let rangeValue = range(frame)
        if rangeValue.isError { return rangeValue }
        frame.slots[accumulator] = accumulatorInit(frame)
        if let failure = Self.iterate(
          frame, rangeValue, first: first, second: secondSlot, twoVariables: twoVariables,
          { frame in
            guard case .bool(true) = condition(frame) else { return false }
            frame.slots[accumulator] = step(frame)
            return true
          })
        {
          return failure
        }
        return result(frame)
      }
    }
  }

  /// Calls `body` with each element of a list (or key of a map) bound to the iteration
  /// variables; stops when it returns false. Returns an error value when the range is not
  /// iterable or the budget is spent.
  @inline(__always)
  private static func iterate(
    _ frame: Frame,
    _ rangeValue: CELValue,
    first: Int,
    second: Int,
    twoVariables: Bool,
    _ body: (Frame) -> Bool
  ) -> CELValue? {
    switch rangeValue {
    case .list(let elements):
      for (index, element) in elements.enumerated() {
        frame.cost &+= 1
        if frame.isOverBudget { return .error(CELError.budgetExceeded(frame.budget)) }
        if twoVariables {
          frame.slots[first] = .int(Int64(index))
          frame.slots[second] = element
        } else {
          frame.slots[first] = element
        }
        if !body(frame) { break }
      }
    case .map(let map):
      for (key, value) in map.entries {
        frame.cost &+= 1
        if frame.isOverBudget { return .error(CELError.budgetExceeded(frame.budget)) }
        frame.slots[first] = key
        if twoVariables { frame.slots[second] = value }
        if !body(frame) { break }
      }
    case .error:
      return rangeValue
    default:
      return .error(
        CELError(
          "expression of type '\(rangeValue.typeValue)' cannot be the range of a comprehension"))
    }
    return nil
  }

  private enum Shape {
    case exists(CELExpr)
    case all(CELExpr)
    case append(filter: CELExpr?, element: CELExpr)
    case general
  }

  /// Recognises the expansions of `exists`, `all`, `map`, `filter` and `transformList`.
  private static func shape(of c: CELExpr.Comprehension) -> Shape {
    func isAccumulator(_ e: CELExpr) -> Bool {
      if case .ident(let name) = e.kind { return name == c.accuVar }
      return false
    }
    guard c.result.isIdent(c.accuVar) else { return .general }
    switch (c.accuInit.kind, c.loopStep.kind) {
    case (.literal(.bool(false)), .call("_||_", nil, let args))
    where args.count == 2 && isAccumulator(args[0]):
      return .exists(args[1])
    case (.literal(.bool(true)), .call("_&&_", nil, let args))
    where args.count == 2 && isAccumulator(args[0]):
      return .all(args[1])
    case (.list(let initial), .call("_+_", nil, let args)) where initial.isEmpty && args.count == 2:
      if isAccumulator(args[0]), case .list(let single) = args[1].kind, single.count == 1 {
        return .append(filter: nil, element: single[0])
      }
    case (.list(let initial), .call("_?_:_", nil, let args))
    where initial.isEmpty && args.count == 3:
      if isAccumulator(args[2]), case .call("_+_", nil, let inner) = args[1].kind, inner.count == 2,
        isAccumulator(inner[0]), case .list(let single) = inner[1].kind, single.count == 1
      {
        return .append(filter: args[0], element: single[0])
      }
    default:
      break
    }
    return .general
  }

  static func value(of constant: CELConstant) -> CELValue {
    switch constant {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .int(let i): return .int(i)
    case .uint(let u): return .uint(u)
    case .double(let d): return .double(d)
    case .string(let s): return .string(s)
    case .bytes(let b): return .bytes(b)
    }
  }
}

extension CELExpr {
  func isIdent(_ name: String) -> Bool {
    if case .ident(let n) = self.kind { return n == name }
    return false
  }
}
