/// A static CEL type, as the checker infers it.
public indirect enum CELType: Sendable, Hashable, CustomStringConvertible {
  /// Any type; checked at run time.
  case dyn
  case null
  case bool
  case int
  case uint
  case double
  case string
  case bytes
  case timestamp
  case duration
  case list(CELType)
  case map(CELType, CELType)
  /// The type of a type value; `type(int)` is the type of `int`.
  case type(CELType)
  /// A host object type, by name (declared with ``CELObjectType``).
  case object(String)
  /// A type parameter of a generic overload, e.g. `A` in `list(A)`.
  case parameter(String)
  /// The type of an expression that failed to check.
  case error

  public var description: String {
    switch self {
    case .dyn: return "dyn"
    case .null: return "null_type"
    case .bool: return "bool"
    case .int: return "int"
    case .uint: return "uint"
    case .double: return "double"
    case .string: return "string"
    case .bytes: return "bytes"
    case .timestamp: return "google.protobuf.Timestamp"
    case .duration: return "google.protobuf.Duration"
    case .list(let element): return "list(\(element))"
    case .map(let key, let value): return "map(\(key), \(value))"
    case .type(let type): return "type(\(type))"
    case .object(let name): return name
    case .parameter(let name): return name
    case .error: return "*error*"
    }
  }

  /// Whether the type is `dyn` or contains no information (error).
  var isDynamic: Bool {
    switch self {
    case .dyn, .error: return true
    default: return false
    }
  }

  /// The runtime type value of values of this type, when it is fixed.
  var runtimeType: CELTypeValue? {
    switch self {
    case .null: return .null
    case .bool: return .bool
    case .int: return .int
    case .uint: return .uint
    case .double: return .double
    case .string: return .string
    case .bytes: return .bytes
    case .timestamp: return .timestamp
    case .duration: return .duration
    case .list: return .list
    case .map: return .map
    case .type: return .type
    case .object(let name): return CELTypeValue(name)
    default: return nil
    }
  }

  /// Replaces type parameters by their bindings (unbound ones by `dyn`).
  func substituting(_ bindings: [String: CELType]) -> CELType {
    switch self {
    case .parameter(let name): return bindings[name].map { $0.substituting(bindings) } ?? .dyn
    case .list(let element): return .list(element.substituting(bindings))
    case .map(let key, let value):
      return .map(key.substituting(bindings), value.substituting(bindings))
    case .type(let type): return .type(type.substituting(bindings))
    default: return self
    }
  }

  /// Whether a value of type `actual` may be passed where `self` is expected, binding type
  /// parameters along the way. `dyn` matches anything in either direction.
  func accepts(_ actual: CELType, bindings: inout [String: CELType]) -> Bool {
    if actual.isDynamic { return true }
    switch self {
    case .dyn, .error:
      return true
    case .parameter(let name):
      if let bound = bindings[name] {
        if bound.isDynamic { return true }
        if actual.isDynamic { return true }
        if bound == actual { return true }
        // Widen a binding to dyn only for the same kind of container.
        if bound.accepts(actual, bindings: &bindings) { return true }
        if actual.accepts(bound, bindings: &bindings) {
          bindings[name] = actual
          return true
        }
        return false
      }
      bindings[name] = actual
      return true
    case .list(let element):
      guard case .list(let actualElement) = actual else { return false }
      return element.accepts(actualElement, bindings: &bindings)
    case .map(let key, let value):
      guard case .map(let actualKey, let actualValue) = actual else { return false }
      return key.accepts(actualKey, bindings: &bindings)
        && value.accepts(actualValue, bindings: &bindings)
    case .type(let type):
      guard case .type(let actualType) = actual else { return false }
      return type.accepts(actualType, bindings: &bindings)
    case .null:
      return actual == .null
    default:
      return self == actual
    }
  }

  /// The most specific type of both `a` and `b` (for list elements, ternary branches).
  static func join(_ a: CELType, _ b: CELType) -> CELType {
    if a == b { return a }
    switch (a, b) {
    case (.list(let x), .list(let y)): return .list(join(x, y))
    case (.map(let k1, let v1), .map(let k2, let v2)): return .map(join(k1, k2), join(v1, v2))
    default: return .dyn
    }
  }
}
