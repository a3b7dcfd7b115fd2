/// How a function is implemented at run time.
public enum CELImplementation: Sendable {
  case unary(@Sendable (CELValue) -> CELValue)
  case binary(@Sendable (CELValue, CELValue) -> CELValue)
  case ternary(@Sendable (CELValue, CELValue, CELValue) -> CELValue)
  case variadic(@Sendable ([CELValue]) -> CELValue)
}

/// One signature of a function, for the checker: `string.contains(string) -> bool` is
/// `CELOverload(id: "contains_string", member: true, parameters: [.string, .string], result: .bool)`.
public struct CELOverload: Sendable {
  /// A unique id.
  public var id: String
  /// Whether it is called on a receiver, `x.f(y)`; the receiver is the first parameter.
  public var isMember: Bool
  /// The parameter types, the receiver's first.
  public var parameters: [CELType]
  /// The result type.
  public var result: CELType

  /// Declares a signature.
  public init(id: String, member: Bool = false, parameters: [CELType], result: CELType) {
    self.id = id
    self.isMember = member
    self.parameters = parameters
    self.result = result
  }
}

struct FunctionKey: Hashable {
  var name: String
  var isMember: Bool
  var arity: Int
}

/// The declarations an expression is checked and planned against: variables, object types,
/// functions and the container for name resolution. The standard library, the strings and math
/// extensions and `cel.bind` are included.
///
/// ```swift
/// var env = CELEnvironment()
/// env.declareVariable("age", type: .int)
/// let program = try env.compile("age >= 18")
/// let result = program.evaluate(["age": .int(21)])   // .bool(true)
/// ```
public struct CELEnvironment: Sendable {
  /// Variables by qualified name, with their type and slot.
  private(set) var variables: [String: (type: CELType, slot: Int)] = [:]
  /// Variable names by slot.
  private(set) var variableNames: [String] = []
  /// Object types by name.
  private(set) var objectTypes: [String: CELObjectType] = [:]
  /// Function signatures by name.
  private(set) var signatures: [String: [CELOverload]] = [:]
  /// Implementations by name, receiver style and arity.
  private(set) var implementations: [FunctionKey: CELImplementation] = [:]
  /// The namespace that unqualified names are resolved in, e.g. `com.example`.
  public var container: String = ""
  /// Parser limits.
  public var parserOptions = ParserOptions()
  /// The largest cost an evaluation may spend before it stops with an error.
  public var costBudget: Int = 10_000_000
  /// Size hints for the static cost estimate: the largest size a variable or field path
  /// (`proposal.participants`) is expected to have.
  public var sizeHints: [String: Int] = [:]

  /// An environment with the standard library and no variables.
  public init() {
    StandardLibrary.install(into: &self)
  }

  /// Declares a variable. Redeclaring a name replaces its type.
  public mutating func declareVariable(_ name: String, type: CELType) {
    if let existing = self.variables[name] {
      self.variables[name] = (type, existing.slot)
      return
    }
    self.variables[name] = (type, self.variableNames.count)
    self.variableNames.append(name)
  }

  /// Declares a host object type, so that `.object(name)` types and values of it can be checked.
  public mutating func declareObjectType(_ type: CELObjectType) {
    self.objectTypes[type.name] = type
  }

  /// Declares a function with its signatures, and its implementation for each receiver style
  /// and arity in use (one implementation handles every overload of that shape, switching on
  /// its arguments' runtime types where it has several).
  public mutating func declareFunction(
    _ name: String,
    overloads: [CELOverload],
    implementations: [(member: Bool, arity: Int, CELImplementation)]
  ) {
    self.signatures[name, default: []].append(contentsOf: overloads)
    for (member, arity, implementation) in implementations {
      self.implementations[FunctionKey(name: name, isMember: member, arity: arity)] = implementation
    }
  }

  /// Whether a global or member function of this name exists.
  func hasFunction(_ name: String) -> Bool { self.signatures[name] != nil }

  func implementation(_ name: String, member: Bool, arity: Int) -> CELImplementation? {
    self.implementations[FunctionKey(name: name, isMember: member, arity: arity)]
  }

  /// The candidate names of `name` in the container, most qualified first: in container
  /// `a.b`, `x` is looked up as `a.b.x`, `a.x`, then `x`. A leading dot skips the container.
  func candidateNames(_ name: String) -> [String] {
    if name.hasPrefix(".") { return [String(name.dropFirst())] }
    guard !self.container.isEmpty else { return [name] }
    var candidates: [String] = []
    var prefix = self.container
    while true {
      candidates.append(prefix + "." + name)
      guard let dot = prefix.lastIndex(of: ".") else { break }
      prefix = String(prefix[..<dot])
    }
    candidates.append(name)
    return candidates
  }

  /// The static type of a type name (`int`, `google.protobuf.Timestamp`, a declared object type).
  func typeNamed(_ name: String) -> CELType? {
    switch name {
    case "int": return .int
    case "uint": return .uint
    case "double": return .double
    case "bool": return .bool
    case "string": return .string
    case "bytes": return .bytes
    case "null_type": return .null
    case "list": return .list(.dyn)
    case "map": return .map(.dyn, .dyn)
    case "type": return .type(.dyn)
    case "dyn": return .dyn
    case "google.protobuf.Timestamp": return .timestamp
    case "google.protobuf.Duration": return .duration
    default: return self.objectTypes[name].map { .object($0.name) }
    }
  }

  /// Parses, checks and plans `text` into a program.
  public func compile(_ text: String, name: String = "") throws -> CELProgram {
    let parsed = try CELParser.parse(CELSource(text, name: name), options: self.parserOptions)
    let checked = try CELChecker.check(parsed, in: self)
    return try CELPlanner.plan(parsed, checked: checked, in: self)
  }

  /// Parses and plans `text` without type checking (names are resolved at run time).
  public func compileUnchecked(_ text: String) throws -> CELProgram {
    let parsed = try CELParser.parse(CELSource(text), options: self.parserOptions)
    return try CELPlanner.plan(parsed, checked: nil, in: self)
  }
}
