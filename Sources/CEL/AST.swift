/// A constant of the CEL language.
public enum CELConstant: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int64)
  case uint(UInt64)
  case double(Double)
  case string(String)
  case bytes([UInt8])
}

/// A node of a parsed CEL expression. Every node has an `id`, unique within its expression,
/// that maps to its source offset in ``ParsedExpression/offsets``.
public struct CELExpr: Sendable {
  /// The node's id.
  public var id: Int
  /// What the node is.
  public var kind: Kind

  /// The kinds of node.
  public indirect enum Kind: Sendable {
    /// A literal.
    case literal(CELConstant)
    /// A name: a variable, a type, or the first part of a qualified name.
    case ident(String)
    /// `operand.field`, or `has(operand.field)` when `testOnly`.
    case select(operand: CELExpr, field: String, testOnly: Bool)
    /// A function call, `function(args)` or `target.function(args)`.
    case call(function: String, target: CELExpr?, args: [CELExpr])
    /// `[a, b, c]`.
    case list(elements: [CELExpr])
    /// `{k: v, ...}`.
    case map(entries: [MapEntry])
    /// `Type{field: value, ...}`.
    case object(typeName: String, fields: [FieldEntry])
    /// A comprehension, the expansion of a macro.
    case comprehension(Comprehension)
  }

  /// An entry of a map literal.
  public struct MapEntry: Sendable {
    public var id: Int
    public var key: CELExpr
    public var value: CELExpr
  }

  /// A field of an object literal.
  public struct FieldEntry: Sendable {
    public var id: Int
    public var name: String
    public var value: CELExpr
  }

  /// A fold over a list or map: the form all macros expand to.
  public struct Comprehension: Sendable {
    /// The first iteration variable: list element (or index when `iterVar2` is set), map key.
    public var iterVar: String
    /// The second iteration variable (two-variable macros): list element or map value.
    public var iterVar2: String?
    public var iterRange: CELExpr
    public var accuVar: String
    public var accuInit: CELExpr
    /// Iteration stops when this is false.
    public var loopCondition: CELExpr
    public var loopStep: CELExpr
    public var result: CELExpr
  }

  /// The name of the accumulator variable of macro expansions.
  public static let accumulatorName = "@result"
}

/// The result of parsing: the expression and the source offset of each node.
public struct ParsedExpression: Sendable {
  /// The root node.
  public var expr: CELExpr
  /// The source the expression was parsed from.
  public var source: CELSource
  /// Source offset (in Unicode scalars) by node id.
  public var offsets: [Int: Int]

  /// The location of a node, or of the start of the source when unknown.
  public func location(of id: Int) -> SourceLocation {
    self.source.location(ofOffset: self.offsets[id] ?? 0)
  }
}
