/// The semantics of CEL's operators: equality, ordering and arithmetic, with the
/// specification's overflow and heterogeneous-number rules.
enum Operators {
  static func overflow() -> CELValue { .error(CELError("return error for overflow")) }

  // MARK: Equality

  /// CEL equality: values of different types are unequal (numbers compare across types);
  /// NaN equals nothing.
  static func equals(_ a: CELValue, _ b: CELValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    // Code points, not canonical equivalence: 'é' (one scalar) differs from 'e' + U+0301.
    case (.string(let x), .string(let y)): return TextSearch.sameScalars(x, y)
    case (.bytes(let x), .bytes(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.int, .uint), (.int, .double), (.uint, .int), (.uint, .uint), (.uint, .double),
      (.double, .int), (.double, .uint), (.double, .double):
      return compareNumbers(a, b) == .equal
    case (.list(let x), .list(let y)):
      guard x.count == y.count else { return false }
      for (u, v) in zip(x, y) where !equals(u, v) { return false }
      return true
    case (.map(let x), .map(let y)):
      guard x.count == y.count else { return false }
      for (key, value) in x.entries {
        guard let other = y.value(for: key), equals(value, other) else { return false }
      }
      return true
    case (.timestamp(let x), .timestamp(let y)): return x == y
    case (.duration(let x), .duration(let y)): return x == y
    case (.type(let x), .type(let y)): return x == y
    case (.object(let x), .object(let y)):
      guard x.objectType === y.objectType else { return false }
      for index in x.objectType.fields.indices
      where !equals(x.value(ofField: index), y.value(ofField: index)) {
        return false
      }
      return true
    default: return false
    }
  }

  // MARK: Ordering

  enum Ordering { case less, equal, greater, unordered }

  /// Compares two numbers of any numeric types exactly.
  static func compareNumbers(_ a: CELValue, _ b: CELValue) -> Ordering {
    func order<T: Comparable>(_ x: T, _ y: T) -> Ordering {
      x < y ? .less : x > y ? .greater : .equal
    }
    // As cel-go: a double outside the integer range orders before or after every integer;
    // inside it, the integer is converted to double (so 2^63 as a double equals Int64.max).
    func intDouble(_ i: Int64, _ d: Double) -> Ordering {
      if d.isNaN { return .unordered }
      if d < -9_223_372_036_854_775_808.0 { return .greater }
      if d > 9_223_372_036_854_775_807.0 { return .less }
      return order(Double(i), d)
    }
    func uintDouble(_ u: UInt64, _ d: Double) -> Ordering {
      if d.isNaN { return .unordered }
      if d < 0 { return .greater }
      if d > 18_446_744_073_709_551_615.0 { return .less }
      return order(Double(u), d)
    }
    func flip(_ o: Ordering) -> Ordering {
      switch o {
      case .less: return .greater
      case .greater: return .less
      default: return o
      }
    }
    switch (a, b) {
    case (.int(let x), .int(let y)): return order(x, y)
    case (.uint(let x), .uint(let y)): return order(x, y)
    case (.double(let x), .double(let y)): return x.isNaN || y.isNaN ? .unordered : order(x, y)
    case (.int(let x), .uint(let y)): return x < 0 ? .less : order(UInt64(x), y)
    case (.uint(let x), .int(let y)): return y < 0 ? .greater : order(x, UInt64(y))
    case (.int(let x), .double(let y)): return intDouble(x, y)
    case (.double(let x), .int(let y)): return flip(intDouble(y, x))
    case (.uint(let x), .double(let y)): return uintDouble(x, y)
    case (.double(let x), .uint(let y)): return flip(uintDouble(y, x))
    default: return .unordered
    }
  }

  /// Orders two values, or nil when they cannot be ordered (different kinds).
  static func compare(_ a: CELValue, _ b: CELValue) -> Ordering? {
    func order<T: Comparable>(_ x: T, _ y: T) -> Ordering {
      x < y ? .less : x > y ? .greater : .equal
    }
    switch (a, b) {
    case (.int, .int), (.int, .uint), (.int, .double), (.uint, .int), (.uint, .uint),
      (.uint, .double),
      (.double, .int), (.double, .uint), (.double, .double):
      return compareNumbers(a, b)
    case (.string(let x), .string(let y)):
      // Code point order, as the specification requires (Swift's String < is by grapheme).
      // UTF-8 byte order is code point order.
      if TextSearch.sameScalars(x, y) { return .equal }
      return x.utf8.lexicographicallyPrecedes(y.utf8) ? .less : .greater
    case (.bytes(let x), .bytes(let y)):
      return x.lexicographicallyPrecedes(y) ? .less : x == y ? .equal : .greater
    case (.bool(let x), .bool(let y)): return x == y ? .equal : (!x && y) ? .less : .greater
    case (.timestamp(let x), .timestamp(let y)): return order(x, y)
    case (.duration(let x), .duration(let y)): return order(x, y)
    default: return nil
    }
  }

  static func relation(_ name: String, _ test: @escaping @Sendable (Ordering) -> Bool)
    -> CELImplementation
  {
    .binary { a, b in
      guard let ordering = compare(a, b) else { return CELValue.noSuchOverload(name, a, b) }
      return .bool(ordering != .unordered && test(ordering))
    }
  }

  // MARK: Arithmetic

  static func add(_ a: CELValue, _ b: CELValue) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      let (r, o) = x.addingReportingOverflow(y)
      return o ? overflow() : .int(r)
    case (.uint(let x), .uint(let y)):
      let (r, o) = x.addingReportingOverflow(y)
      return o ? overflow() : .uint(r)
    case (.double(let x), .double(let y)): return .double(x + y)
    case (.string(let x), .string(let y)): return .string(x + y)
    case (.bytes(let x), .bytes(let y)): return .bytes(x + y)
    case (.list(let x), .list(let y)): return .list(x + y)
    case (.timestamp(let t), .duration(let d)), (.duration(let d), .timestamp(let t)):
      return TimeFunctions.add(t, d, sign: 1)
    case (.duration(let x), .duration(let y)):
      let (s, o) = x.seconds.addingReportingOverflow(y.seconds)
      guard !o, let d = CELDuration(seconds: s, nanos: x.nanos + y.nanos) else { return overflow() }
      return .duration(d)
    default: return CELValue.noSuchOverload("_+_", a, b)
    }
  }

  static func subtract(_ a: CELValue, _ b: CELValue) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      let (r, o) = x.subtractingReportingOverflow(y)
      return o ? overflow() : .int(r)
    case (.uint(let x), .uint(let y)):
      let (r, o) = x.subtractingReportingOverflow(y)
      return o ? overflow() : .uint(r)
    case (.double(let x), .double(let y)): return .double(x - y)
    case (.timestamp(let t), .duration(let d)): return TimeFunctions.add(t, d, sign: -1)
    case (.timestamp(let x), .timestamp(let y)):
      let (s, o) = x.seconds.subtractingReportingOverflow(y.seconds)
      guard !o, let d = CELDuration(seconds: s, nanos: x.nanos - y.nanos) else { return overflow() }
      return .duration(d)
    case (.duration(let x), .duration(let y)):
      let (s, o) = x.seconds.subtractingReportingOverflow(y.seconds)
      guard !o, let d = CELDuration(seconds: s, nanos: x.nanos - y.nanos) else { return overflow() }
      return .duration(d)
    default: return CELValue.noSuchOverload("_-_", a, b)
    }
  }

  static func multiply(_ a: CELValue, _ b: CELValue) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      let (r, o) = x.multipliedReportingOverflow(by: y)
      return o ? overflow() : .int(r)
    case (.uint(let x), .uint(let y)):
      let (r, o) = x.multipliedReportingOverflow(by: y)
      return o ? overflow() : .uint(r)
    case (.double(let x), .double(let y)): return .double(x * y)
    default: return CELValue.noSuchOverload("_*_", a, b)
    }
  }

  static func divide(_ a: CELValue, _ b: CELValue) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      if y == 0 { return .error(CELError("divide by zero")) }
      let (r, o) = x.dividedReportingOverflow(by: y)
      return o ? overflow() : .int(r)
    case (.uint(let x), .uint(let y)):
      if y == 0 { return .error(CELError("divide by zero")) }
      return .uint(x / y)
    case (.double(let x), .double(let y)): return .double(x / y)
    default: return CELValue.noSuchOverload("_/_", a, b)
    }
  }

  static func modulo(_ a: CELValue, _ b: CELValue) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      if y == 0 { return .error(CELError("modulus by zero")) }
      let (r, o) = x.remainderReportingOverflow(dividingBy: y)
      return o ? overflow() : .int(r)
    case (.uint(let x), .uint(let y)):
      if y == 0 { return .error(CELError("modulus by zero")) }
      return .uint(x % y)
    default: return CELValue.noSuchOverload("_%_", a, b)
    }
  }

  static func negate(_ a: CELValue) -> CELValue {
    switch a {
    case .int(let x):
      let (r, o) = Int64(0).subtractingReportingOverflow(x)
      return o ? overflow() : .int(r)
    case .double(let x): return .double(-x)
    default: return CELValue.noSuchOverload("-_", a)
    }
  }

  static func index(_ container: CELValue, _ key: CELValue) -> CELValue {
    switch container {
    case .list(let elements):
      let position: Int64
      switch key {
      case .int(let i): position = i
      case .uint(let u):
        guard u <= UInt64(Int64.max) else { return .error(CELError("index out of range")) }
        position = Int64(u)
      case .double(let d):
        guard d.rounded() == d, d >= -9.2e18, d <= 9.2e18 else {
          return .error(CELError("unsupported index value \(Formatting.display(key))"))
        }
        position = Int64(d)
      default:
        return CELValue.noSuchOverload("_[_]", container, key)
      }
      guard position >= 0, position < elements.count else {
        return .error(CELError("index out of range: \(position)"))
      }
      return elements[Int(position)]
    case .map(let map):
      switch key {
      case .bool, .int, .uint, .string, .double:
        return map.value(for: key) ?? .error(CELError("no such key: \(Formatting.display(key))"))
      default:
        return CELValue.noSuchOverload("_[_]", container, key)
      }
    default:
      return CELValue.noSuchOverload("_[_]", container, key)
    }
  }

  static func contains(_ container: CELValue, _ element: CELValue) -> CELValue {
    switch container {
    case .list(let elements):
      for candidate in elements where equals(candidate, element) { return .bool(true) }
      return .bool(false)
    case .map(let map):
      return .bool(map.value(for: element) != nil)
    default:
      return CELValue.noSuchOverload("@in", element, container)
    }
  }

  static func size(_ value: CELValue) -> CELValue {
    switch value {
    case .string(let s): return .int(Int64(s.unicodeScalars.count))
    case .bytes(let b): return .int(Int64(b.count))
    case .list(let l): return .int(Int64(l.count))
    case .map(let m): return .int(Int64(m.count))
    default: return CELValue.noSuchOverload("size", value)
    }
  }
}
