/// The state of one evaluation: the activation's variables (shared, never copied), the
/// comprehension variables, and the cost spent so far.
final class Frame {
  let variables: [CELValue]
  var slots: [CELValue]
  var cost: Int = 0
  let budget: Int

  init(variables: [CELValue], localCount: Int, budget: Int) {
    self.variables = variables
    self.slots = localCount == 0 ? [] : Array(repeating: .null, count: localCount)
    self.budget = budget
  }

  /// Whether the budget is spent.
  @inline(__always) var isOverBudget: Bool { self.cost > self.budget }
}

/// A planned node: evaluates itself against a frame.
typealias Eval = @Sendable (Frame) -> CELValue

/// Values for an environment's variables, resolved to slots once and reusable across
/// evaluations of every program of that environment.
///
/// ```swift
/// let activation = CELActivation(environment: env, bindings: ["age": .int(21)])
/// program.evaluate(activation)
/// ```
public struct CELActivation: Sendable {
  var values: [CELValue]

  /// Binds values to the environment's variables by name; names the environment does not
  /// declare are ignored, and unbound variables evaluate to an error.
  public init(environment: CELEnvironment, bindings: [String: CELValue]) {
    self.values = environment.variableNames.map { name in
      bindings[name] ?? .error(CELError("no value bound for variable '\(name)'"))
    }
  }

  /// Sets one variable's value.
  public mutating func set(_ name: String, to value: CELValue, in environment: CELEnvironment) {
    guard let slot = environment.variables[name]?.slot, slot < self.values.count else { return }
    self.values[slot] = value
  }
}

/// A compiled CEL expression, ready to evaluate any number of times, from any thread.
public struct CELProgram: Sendable {
  let root: Eval
  /// How many comprehension variables the program uses.
  let slotCount: Int
  let environment: CELEnvironment
  /// The static type of the result.
  public let resultType: CELType
  /// The static cost estimate.
  public let costEstimate: CELCostEstimate
  /// The parsed expression (for positions of nodes).
  public let parsed: ParsedExpression

  /// Evaluates with variables bound by name.
  public func evaluate(_ bindings: [String: CELValue] = [:]) -> CELValue {
    self.evaluate(CELActivation(environment: self.environment, bindings: bindings))
  }

  /// Evaluates with a prepared activation.
  public func evaluate(_ activation: CELActivation) -> CELValue {
    self.evaluate(activation, budget: self.environment.costBudget).value
  }

  /// Evaluates with a prepared activation and a cost budget; returns the value and the cost
  /// spent. When the budget is spent the value is an error saying so.
  public func evaluate(_ activation: CELActivation, budget: Int) -> (value: CELValue, cost: Int) {
    let frame = Frame(variables: activation.values, localCount: self.slotCount, budget: budget)
    let value = self.root(frame)
    if frame.isOverBudget { return (.error(CELError.budgetExceeded(budget)), frame.cost) }
    return (value, frame.cost)
  }
}

extension CELError {
  static func budgetExceeded(_ budget: Int) -> CELError {
    CELError(
      "evaluation cost budget of \(budget) exceeded: the expression does too much work (a comprehension over large or nested ranges?)"
    )
  }
}
