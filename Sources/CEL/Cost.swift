/// The static upper bound of an expression's evaluation cost, in the units the runtime
/// budget counts: one per function call and per comprehension iteration, plus one per 100
/// characters or elements that string and list functions scan.
public struct CELCostEstimate: Sendable, Hashable {
  /// The largest cost any evaluation can spend, saturating at `Int.max`.
  public var maximum: Int
}

/// Computes ``CELCostEstimate``s. Sizes of variables and fields come from
/// ``CELEnvironment/sizeHints`` (e.g. `proposal.participants: 1000`); without a hint a list or
/// map is assumed to hold at most ``defaultSize`` elements and a string ``defaultStringSize``
/// characters.
enum CELCostEstimator {
  static let defaultSize = 1000
  static let defaultStringSize = 100_000

  struct Estimate {
    var cost: Int
    /// Largest size of the value (elements, or characters for strings), when it is a container.
    var size: Int
  }

  static func add(_ values: Int...) -> Int {
    var total = 0
    for value in values {
      let (sum, overflow) = total.addingReportingOverflow(value)
      total = overflow ? Int.max : sum
    }
    return total
  }

  static func multiply(_ a: Int, _ b: Int) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : product
  }

  static func estimate(
    _ parsed: ParsedExpression, checked: CheckedExpression?, in environment: CELEnvironment
  ) -> CELCostEstimate {
    var locals: [String: Int] = [:]
    let result = self.estimate(
      parsed.expr, checked: checked, environment: environment, locals: &locals)
    return CELCostEstimate(maximum: result.cost)
  }

  private static func defaultSize(for type: CELType?) -> Int {
    switch type {
    case .string?, .bytes?: return defaultStringSize
    default: return defaultSize
    }
  }

  private static func estimate(
    _ expr: CELExpr, checked: CheckedExpression?, environment: CELEnvironment,
    locals: inout [String: Int]
  ) -> Estimate {
    let type = checked?.types[expr.id]
    switch expr.kind {
    case .literal(let constant):
      switch constant {
      case .string(let s): return Estimate(cost: 0, size: s.unicodeScalars.count)
      case .bytes(let b): return Estimate(cost: 0, size: b.count)
      default: return Estimate(cost: 0, size: 1)
      }
    case .ident(let name):
      if let size = locals[name] { return Estimate(cost: 1, size: size) }
      return Estimate(cost: 1, size: environment.sizeHints[name] ?? defaultSize(for: type))
    case .select(let operand, _, _):
      let inner = estimate(operand, checked: checked, environment: environment, locals: &locals)
      let path = CELChecker.qualifiedName(expr)
      let hinted = path.flatMap { environment.sizeHints[$0] } ?? hintBySuffix(expr, environment)
      return Estimate(cost: add(inner.cost, 1), size: hinted ?? defaultSize(for: type))
    case .list(let elements):
      let parts = elements.map {
        estimate($0, checked: checked, environment: environment, locals: &locals)
      }
      return Estimate(
        cost: add(parts.reduce(0) { add($0, $1.cost) }, elements.count), size: elements.count)
    case .map(let entries):
      var cost = entries.count
      for entry in entries {
        cost = add(
          cost,
          estimate(entry.key, checked: checked, environment: environment, locals: &locals).cost)
        cost = add(
          cost,
          estimate(entry.value, checked: checked, environment: environment, locals: &locals).cost)
      }
      return Estimate(cost: cost, size: entries.count)
    case .object(_, let fields):
      var cost = 1
      for field in fields {
        cost = add(
          cost,
          estimate(field.value, checked: checked, environment: environment, locals: &locals).cost)
      }
      return Estimate(cost: cost, size: 1)
    case .call(let function, let target, let args):
      var parts: [Estimate] = []
      if let target {
        parts.append(estimate(target, checked: checked, environment: environment, locals: &locals))
      }
      for arg in args {
        parts.append(estimate(arg, checked: checked, environment: environment, locals: &locals))
      }
      var cost = parts.reduce(1) { add($0, $1.cost) }
      var size = 1
      switch function {
      case "_+_":
        size = add(parts.first?.size ?? 1, parts.last?.size ?? 1)
        cost = add(cost, size / 100)
      case "contains", "startsWith", "endsWith", "indexOf", "lastIndexOf", "split", "replace",
        "join", "trim",
        "lowerAscii", "upperAscii", "reverse", "substring", "charAt", "format", "@in", "_==_",
        "_!=_", "size":
        let scanned = parts.reduce(0) { add($0, $1.size) }
        cost = add(cost, scanned / 100)
        size = parts.first?.size ?? 1
      case "matches":
        // Linear-time matching: input length × pattern length.
        let text = parts.first?.size ?? defaultStringSize
        let pattern = parts.count > 1 ? parts[1].size : 1
        cost = add(cost, multiply(text, max(1, pattern)) / 100)
      default:
        size = parts.first?.size ?? 1
      }
      return Estimate(cost: cost, size: size)
    case .comprehension(let c):
      let range = estimate(c.iterRange, checked: checked, environment: environment, locals: &locals)
      let initial = estimate(
        c.accuInit, checked: checked, environment: environment, locals: &locals)
      let saved = locals
      let elementSize = range.size
      locals[c.iterVar] = elementSize
      if let second = c.iterVar2 { locals[second] = elementSize }
      locals[c.accuVar] = multiply(range.size, 1)
      let condition = estimate(
        c.loopCondition, checked: checked, environment: environment, locals: &locals)
      let step = estimate(c.loopStep, checked: checked, environment: environment, locals: &locals)
      let result = estimate(c.result, checked: checked, environment: environment, locals: &locals)
      locals = saved
      let perIteration = add(1, condition.cost, step.cost)
      let cost = add(range.cost, initial.cost, multiply(range.size, perIteration), result.cost)
      return Estimate(cost: cost, size: range.size)
    }
  }

  /// A hint given for a field path whose root is a comprehension variable: `participants`
  /// of any `x.participants`, looked up as `*.participants`.
  private static func hintBySuffix(_ expr: CELExpr, _ environment: CELEnvironment) -> Int? {
    guard case .select(_, let field, _) = expr.kind else { return nil }
    return environment.sizeHints["*." + field]
  }
}
