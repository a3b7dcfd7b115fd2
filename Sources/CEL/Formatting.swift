import Foundation

/// How values are written as text: `string()` conversions, `%s` in `format`, error messages.
enum Formatting {
  /// Formats a double as cel-go does (Go's `%g` with the shortest representation that
  /// round-trips): `123`, `-0.0045`, `1e+100`, `NaN`, `Infinity`.
  static func double(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
    if d == 0 { return d.sign == .minus ? "-0" : "0" }
    // Swift's description is the shortest round-tripping form; take its digits and exponent.
    var text = "\(d.magnitude)"
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      exponent = Int(text[text.index(after: e)...]) ?? 0
      text = String(text[..<e])
    }
    var integerPart = text
    var fractionPart = ""
    if let dot = text.firstIndex(of: ".") {
      integerPart = String(text[..<dot])
      fractionPart = String(text[text.index(after: dot)...])
    }
    var digits = integerPart + fractionPart
    var pointPosition = integerPart.count + exponent
    while digits.hasPrefix("0") && digits.count > 1 {
      digits.removeFirst()
      pointPosition -= 1
    }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    let decimalExponent = pointPosition - 1
    let sign = d < 0 ? "-" : ""
    if decimalExponent < -4 || decimalExponent >= 21 {
      var mantissa = String(digits.prefix(1))
      if digits.count > 1 { mantissa += "." + digits.dropFirst() }
      let exponentSign = decimalExponent < 0 ? "-" : "+"
      let magnitude = abs(decimalExponent)
      return sign + mantissa + "e" + exponentSign + (magnitude < 10 ? "0" : "") + String(magnitude)
    }
    if pointPosition <= 0 {
      return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
    }
    if pointPosition >= digits.count {
      return sign + digits + String(repeating: "0", count: pointPosition - digits.count)
    }
    let index = digits.index(digits.startIndex, offsetBy: pointPosition)
    return sign + digits[..<index] + "." + digits[index...]
  }

  /// A value as `%s` and error messages show it.
  static func display(_ value: CELValue) -> String {
    switch value {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .uint(let u): return String(u)
    case .double(let d): return double(d)
    case .string(let s): return s
    case .bytes(let b): return String(decoding: b, as: UTF8.self)
    case .list(let l): return "[" + l.map(display).joined(separator: ", ") + "]"
    case .map(let m):
      let entries = m.entries.map { (display($0.key), display($0.value)) }.sorted { $0.0 < $1.0 }
      return "{" + entries.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + "}"
    case .timestamp(let t): return TimeFunctions.format(t)
    case .duration(let d): return TimeFunctions.format(d)
    case .type(let t): return t.name
    case .object(let o): return o.objectType.name + "{}"
    case .error(let e): return "error(\(e.message))"
    }
  }

  /// `strings.quote`: a double-quoted string with escapes.
  static func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\u{07}": out += "\\a"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{0B}": out += "\\v"
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  /// The strings extension's `format`: `%s %d %f %e %x %X %o %b %%`, with precision.
  static func format(_ template: String, _ args: [CELValue]) -> CELValue {
    var out = ""
    var argumentIndex = 0
    let scalars = Array(template.unicodeScalars)
    var i = 0
    while i < scalars.count {
      let scalar = scalars[i]
      guard scalar == "%" else {
        out.unicodeScalars.append(scalar)
        i += 1
        continue
      }
      i += 1
      guard i < scalars.count else {
        return .error(CELError("could not parse formatting clause: unexpected end of string"))
      }
      if scalars[i] == "%" {
        out += "%"
        i += 1
        continue
      }
      var precision: Int? = nil
      if scalars[i] == "." {
        i += 1
        var digits = ""
        while i < scalars.count, ("0"..."9").contains(scalars[i]) {
          digits.unicodeScalars.append(scalars[i])
          i += 1
        }
        precision = Int(digits) ?? 0
      }
      guard i < scalars.count else {
        return .error(CELError("could not parse formatting clause: unexpected end of string"))
      }
      let verb = scalars[i]
      i += 1
      guard "sdfexXob".unicodeScalars.contains(verb) else {
        return .error(
          CELError("could not parse formatting clause: unrecognized formatting clause \"\(verb)\""))
      }
      guard argumentIndex < args.count else {
        return .error(CELError("index \(argumentIndex) out of range"))
      }
      let arg = args[argumentIndex]
      argumentIndex += 1
      switch clause(verb, precision: precision, arg) {
      case .success(let text): out += text
      case .failure(let error): return .error(CELError("error during formatting: \(error.message)"))
      }
    }
    return .string(out)
  }

  private static func clause(_ verb: Unicode.Scalar, precision: Int?, _ arg: CELValue) -> Result<
    String, CELError
  > {
    func nonFinite(_ d: Double) -> String? {
      if d.isNaN { return "NaN" }
      if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
      return nil
    }
    func asDouble(_ v: CELValue) -> Double? {
      switch v {
      case .double(let d): return d
      case .int(let i): return Double(i)
      case .uint(let u): return Double(u)
      default: return nil
      }
    }
    switch verb {
    case "s":
      if let problem = unformattable(arg) {
        return .failure(
          CELError(
            "string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps, was given \(problem)"
          ))
      }
      return .success(display(arg))
    case "d":
      switch arg {
      case .int(let i): return .success(String(i))
      case .uint(let u): return .success(String(u))
      case .double(let d) where !d.isFinite: return .success(nonFinite(d) ?? "")
      default:
        return .failure(
          CELError("decimal clause can only be used on integers, was given \(arg.typeValue)"))
      }
    case "f", "e":
      guard let d = asDouble(arg) else {
        let name = verb == "f" ? "fixed-point" : "scientific"
        return .failure(
          CELError("\(name) clause can only be used on doubles, was given \(arg.typeValue)"))
      }
      if let special = nonFinite(d) { return .success(special) }
      let digits = precision ?? 6
      return .success(String(format: verb == "f" ? "%.\(digits)f" : "%.\(digits)e", d))
    case "x", "X":
      let text: String
      switch arg {
      case .int(let i): text = i < 0 ? "-" + String(i.magnitude, radix: 16) : String(i, radix: 16)
      case .uint(let u): text = String(u, radix: 16)
      case .string(let s):
        text = s.utf8.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
      case .bytes(let b):
        text = b.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
      default:
        return .failure(
          CELError(
            "only integers, byte buffers, and strings can be formatted as hex, was given \(arg.typeValue)"
          ))
      }
      return .success(verb == "X" ? text.uppercased() : text)
    case "o":
      switch arg {
      case .int(let i):
        return .success(i < 0 ? "-" + String(i.magnitude, radix: 8) : String(i, radix: 8))
      case .uint(let u): return .success(String(u, radix: 8))
      default:
        return .failure(
          CELError("octal clause can only be used on integers, was given \(arg.typeValue)"))
      }
    case "b":
      switch arg {
      case .int(let i):
        return .success(i < 0 ? "-" + String(i.magnitude, radix: 2) : String(i, radix: 2))
      case .uint(let u): return .success(String(u, radix: 2))
      case .bool(let b): return .success(b ? "1" : "0")
      default:
        return .failure(
          CELError("only integers and bools can be formatted as binary, was given \(arg.typeValue)")
        )
      }
    default:
      return .failure(CELError("unrecognized formatting clause \"\(verb)\""))
    }
  }

  /// The type name of a value `%s` cannot show (objects, also inside lists and maps), if any.
  private static func unformattable(_ value: CELValue) -> String? {
    switch value {
    case .object(let object): return object.objectType.name
    case .list(let elements): return elements.lazy.compactMap(unformattable).first
    case .map(let map):
      return map.entries.lazy.compactMap { unformattable($0.key) ?? unformattable($0.value) }.first
    default: return nil
    }
  }
}

extension CELValue {
  /// The value as text, as `string()` and `%s` write it: `42`, `2.5`, `[1, 2]`, `{a: 1}`.
  public var displayText: String { Formatting.display(self) }
}
