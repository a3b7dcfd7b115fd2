/// The strings extension of cel-go (`ext.Strings`): indices count Unicode code points.
enum StringExtension {
  private static func outOfRange(_ index: Int64) -> CELValue {
    .error(CELError("index out of range: \(index)"))
  }

  static func install(into env: inout CELEnvironment) {
    func declare(
      _ name: String, _ signatures: [([CELType], CELType)], member: Bool = true,
      _ implementations: [(Int, CELImplementation)]
    ) {
      env.declareFunction(
        name,
        overloads: signatures.enumerated().map {
          CELOverload(
            id: "\(name)_\($0.offset)", member: member, parameters: $0.element.0,
            result: $0.element.1)
        },
        implementations: implementations.map { (member, $0.0, $0.1) }
      )
    }

    declare(
      "charAt", [([.string, .int], .string)],
      [
        (
          2,
          .binary { s, i in
            guard case .string(let text) = s, case .int(let index) = i else {
              return CELValue.noSuchOverload("charAt", s, i)
            }
            let scalars = Array(text.unicodeScalars)
            guard index >= 0, index <= scalars.count else { return outOfRange(index) }
            return .string(index == scalars.count ? "" : String(scalars[Int(index)]))
          }
        )
      ])

    declare(
      "indexOf", [([.string, .string], .int), ([.string, .string, .int], .int)],
      [
        (2, .binary { s, sub in indexOf(s, sub, start: .int(0), last: false) }),
        (3, .ternary { s, sub, start in indexOf(s, sub, start: start, last: false) }),
      ])
    declare(
      "lastIndexOf", [([.string, .string], .int), ([.string, .string, .int], .int)],
      [
        (2, .binary { s, sub in indexOf(s, sub, start: nil, last: true) }),
        (3, .ternary { s, sub, start in indexOf(s, sub, start: start, last: true) }),
      ])

    for (name, upper) in [("lowerAscii", false), ("upperAscii", true)] {
      declare(
        name, [([.string], .string)],
        [
          (
            1,
            .unary { s in
              guard case .string(let text) = s else { return CELValue.noSuchOverload(name, s) }
              var out = String.UnicodeScalarView()
              for scalar in text.unicodeScalars {
                let v = scalar.value
                if upper, v >= 97, v <= 122, let mapped = Unicode.Scalar(v - 32) {
                  out.append(mapped)
                } else if !upper, v >= 65, v <= 90, let mapped = Unicode.Scalar(v + 32) {
                  out.append(mapped)
                } else {
                  out.append(scalar)
                }
              }
              return .string(String(out))
            }
          )
        ])
    }

    declare(
      "replace",
      [([.string, .string, .string], .string), ([.string, .string, .string, .int], .string)],
      [
        (3, .ternary { s, old, new in replace(s, old, new, .int(-1)) }),
        (4, .variadic { args in replace(args[0], args[1], args[2], args[3]) }),
      ])

    declare(
      "split",
      [([.string, .string], .list(.string)), ([.string, .string, .int], .list(.string))],
      [
        (2, .binary { s, separator in split(s, separator, .int(-1)) }),
        (3, .ternary { s, separator, limit in split(s, separator, limit) }),
      ])

    declare(
      "substring", [([.string, .int], .string), ([.string, .int, .int], .string)],
      [
        (
          2,
          .binary { s, start in
            guard case .string(let text) = s, case .int(let from) = start else {
              return CELValue.noSuchOverload("substring", s, start)
            }
            let scalars = Array(text.unicodeScalars)
            guard from >= 0, from <= scalars.count else { return outOfRange(from) }
            return .string(string(scalars[Int(from)...]))
          }
        ),
        (
          3,
          .ternary { s, start, end in
            guard case .string(let text) = s, case .int(let from) = start, case .int(let to) = end
            else {
              return CELValue.noSuchOverload("substring", s, start, end)
            }
            let scalars = Array(text.unicodeScalars)
            guard from >= 0, from <= scalars.count else { return outOfRange(from) }
            guard to >= 0, to <= scalars.count else { return outOfRange(to) }
            guard from <= to else {
              return .error(CELError("invalid substring range. start: \(from), end: \(to)"))
            }
            return .string(string(scalars[Int(from)..<Int(to)]))
          }
        ),
      ])

    declare(
      "trim", [([.string], .string)],
      [
        (
          1,
          .unary { s in
            guard case .string(let text) = s else { return CELValue.noSuchOverload("trim", s) }
            let scalars = Array(text.unicodeScalars)
            var start = 0
            var end = scalars.count
            while start < end, scalars[start].properties.isWhitespace { start += 1 }
            while end > start, scalars[end - 1].properties.isWhitespace { end -= 1 }
            return .string(string(scalars[start..<end]))
          }
        )
      ])

    declare(
      "join", [([.list(.string)], .string), ([.list(.string), .string], .string)],
      [
        (1, .unary { list in join(list, .string("")) }),
        (2, .binary { list, separator in join(list, separator) }),
      ])

    declare(
      "reverse", [([.string], .string)],
      [
        (
          1,
          .unary { s in
            guard case .string(let text) = s else { return CELValue.noSuchOverload("reverse", s) }
            return .string(string(text.unicodeScalars.reversed()))
          }
        )
      ])

    declare(
      "format", [([.string, .list(.dyn)], .string)],
      [
        (
          2,
          .binary { s, args in
            guard case .string(let template) = s, case .list(let values) = args else {
              return CELValue.noSuchOverload("format", s, args)
            }
            return Formatting.format(template, values)
          }
        )
      ])

    declare(
      "strings.quote", [([.string], .string)], member: false,
      [
        (
          1,
          .unary { s in
            guard case .string(let text) = s else {
              return CELValue.noSuchOverload("strings.quote", s)
            }
            return .string(Formatting.quote(text))
          }
        )
      ])
  }

  static func string<S: Sequence<Unicode.Scalar>>(_ scalars: S) -> String {
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return String(view)
  }

  /// `indexOf`/`lastIndexOf` in code points. For `lastIndexOf`, `start` is the last position
  /// a match may begin at.
  static func indexOf(_ s: CELValue, _ sub: CELValue, start: CELValue?, last: Bool) -> CELValue {
    let name = last ? "lastIndexOf" : "indexOf"
    guard case .string(let text) = s, case .string(let needle) = sub else {
      return start.map { CELValue.noSuchOverload(name, s, sub, $0) }
        ?? CELValue.noSuchOverload(name, s, sub)
    }
    let haystack = Array(text.unicodeScalars)
    let pattern = Array(needle.unicodeScalars)
    var origin: Int64
    switch start {
    case nil: origin = last ? Int64(haystack.count) : 0
    case .int(let i)?: origin = i
    case let other?: return CELValue.noSuchOverload(name, s, sub, other)
    }
    guard origin >= 0, origin <= haystack.count else { return outOfRange(origin) }
    if pattern.isEmpty { return .int(origin) }
    if pattern.count > haystack.count { return .int(-1) }
    let position = Int(origin)
    if last {
      var i = min(position, haystack.count - pattern.count)
      while i >= 0 {
        if haystack[i..<(i + pattern.count)].elementsEqual(pattern) { return .int(Int64(i)) }
        i -= 1
      }
    } else {
      var i = position
      while i + pattern.count <= haystack.count {
        if haystack[i..<(i + pattern.count)].elementsEqual(pattern) { return .int(Int64(i)) }
        i += 1
      }
    }
    return .int(-1)
  }

  static func replace(_ s: CELValue, _ old: CELValue, _ new: CELValue, _ limit: CELValue)
    -> CELValue
  {
    guard case .string(let text) = s, case .string(let target) = old,
      case .string(let replacement) = new,
      case .int(let n) = limit
    else { return CELValue.noSuchOverload("replace", s, old, new, limit) }
    if n == 0 { return s }
    let haystack = Array(text.unicodeScalars)
    let pattern = Array(target.unicodeScalars)
    var out = String.UnicodeScalarView()
    var replaced: Int64 = 0
    var i = 0
    if pattern.isEmpty {
      // Go's strings.Replace: an empty old string matches before every code point and at the end.
      for scalar in haystack {
        if n < 0 || replaced < n {
          out.append(contentsOf: replacement.unicodeScalars)
          replaced += 1
        }
        out.append(scalar)
      }
      if n < 0 || replaced < n { out.append(contentsOf: replacement.unicodeScalars) }
      return .string(String(out))
    }
    while i < haystack.count {
      if n < 0 || replaced < n, i + pattern.count <= haystack.count,
        haystack[i..<(i + pattern.count)].elementsEqual(pattern)
      {
        out.append(contentsOf: replacement.unicodeScalars)
        i += pattern.count
        replaced += 1
      } else {
        out.append(haystack[i])
        i += 1
      }
    }
    return .string(String(out))
  }

  /// Go's `strings.SplitN`: n < 0 splits everywhere, n == 0 gives an empty list, n > 0 at most
  /// n parts (the last holding the rest).
  static func split(_ s: CELValue, _ separator: CELValue, _ limit: CELValue) -> CELValue {
    guard case .string(let text) = s, case .string(let sep) = separator, case .int(let n) = limit
    else {
      return CELValue.noSuchOverload("split", s, separator, limit)
    }
    if n == 0 { return .list([]) }
    let haystack = Array(text.unicodeScalars)
    let pattern = Array(sep.unicodeScalars)
    var parts: [CELValue] = []
    if pattern.isEmpty {
      for (index, scalar) in haystack.enumerated() {
        if n > 0 && parts.count == n - 1 {
          parts.append(.string(string(haystack[index...])))
          return .list(parts)
        }
        parts.append(.string(String(scalar)))
      }
      return .list(parts)
    }
    var start = 0
    var i = 0
    while i + pattern.count <= haystack.count {
      if n > 0 && parts.count == n - 1 { break }
      if haystack[i..<(i + pattern.count)].elementsEqual(pattern) {
        parts.append(.string(string(haystack[start..<i])))
        i += pattern.count
        start = i
      } else {
        i += 1
      }
    }
    parts.append(.string(string(haystack[start...])))
    return .list(parts)
  }

  static func join(_ list: CELValue, _ separator: CELValue) -> CELValue {
    guard case .list(let elements) = list, case .string(let sep) = separator else {
      return CELValue.noSuchOverload("join", list, separator)
    }
    var strings: [String] = []
    strings.reserveCapacity(elements.count)
    for element in elements {
      guard case .string(let s) = element else {
        return CELValue.noSuchOverload("join", list, separator)
      }
      strings.append(s)
    }
    return .string(strings.joined(separator: sep))
  }
}
