import Foundation

/// A CEL runtime value.
///
/// Errors are values too (`.error`), as in the specification: `&&`, `||` and the comprehension
/// macros absorb them where the result does not depend on them.
public enum CELValue: Sendable {
  case null
  case bool(Bool)
  case int(Int64)
  case uint(UInt64)
  case double(Double)
  case string(String)
  case bytes([UInt8])
  case list([CELValue])
  case map(CELMap)
  case timestamp(CELTimestamp)
  case duration(CELDuration)
  /// A type, as a value: `type(1) == int`.
  case type(CELTypeValue)
  /// A value of a host object type declared with ``CELObjectType``.
  case object(any CELObject)
  /// The result of a failed evaluation.
  case error(CELError)

  /// The runtime type of the value.
  public var typeValue: CELTypeValue {
    switch self {
    case .null: return .null
    case .bool: return .bool
    case .int: return .int
    case .uint: return .uint
    case .double: return .double
    case .string: return .string
    case .bytes: return .bytes
    case .list: return .list
    case .map: return .map
    case .timestamp: return .timestamp
    case .duration: return .duration
    case .type: return .type
    case .object(let object): return CELTypeValue(object.objectType.name)
    case .error: return CELTypeValue("error")
    }
  }

  /// Whether this value is an error.
  @inlinable public var isError: Bool {
    if case .error = self { return true }
    return false
  }

  /// The error "no such overload" for a function applied to these values.
  static func noSuchOverload(_ function: String, _ args: CELValue...) -> CELValue {
    for arg in args where arg.isError { return arg }
    let types = args.map(\.typeValue.name).joined(separator: ", ")
    return .error(CELError("no such overload: \(function)(\(types))"))
  }
}

/// An evaluation error, carried as a value.
public struct CELError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong.
  public var message: String

  /// Creates an error.
  public init(_ message: String) {
    self.message = message
  }

  public var description: String { self.message }
}

/// A runtime type: its name (`int`, `list`, `google.protobuf.Timestamp`, an object type's name).
public struct CELTypeValue: Sendable, Hashable, CustomStringConvertible {
  /// The type's name.
  public var name: String

  /// Creates a type value.
  public init(_ name: String) {
    self.name = name
  }

  public var description: String { self.name }

  public static let null = CELTypeValue("null_type")
  public static let bool = CELTypeValue("bool")
  public static let int = CELTypeValue("int")
  public static let uint = CELTypeValue("uint")
  public static let double = CELTypeValue("double")
  public static let string = CELTypeValue("string")
  public static let bytes = CELTypeValue("bytes")
  public static let list = CELTypeValue("list")
  public static let map = CELTypeValue("map")
  public static let timestamp = CELTypeValue("google.protobuf.Timestamp")
  public static let duration = CELTypeValue("google.protobuf.Duration")
  public static let type = CELTypeValue("type")
}

/// A CEL map: keys of type bool, int, uint or string; numeric keys compare across types
/// (`{1: 'a'}[1u]`).
public struct CELMap: Sendable {
  /// The entries in insertion order.
  public private(set) var entries: [(key: CELValue, value: CELValue)] = []
  private var index: [CELMapKey: Int] = [:]

  /// An empty map.
  public init() {}

  /// A map of string keys.
  public init(_ dictionary: [String: CELValue]) {
    for (key, value) in dictionary.sorted(by: { $0.key < $1.key }) {
      _ = self.insert(key: .string(key), value: value)
    }
  }

  /// The number of entries.
  public var count: Int { self.entries.count }

  /// Inserts an entry; returns false (and changes nothing) when the key is already present or
  /// is not of a key type.
  public mutating func insert(key: CELValue, value: CELValue) -> Bool {
    guard let mapKey = CELMapKey(key), self.index[mapKey] == nil else { return false }
    self.index[mapKey] = self.entries.count
    self.entries.append((key, value))
    return true
  }

  /// Maps up to this size are searched linearly: faster than hashing for the small records
  /// rules mostly read.
  static let linearSearchLimit = 12

  /// The value for `key`, or nil when absent.
  public func value(for key: CELValue) -> CELValue? {
    if case .string(let string) = key { return self[string] }
    guard let mapKey = CELMapKey(lookup: key), let position = self.index[mapKey] else { return nil }
    return self.entries[position].value
  }

  /// The value for a string key.
  public subscript(key: String) -> CELValue? {
    if self.entries.count <= Self.linearSearchLimit {
      for entry in self.entries {
        if case .string(let candidate) = entry.key, TextSearch.sameScalars(candidate, key) {
          return entry.value
        }
      }
      return nil
    }
    guard let position = self.index[.string(key)] else { return nil }
    return self.entries[position].value
  }
}

/// A normalised map key: integral numbers of every numeric type share one representation.
enum CELMapKey: Hashable {
  case bool(Bool)
  case int(Int64)
  case uint(UInt64)
  case string(String)

  /// The key of a map literal entry; nil for values that are not of a key type.
  init?(_ value: CELValue) {
    switch value {
    case .bool(let b): self = .bool(b)
    case .int(let i): self = .int(i)
    case .uint(let u): self = u <= UInt64(Int64.max) ? .int(Int64(u)) : .uint(u)
    case .string(let s): self = .string(s)
    default: return nil
    }
  }

  /// The key to look a value up with: also accepts integral doubles.
  init?(lookup value: CELValue) {
    if case .double(let d) = value {
      guard d.rounded() == d else { return nil }
      if d >= -9_223_372_036_854_775_808.0 && d < 9_223_372_036_854_775_808.0 {
        self = .int(Int64(d))
      } else if d >= 0 && d < 18_446_744_073_709_551_616.0 {
        self = .uint(UInt64(d))
      } else {
        return nil
      }
      return
    }
    self.init(value)
  }
}

/// A point in time, in seconds and nanoseconds since the Unix epoch, between the years 1 and
/// 9999.
public struct CELTimestamp: Sendable, Hashable, Comparable {
  public var seconds: Int64
  public var nanos: Int32

  /// The earliest and latest valid seconds: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
  static let minSeconds: Int64 = -62_135_596_800
  static let maxSeconds: Int64 = 253_402_300_799

  /// Creates a timestamp; nil when out of range.
  public init?(seconds: Int64, nanos: Int32 = 0) {
    var s = seconds
    var n = nanos
    while n < 0 {
      n += 1_000_000_000
      s -= 1
    }
    while n >= 1_000_000_000 {
      n -= 1_000_000_000
      s += 1
    }
    guard s >= Self.minSeconds, s <= Self.maxSeconds else { return nil }
    self.seconds = s
    self.nanos = n
  }

  public static func < (a: Self, b: Self) -> Bool {
    (a.seconds, a.nanos) < (b.seconds, b.nanos)
  }
}

/// A signed span of time, in seconds and nanoseconds of the same sign, within ±10,000 years.
public struct CELDuration: Sendable, Hashable, Comparable {
  public var seconds: Int64
  public var nanos: Int32

  /// As in cel-go, a duration is a signed 64-bit count of nanoseconds (about ±292 years).
  static let maxSeconds: Int64 = 9_223_372_036

  /// Creates a duration from a total of nanoseconds (which must fit in 64 bits).
  public init?(totalNanoseconds: Int64) {
    self.seconds = totalNanoseconds / 1_000_000_000
    self.nanos = Int32(totalNanoseconds % 1_000_000_000)
  }

  /// Creates a duration; nil when out of range.
  public init?(seconds: Int64, nanos: Int32) {
    var s = seconds
    var n = nanos
    if s > 0 && n < 0 {
      s -= 1
      n += 1_000_000_000
    } else if s < 0 && n > 0 {
      s += 1
      n -= 1_000_000_000
    }
    s += Int64(n / 1_000_000_000)
    n %= 1_000_000_000
    guard abs(s) <= Self.maxSeconds else { return nil }
    self.seconds = s
    self.nanos = n
    guard self.totalNanoseconds != nil else { return nil }
  }

  /// Total nanoseconds, when they fit in 64 bits.
  var totalNanoseconds: Int64? {
    let (product, overflow) = self.seconds.multipliedReportingOverflow(by: 1_000_000_000)
    guard !overflow else { return nil }
    let (sum, overflow2) = product.addingReportingOverflow(Int64(self.nanos))
    return overflow2 ? nil : sum
  }

  public static func < (a: Self, b: Self) -> Bool {
    (a.seconds, a.nanos) < (b.seconds, b.nanos)
  }
}

/// The description of a host object type: its name and fields, for the checker and planner.
///
/// ```swift
/// let participant = CELObjectType(name: "example.Participant", fields: [
///   ("name", .string), ("global_south", .bool),
/// ])
/// ```
public final class CELObjectType: Sendable {
  /// The fully qualified type name.
  public let name: String
  /// The fields, in declaration order.
  public let fields: [(name: String, type: CELType)]
  let fieldIndex: [String: Int]

  /// Declares a type.
  public init(name: String, fields: [(String, CELType)]) {
    self.name = name
    self.fields = fields.map { (name: $0.0, type: $0.1) }
    var index: [String: Int] = [:]
    for (position, field) in fields.enumerated() { index[field.0] = position }
    self.fieldIndex = index
  }

  /// The position of a field, or nil when there is none of that name.
  public func index(ofField name: String) -> Int? { self.fieldIndex[name] }
}

/// A value of a host object type. Fields are read by their position in the type's
/// declaration, resolved once at plan time. Objects are classes, so that a `CELValue` holding
/// one stays two words wide and copying it is a retain, not a copy of the object.
public protocol CELObject: AnyObject, Sendable {
  /// The object's type.
  var objectType: CELObjectType { get }
  /// The value of the field at `index` (its default when not set).
  func value(ofField index: Int) -> CELValue
  /// Whether the field at `index` is set, for `has()`.
  func hasValue(ofField index: Int) -> Bool
}

extension CELValue {
  /// Converts a Swift value built from JSON-like data (`Bool`, `Int`, `Double`, `String`,
  /// arrays, string-keyed dictionaries, `NSNull`) into a CEL value.
  public init(json: Any?) {
    switch json {
    case nil, is NSNull: self = .null
    case let value as Bool: self = .bool(value)
    case let value as Int: self = .int(Int64(value))
    case let value as Int64: self = .int(value)
    case let value as Double: self = .double(value)
    case let value as String: self = .string(value)
    case let value as [Any?]: self = .list(value.map { CELValue(json: $0) })
    case let value as [String: Any?]: self = .map(CELMap(value.mapValues { CELValue(json: $0) }))
    default: self = .error(CELError("unsupported host value \(String(describing: json))"))
    }
  }
}
