import Foundation

/// The standard functions of CEL, the strings and math extensions, and their signatures.
enum StandardLibrary {
  static func install(into env: inout CELEnvironment) {
    installOperators(into: &env)
    installConversions(into: &env)
    installStrings(into: &env)
    installTime(into: &env)
    installMath(into: &env)
  }

  private static let typeA = CELType.parameter("A")
  private static let typeK = CELType.parameter("K")
  private static let typeV = CELType.parameter("V")
  private static let numbers: [CELType] = [.int, .uint, .double]

  private static func overloads(
    _ id: String, member: Bool = false, _ signatures: [([CELType], CELType)]
  ) -> [CELOverload] {
    signatures.enumerated().map { index, signature in
      CELOverload(
        id: "\(id)_\(index)", member: member, parameters: signature.0, result: signature.1)
    }
  }

  // MARK: - Operators

  private static func installOperators(into env: inout CELEnvironment) {
    env.declareFunction(
      "_+_",
      overloads: overloads(
        "add",
        [
          ([.int, .int], .int), ([.uint, .uint], .uint), ([.double, .double], .double),
          ([.string, .string], .string), ([.bytes, .bytes], .bytes),
          ([.list(typeA), .list(typeA)], .list(typeA)),
          ([.timestamp, .duration], .timestamp), ([.duration, .timestamp], .timestamp),
          ([.duration, .duration], .duration),
        ]),
      implementations: [(false, 2, .binary(Operators.add))]
    )
    env.declareFunction(
      "_-_",
      overloads: overloads(
        "subtract",
        [
          ([.int, .int], .int), ([.uint, .uint], .uint), ([.double, .double], .double),
          ([.timestamp, .timestamp], .duration), ([.timestamp, .duration], .timestamp),
          ([.duration, .duration], .duration),
        ]),
      implementations: [(false, 2, .binary(Operators.subtract))]
    )
    let arithmetic: [([CELType], CELType)] = numbers.map { ([$0, $0], $0) }
    env.declareFunction(
      "_*_", overloads: overloads("multiply", arithmetic),
      implementations: [(false, 2, .binary(Operators.multiply))])
    env.declareFunction(
      "_/_", overloads: overloads("divide", arithmetic),
      implementations: [(false, 2, .binary(Operators.divide))])
    env.declareFunction(
      "_%_",
      overloads: overloads("modulo", [([.int, .int], .int), ([.uint, .uint], .uint)]),
      implementations: [(false, 2, .binary(Operators.modulo))]
    )
    env.declareFunction(
      "-_",
      overloads: overloads("negate", [([.int], .int), ([.double], .double)]),
      implementations: [(false, 1, .unary(Operators.negate))]
    )
    env.declareFunction(
      "!_",
      overloads: overloads("logical_not", [([.bool], .bool)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            if case .bool(let b) = value { return .bool(!b) }
            return CELValue.noSuchOverload("!_", value)
          }
        )
      ]
    )
    env.declareFunction(
      "_==_",
      overloads: overloads("equals", [([.dyn, .dyn], .bool)]),
      implementations: [(false, 2, .binary { .bool(Operators.equals($0, $1)) })]
    )
    env.declareFunction(
      "_!=_",
      overloads: overloads("not_equals", [([.dyn, .dyn], .bool)]),
      implementations: [(false, 2, .binary { .bool(!Operators.equals($0, $1)) })]
    )
    var ordered: [([CELType], CELType)] = []
    for a in numbers { for b in numbers { ordered.append(([a, b], .bool)) } }
    for type in [CELType.string, .bytes, .bool, .timestamp, .duration] {
      ordered.append(([type, type], .bool))
    }
    let relations: [(String, @Sendable (Operators.Ordering) -> Bool)] = [
      ("_<_", { $0 == .less }), ("_<=_", { $0 != .greater }), ("_>_", { $0 == .greater }),
      ("_>=_", { $0 != .less }),
    ]
    for (name, test) in relations {
      env.declareFunction(
        name, overloads: overloads(name, ordered),
        implementations: [(false, 2, Operators.relation(name, test))])
    }
    env.declareFunction(
      "_[_]",
      overloads: overloads(
        "index",
        [
          ([.list(typeA), .int], typeA), ([.list(typeA), .uint], typeA),
          ([.list(typeA), .double], typeA),
          ([.map(typeK, typeV), typeK], typeV), ([.map(typeK, typeV), .dyn], typeV),
        ]),
      implementations: [(false, 2, .binary(Operators.index))]
    )
    env.declareFunction(
      "@in",
      overloads: overloads(
        "in",
        [
          ([typeA, .list(typeA)], .bool), ([typeK, .map(typeK, typeV)], .bool),
          ([.dyn, .map(typeK, typeV)], .bool),
        ]),
      implementations: [(false, 2, .binary { Operators.contains($1, $0) })]
    )
    let sizeSignatures: [([CELType], CELType)] = [
      ([.string], .int), ([.bytes], .int), ([.list(typeA)], .int), ([.map(typeK, typeV)], .int),
    ]
    env.declareFunction(
      "size",
      overloads: overloads("size", sizeSignatures)
        + overloads("size_member", member: true, sizeSignatures),
      implementations: [(false, 1, .unary(Operators.size)), (true, 1, .unary(Operators.size))]
    )
  }

  // MARK: - Conversions

  private static func rangeError(_ what: String) -> CELValue {
    .error(CELError("\(what) out of range"))
  }

  private static func installConversions(into env: inout CELEnvironment) {
    env.declareFunction(
      "int",
      overloads: overloads(
        "int",
        [
          ([.int], .int), ([.uint], .int), ([.double], .int), ([.string], .int),
          ([.timestamp], .int),
        ]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .int: return value
            case .uint(let u): return u > UInt64(Int64.max) ? rangeError("int") : .int(Int64(u))
            case .double(let d):
              guard d.isFinite, d > -9_223_372_036_854_775_808.0, d < 9_223_372_036_854_775_807.0
              else {
                return rangeError("int")
              }
              return .int(Int64(d))
            case .string(let s):
              guard let i = Int64(s) else {
                return .error(CELError("type conversion error: cannot convert '\(s)' to int"))
              }
              return .int(i)
            case .timestamp(let t): return .int(t.seconds)
            default: return CELValue.noSuchOverload("int", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "uint",
      overloads: overloads(
        "uint", [([.int], .uint), ([.uint], .uint), ([.double], .uint), ([.string], .uint)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .uint: return value
            case .int(let i): return i < 0 ? rangeError("uint") : .uint(UInt64(i))
            case .double(let d):
              guard d.isFinite, d > -1, d < 18_446_744_073_709_551_615.0 else {
                return rangeError("uint")
              }
              return .uint(UInt64(d))
            case .string(let s):
              guard let u = UInt64(s) else {
                return .error(CELError("type conversion error: cannot convert '\(s)' to uint"))
              }
              return .uint(u)
            default: return CELValue.noSuchOverload("uint", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "double",
      overloads: overloads(
        "double",
        [([.int], .double), ([.uint], .double), ([.double], .double), ([.string], .double)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .double: return value
            case .int(let i): return .double(Double(i))
            case .uint(let u): return .double(Double(u))
            case .string(let s):
              switch s {
              case "NaN", "nan": return .double(.nan)
              case "Infinity", "+Infinity", "inf", "+inf", "Inf": return .double(.infinity)
              case "-Infinity", "-inf", "-Inf": return .double(-.infinity)
              default:
                guard let d = Double(s), !s.lowercased().contains("n") else {
                  return .error(CELError("type conversion error: cannot convert '\(s)' to double"))
                }
                return .double(d)
              }
            default: return CELValue.noSuchOverload("double", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "string",
      overloads: overloads(
        "string",
        [
          ([.int], .string), ([.uint], .string), ([.double], .string), ([.string], .string),
          ([.bytes], .string),
          ([.bool], .string), ([.timestamp], .string), ([.duration], .string),
        ]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .string: return value
            case .int, .uint, .double, .bool, .timestamp, .duration:
              return .string(Formatting.display(value))
            case .bytes(let b):
              guard let s = String(validating: b, as: UTF8.self) else {
                return .error(CELError("invalid UTF-8 in bytes, cannot convert to string"))
              }
              return .string(s)
            default: return CELValue.noSuchOverload("string", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "bytes",
      overloads: overloads("bytes", [([.string], .bytes), ([.bytes], .bytes)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .bytes: return value
            case .string(let s): return .bytes(Array(s.utf8))
            default: return CELValue.noSuchOverload("bytes", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "bool",
      overloads: overloads("bool", [([.bool], .bool), ([.string], .bool)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .bool: return value
            case .string(let s):
              switch s {
              case "1", "t", "T", "TRUE", "true", "True": return .bool(true)
              case "0", "f", "F", "FALSE", "false", "False": return .bool(false)
              default:
                return .error(CELError("Type conversion error: cannot convert '\(s)' to bool"))
              }
            default: return CELValue.noSuchOverload("bool", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "timestamp",
      overloads: overloads(
        "timestamp", [([.string], .timestamp), ([.int], .timestamp), ([.timestamp], .timestamp)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .timestamp: return value
            case .int(let i):
              return CELTimestamp(seconds: i).map { .timestamp($0) } ?? TimeFunctions.rangeError()
            case .string(let s):
              return TimeFunctions.parseTimestamp(s).map { .timestamp($0) }
                ?? .error(
                  CELError(
                    "type conversion error: cannot parse '\(s)' as an RFC 3339 timestamp (or it is out of range)"
                  ))
            default: return CELValue.noSuchOverload("timestamp", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "duration",
      overloads: overloads("duration", [([.string], .duration), ([.duration], .duration)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .duration: return value
            case .string(let s):
              return TimeFunctions.parseDuration(s).map { .duration($0) }
                ?? .error(
                  CELError(
                    "type conversion error: cannot parse '\(s)' as a duration (e.g. '1h30m', '90s')"
                  ))
            default: return CELValue.noSuchOverload("duration", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "type",
      overloads: overloads("type", [([typeA], .type(typeA))]),
      implementations: [(false, 1, .unary { .type($0.typeValue) })]
    )
    env.declareFunction(
      "dyn",
      overloads: overloads("dyn", [([typeA], .dyn)]),
      implementations: [(false, 1, .unary { $0 })]
    )
  }

  // MARK: - Strings

  private static func string(
    _ name: String, _ body: @escaping @Sendable (String, String) -> CELValue
  ) -> CELImplementation {
    .binary { a, b in
      guard case .string(let x) = a, case .string(let y) = b else {
        return CELValue.noSuchOverload(name, a, b)
      }
      return body(x, y)
    }
  }

  private static func installStrings(into env: inout CELEnvironment) {
    env.declareFunction(
      "contains",
      overloads: overloads("contains", member: true, [([.string, .string], .bool)]),
      implementations: [(true, 2, string("contains") { .bool(TextSearch.contains($0, $1)) })]
    )
    env.declareFunction(
      "startsWith",
      overloads: overloads("startsWith", member: true, [([.string, .string], .bool)]),
      implementations: [(true, 2, string("startsWith") { .bool($0.utf8.starts(with: $1.utf8)) })]
    )
    env.declareFunction(
      "endsWith",
      overloads: overloads("endsWith", member: true, [([.string, .string], .bool)]),
      implementations: [
        (
          true, 2,
          string("endsWith") {
            .bool(
              $0.utf8.count >= $1.utf8.count && $0.utf8.reversed().starts(with: $1.utf8.reversed()))
          }
        )
      ]
    )
    let matches = string("matches") { text, pattern in
      do throws(CELError) {
        return .bool(try RE2Regex(pattern).matches(text))
      } catch {
        return .error(error)
      }
    }
    env.declareFunction(
      "matches",
      overloads: overloads("matches", [([.string, .string], .bool)])
        + overloads("matches_member", member: true, [([.string, .string], .bool)]),
      implementations: [(false, 2, matches), (true, 2, matches)]
    )
    StringExtension.install(into: &env)
  }

  // MARK: - Time

  private static func installTime(into env: inout CELEnvironment) {
    let timestampFields: [(String, TimeFunctions.Field)] = [
      ("getFullYear", .fullYear), ("getMonth", .month), ("getDayOfYear", .dayOfYear),
      ("getDayOfMonth", .dayOfMonth), ("getDate", .date), ("getDayOfWeek", .dayOfWeek),
      ("getHours", .hours), ("getMinutes", .minutes), ("getSeconds", .seconds),
      ("getMilliseconds", .milliseconds),
    ]
    for (name, field) in timestampFields {
      var signatures: [([CELType], CELType)] = [
        ([.timestamp], .int), ([.timestamp, .string], .int),
      ]
      let durationField = [TimeFunctions.Field.hours, .minutes, .seconds, .milliseconds].contains(
        field)
      if durationField { signatures.append(([.duration], .int)) }
      env.declareFunction(
        name,
        overloads: overloads(name, member: true, signatures),
        implementations: [
          (
            true, 1,
            .unary { value in
              switch value {
              case .timestamp(let t): return TimeFunctions.field(field, of: t, zone: nil)
              case .duration(let d) where durationField: return TimeFunctions.field(field, of: d)
              default: return CELValue.noSuchOverload(name, value)
              }
            }
          ),
          (
            true, 2,
            .binary { value, zone in
              guard case .timestamp(let t) = value, case .string(let z) = zone else {
                return CELValue.noSuchOverload(name, value, zone)
              }
              return TimeFunctions.field(field, of: t, zone: z)
            }
          ),
        ]
      )
    }
  }

  // MARK: - Math

  private static func installMath(into env: inout CELEnvironment) {
    func extreme(_ name: String, greatest: Bool) -> CELImplementation {
      .variadic { args in
        var candidates = args
        if args.count == 1, case .list(let elements) = args[0] {
          guard !elements.isEmpty else {
            return .error(CELError("\(name)(list) argument must not be empty"))
          }
          candidates = elements
        }
        var best: CELValue? = nil
        for candidate in candidates {
          switch candidate {
          case .int, .uint, .double: break
          default: return CELValue.noSuchOverload(name, candidate)
          }
          guard let current = best else {
            best = candidate
            continue
          }
          let ordering = Operators.compareNumbers(candidate, current)
          if (greatest && ordering == .greater) || (!greatest && ordering == .less) {
            best = candidate
          }
          if case .double(let d) = candidate, d.isNaN { best = candidate }
        }
        return best ?? CELValue.noSuchOverload(name)
      }
    }
    for (name, greatest) in [("math.greatest", true), ("math.least", false)] {
      var signatures: [([CELType], CELType)] =
        numbers.map { ([$0], $0) } + numbers.map { ([.list($0)], $0) }
      signatures.append(([.list(.dyn)], .dyn))
      for arity in 2...12 {
        signatures.append((Array(repeating: .int, count: arity), .int))
        signatures.append((Array(repeating: .uint, count: arity), .uint))
        signatures.append((Array(repeating: .double, count: arity), .double))
        signatures.append((Array(repeating: .dyn, count: arity), .dyn))
      }
      let implementation = extreme(name, greatest: greatest)
      env.declareFunction(
        name,
        overloads: overloads(name, signatures),
        implementations: (1...12).map { (false, $0, implementation) }
      )
    }
    func doubleFunction(_ name: String, _ body: @escaping @Sendable (Double) -> Double) {
      env.declareFunction(
        name,
        overloads: overloads(name, [([.double], .double)]),
        implementations: [
          (
            false, 1,
            .unary { value in
              guard case .double(let d) = value else { return CELValue.noSuchOverload(name, value) }
              return .double(body(d))
            }
          )
        ]
      )
    }
    doubleFunction("math.ceil") { $0.rounded(.up) }
    doubleFunction("math.floor") { $0.rounded(.down) }
    doubleFunction("math.round") { $0.rounded(.toNearestOrAwayFromZero) }
    doubleFunction("math.trunc") { $0.rounded(.towardZero) }
    func predicate(_ name: String, _ body: @escaping @Sendable (Double) -> Bool) {
      env.declareFunction(
        name,
        overloads: overloads(name, [([.double], .bool)]),
        implementations: [
          (
            false, 1,
            .unary { value in
              guard case .double(let d) = value else { return CELValue.noSuchOverload(name, value) }
              return .bool(body(d))
            }
          )
        ]
      )
    }
    predicate("math.isInf") { $0.isInfinite }
    predicate("math.isNaN") { $0.isNaN }
    predicate("math.isFinite") { $0.isFinite }
    env.declareFunction(
      "math.abs",
      overloads: overloads("math.abs", numbers.map { ([$0], $0) }),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .int(let i): return i == .min ? Operators.overflow() : .int(abs(i))
            case .uint: return value
            case .double(let d): return .double(abs(d))
            default: return CELValue.noSuchOverload("math.abs", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "math.sign",
      overloads: overloads("math.sign", numbers.map { ([$0], $0) }),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .int(let i): return .int(i.signum())
            case .uint(let u): return .uint(u == 0 ? 0 : 1)
            case .double(let d): return .double(d.isNaN ? d : d > 0 ? 1 : d < 0 ? -1 : 0)
            default: return CELValue.noSuchOverload("math.sign", value)
            }
          }
        )
      ]
    )
    env.declareFunction(
      "math.sqrt",
      overloads: overloads("math.sqrt", numbers.map { ([$0], .double) }),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .int(let i): return .double(Double(i).squareRoot())
            case .uint(let u): return .double(Double(u).squareRoot())
            case .double(let d): return .double(d.squareRoot())
            default: return CELValue.noSuchOverload("math.sqrt", value)
            }
          }
        )
      ]
    )
    let bitOperations:
      [(String, @Sendable (Int64, Int64) -> Int64, @Sendable (UInt64, UInt64) -> UInt64)] = [
        ("math.bitAnd", { $0 & $1 }, { $0 & $1 }), ("math.bitOr", { $0 | $1 }, { $0 | $1 }),
        ("math.bitXor", { $0 ^ $1 }, { $0 ^ $1 }),
      ]
    for (name, signed, unsigned) in bitOperations {
      env.declareFunction(
        name,
        overloads: overloads(name, [([.int, .int], .int), ([.uint, .uint], .uint)]),
        implementations: [
          (
            false, 2,
            .binary { a, b in
              switch (a, b) {
              case (.int(let x), .int(let y)): return .int(signed(x, y))
              case (.uint(let x), .uint(let y)): return .uint(unsigned(x, y))
              default: return CELValue.noSuchOverload(name, a, b)
              }
            }
          )
        ]
      )
    }
    env.declareFunction(
      "math.bitNot",
      overloads: overloads("math.bitNot", [([.int], .int), ([.uint], .uint)]),
      implementations: [
        (
          false, 1,
          .unary { value in
            switch value {
            case .int(let i): return .int(~i)
            case .uint(let u): return .uint(~u)
            default: return CELValue.noSuchOverload("math.bitNot", value)
            }
          }
        )
      ]
    )
    for (name, left) in [("math.bitShiftLeft", true), ("math.bitShiftRight", false)] {
      env.declareFunction(
        name,
        overloads: overloads(name, [([.int, .int], .int), ([.uint, .int], .uint)]),
        implementations: [
          (
            false, 2,
            .binary { a, b in
              guard case .int(let shift) = b else { return CELValue.noSuchOverload(name, a, b) }
              guard shift >= 0 else {
                return .error(CELError("\(name)() negative offset: \(shift)"))
              }
              switch a {
              case .int(let x):
                if shift >= 64 { return .int(0) }
                // Right shifts of signed values are logical, as in cel-go.
                return .int(
                  left ? x << shift : Int64(bitPattern: UInt64(bitPattern: x) >> UInt64(shift)))
              case .uint(let x):
                if shift >= 64 { return .uint(0) }
                return .uint(left ? x << UInt64(shift) : x >> UInt64(shift))
              default: return CELValue.noSuchOverload(name, a, b)
              }
            }
          )
        ]
      )
    }
  }
}
