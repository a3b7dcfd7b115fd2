/// A token of CEL source.
struct Token: Sendable {
  enum Kind: Sendable, Equatable {
    case identifier(String)
    /// An integer literal's magnitude, and whether it carries the `u` suffix. The magnitude may
    /// exceed `Int64.max` so that `-9223372036854775808` can be parsed.
    case int(UInt64, overflow: Bool)
    case uint(UInt64, overflow: Bool)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case punctuation(String)
    case end
    case invalid(String)
  }

  var kind: Kind
  /// Offset of the first scalar.
  var offset: Int
}

/// Turns CEL source into tokens.
struct Lexer {
  let source: [Unicode.Scalar]
  var position = 0

  init(_ source: CELSource) {
    self.source = source.scalars
  }

  private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
    let index = self.position + ahead
    return index < self.source.count ? self.source[index] : nil
  }

  private static func isDigit(_ scalar: Unicode.Scalar?) -> Bool {
    guard let scalar else { return false }
    return scalar.value >= 48 && scalar.value <= 57
  }

  private static func isHexDigit(_ scalar: Unicode.Scalar?) -> Bool {
    guard let scalar else { return false }
    return isDigit(scalar) || ("a"..."f").contains(scalar) || ("A"..."F").contains(scalar)
  }

  private static func isIdentifierStart(_ scalar: Unicode.Scalar?) -> Bool {
    guard let scalar else { return false }
    return scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
  }

  private static func isIdentifierPart(_ scalar: Unicode.Scalar?) -> Bool {
    isIdentifierStart(scalar) || isDigit(scalar)
  }

  mutating func skipWhitespaceAndComments() {
    while let scalar = self.peek() {
      if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}" {
        self.position += 1
      } else if scalar == "/" && self.peek(1) == "/" {
        while let next = self.peek(), next != "\n" { self.position += 1 }
      } else {
        return
      }
    }
  }

  mutating func next() -> Token {
    self.skipWhitespaceAndComments()
    let start = self.position
    guard let scalar = self.peek() else { return Token(kind: .end, offset: start) }

    // String and bytes literals, with their r/R and b/B prefixes.
    var prefixLength = 0
    var raw = false
    var bytes = false
    while prefixLength < 2, let prefix = self.peek(prefixLength) {
      if (prefix == "r" || prefix == "R") && !raw {
        raw = true
      } else if (prefix == "b" || prefix == "B") && !bytes {
        bytes = true
      } else {
        break
      }
      prefixLength += 1
    }
    if prefixLength > 0, let quote = self.peek(prefixLength), quote == "\"" || quote == "'" {
      self.position += prefixLength
      return self.lexQuoted(start: start, raw: raw, bytes: bytes)
    }
    if scalar == "\"" || scalar == "'" {
      return self.lexQuoted(start: start, raw: false, bytes: false)
    }

    if Self.isIdentifierStart(scalar) {
      var name = String.UnicodeScalarView()
      while Self.isIdentifierPart(self.peek()) {
        name.append(self.source[self.position])
        self.position += 1
      }
      return Token(kind: .identifier(String(name)), offset: start)
    }

    if Self.isDigit(scalar) || (scalar == "." && Self.isDigit(self.peek(1))) {
      return self.lexNumber(start: start)
    }

    let twoCharacter = ["==", "!=", "<=", ">=", "&&", "||"]
    if let second = self.peek(1) {
      let pair = String(scalar) + String(second)
      if twoCharacter.contains(pair) {
        self.position += 2
        return Token(kind: .punctuation(pair), offset: start)
      }
    }
    if "+-*/%!<>?:.,()[]{}".unicodeScalars.contains(scalar) {
      self.position += 1
      return Token(kind: .punctuation(String(scalar)), offset: start)
    }
    self.position += 1
    return Token(
      kind: .invalid("unexpected character '\(scalar.escaped(asASCII: false))'"), offset: start)
  }

  private mutating func lexNumber(start: Int) -> Token {
    // Hexadecimal integers.
    if self.peek() == "0", self.peek(1) == "x" || self.peek(1) == "X" {
      self.position += 2
      var digits = ""
      while Self.isHexDigit(self.peek()) {
        digits.unicodeScalars.append(self.source[self.position])
        self.position += 1
      }
      guard !digits.isEmpty else {
        return Token(kind: .invalid("malformed hexadecimal literal"), offset: start)
      }
      let value = UInt64(digits, radix: 16)
      if self.peek() == "u" || self.peek() == "U" {
        self.position += 1
        return Token(kind: .uint(value ?? 0, overflow: value == nil), offset: start)
      }
      return Token(kind: .int(value ?? 0, overflow: value == nil), offset: start)
    }
    var text = ""
    var isDouble = false
    while Self.isDigit(self.peek()) {
      text.unicodeScalars.append(self.source[self.position])
      self.position += 1
    }
    if self.peek() == ".", Self.isDigit(self.peek(1)) {
      isDouble = true
      text += "."
      self.position += 1
      while Self.isDigit(self.peek()) {
        text.unicodeScalars.append(self.source[self.position])
        self.position += 1
      }
    }
    if self.peek() == "e" || self.peek() == "E" {
      var lookahead = 1
      if self.peek(1) == "+" || self.peek(1) == "-" { lookahead = 2 }
      if Self.isDigit(self.peek(lookahead)) {
        isDouble = true
        text += "e"
        if lookahead == 2, let sign = self.peek(1) { text.unicodeScalars.append(sign) }
        self.position += lookahead
        while Self.isDigit(self.peek()) {
          text.unicodeScalars.append(self.source[self.position])
          self.position += 1
        }
      }
    }
    if isDouble {
      if text.hasPrefix(".") { text = "0" + text }
      return Token(kind: .double(Double(text) ?? .nan), offset: start)
    }
    let value = UInt64(text)
    if self.peek() == "u" || self.peek() == "U" {
      self.position += 1
      return Token(kind: .uint(value ?? 0, overflow: value == nil), offset: start)
    }
    return Token(kind: .int(value ?? 0, overflow: value == nil), offset: start)
  }

  /// Lexes a quoted literal; `position` is at the opening quote.
  private mutating func lexQuoted(start: Int, raw: Bool, bytes: Bool) -> Token {
    guard let quote = self.peek() else { return Token(kind: .end, offset: start) }
    let triple = self.peek(1) == quote && self.peek(2) == quote
    self.position += triple ? 3 : 1
    var scalars: [Unicode.Scalar] = []
    var byteValues: [UInt8] = []

    func appendScalar(_ scalar: Unicode.Scalar) {
      if bytes {
        byteValues.append(contentsOf: Array(String(scalar).utf8))
      } else {
        scalars.append(scalar)
      }
    }

    while true {
      guard let scalar = self.peek() else {
        return Token(kind: .invalid("unterminated string literal"), offset: start)
      }
      if triple {
        if scalar == quote && self.peek(1) == quote && self.peek(2) == quote {
          self.position += 3
          break
        }
      } else {
        if scalar == quote {
          self.position += 1
          break
        }
        if scalar == "\n" || scalar == "\r" {
          return Token(
            kind: .invalid("unterminated string literal (a line break inside a quoted string)"),
            offset: start)
        }
      }
      if scalar == "\\" && !raw {
        let escapeStart = self.position
        self.position += 1
        guard let escaped = self.peek() else {
          return Token(kind: .invalid("unterminated string literal"), offset: start)
        }
        self.position += 1
        switch escaped {
        case "a": appendScalar("\u{07}")
        case "b": appendScalar("\u{08}")
        case "f": appendScalar("\u{0C}")
        case "n": appendScalar("\n")
        case "r": appendScalar("\r")
        case "t": appendScalar("\t")
        case "v": appendScalar("\u{0B}")
        case "\\", "'", "\"", "`", "?": appendScalar(escaped)
        case "x", "X", "u", "U":
          let count = escaped == "u" ? 4 : escaped == "U" ? 8 : 2
          var value: UInt32 = 0
          for _ in 0..<count {
            guard let digit = self.peek(), Self.isHexDigit(digit) else {
              return Token(kind: .invalid("invalid escape sequence"), offset: escapeStart)
            }
            value = value * 16 + UInt32(Int(String(digit), radix: 16) ?? 0)
            self.position += 1
          }
          if bytes && count == 2 {
            byteValues.append(UInt8(value))
          } else if bytes && count > 2 {
            return Token(
              kind: .invalid("\\u and \\U escapes are not allowed in bytes literals"),
              offset: escapeStart)
          } else if let scalar = Unicode.Scalar(value) {
            appendScalar(scalar)
          } else {
            return Token(
              kind: .invalid("invalid code point in escape sequence"), offset: escapeStart)
          }
        case "0"..."3":
          var value = UInt32(escaped.value - 48)
          for _ in 0..<2 {
            guard let digit = self.peek(), ("0"..."7").contains(digit) else {
              return Token(kind: .invalid("invalid octal escape sequence"), offset: escapeStart)
            }
            value = value * 8 + (digit.value - 48)
            self.position += 1
          }
          if bytes {
            byteValues.append(UInt8(value))
          } else if let scalar = Unicode.Scalar(value) {
            appendScalar(scalar)
          }
        default:
          return Token(
            kind: .invalid("invalid escape sequence '\\\(escaped)'"), offset: escapeStart)
        }
        continue
      }
      if scalar == "\r" && triple {
        // A literal CR LF in a triple-quoted string reads as written.
        appendScalar(scalar)
        self.position += 1
        continue
      }
      appendScalar(scalar)
      self.position += 1
    }
    if bytes { return Token(kind: .bytes(byteValues), offset: start) }
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars)
    return Token(kind: .string(String(view)), offset: start)
  }
}
