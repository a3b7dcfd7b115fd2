import Foundation

/// Timestamps and durations: parsing, formatting, arithmetic and calendar accessors.
enum TimeFunctions {
  static func rangeError() -> CELValue { .error(CELError("timestamp out of range")) }

  static func add(_ t: CELTimestamp, _ d: CELDuration, sign: Int64) -> CELValue {
    let (s, o) = t.seconds.addingReportingOverflow(sign * d.seconds)
    guard !o, let result = CELTimestamp(seconds: s, nanos: t.nanos + Int32(sign) * d.nanos) else {
      return rangeError()
    }
    return .timestamp(result)
  }

  // MARK: Civil calendar (proleptic Gregorian), after Howard Hinnant's algorithms

  static func civil(fromDays z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
  }

  static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = month > 2 ? month - 3 : month + 9
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
    var q = a / b
    var r = a % b
    if r < 0 {
      q -= 1
      r += b
    }
    return (q, r)
  }

  // MARK: Parsing

  /// Parses RFC 3339: `2009-02-13T23:31:30Z`, `2009-02-13T23:31:30.123456789+01:00`.
  static func parseTimestamp(_ text: String) -> CELTimestamp? {
    let s = Array(text.utf8)
    var i = 0
    func number(_ count: Int) -> Int64? {
      guard i + count <= s.count else { return nil }
      var value: Int64 = 0
      for k in 0..<count {
        let c = s[i + k]
        guard c >= 48, c <= 57 else { return nil }
        value = value * 10 + Int64(c - 48)
      }
      i += count
      return value
    }
    func expect(_ c: UInt8...) -> Bool {
      guard i < s.count, c.contains(s[i]) else { return false }
      i += 1
      return true
    }
    guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
      expect(84, 116), let hour = number(2), expect(58), let minute = number(2), expect(58),
      let second = number(2)
    else { return nil }
    var nanos: Int64 = 0
    if i < s.count, s[i] == 46 {
      i += 1
      var digits = 0
      while i < s.count, s[i] >= 48, s[i] <= 57 {
        if digits < 9 { nanos = nanos * 10 + Int64(s[i] - 48) }
        digits += 1
        i += 1
      }
      guard digits > 0 else { return nil }
      for _ in min(digits, 9)..<9 { nanos *= 10 }
    }
    var offset: Int64 = 0
    if expect(90, 122) {
      offset = 0
    } else if i < s.count, s[i] == 43 || s[i] == 45 {
      let negative = s[i] == 45
      i += 1
      guard let oh = number(2), expect(58), let om = number(2) else { return nil }
      offset = (oh * 3600 + om * 60) * (negative ? -1 : 1)
    } else {
      return nil
    }
    guard i == s.count, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
      hour < 24, minute < 60, second < 60
    else { return nil }
    let seconds =
      days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
    return CELTimestamp(seconds: seconds, nanos: Int32(nanos))
  }

  static func daysIn(month: Int64, year: Int64) -> Int64 {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Parses Go-style durations: `1h2m3.5s`, `-1.5h`, `100ms`, `3us`, `3µs`, `7ns`, `0`.
  static func parseDuration(_ text: String) -> CELDuration? {
    var s = Substring(text)
    var negative = false
    if s.first == "-" || s.first == "+" {
      negative = s.first == "-"
      s = s.dropFirst()
    }
    if s == "0" { return CELDuration(seconds: 0, nanos: 0) }
    guard !s.isEmpty else { return nil }
    var total: Double = 0
    var totalNanos: Int64 = 0
    while !s.isEmpty {
      var numberText = ""
      while let c = s.first, c.isASCII, c.isNumber || c == "." {
        numberText.append(c)
        s = s.dropFirst()
      }
      guard !numberText.isEmpty, let value = Double(numberText) else { return nil }
      var unit = ""
      while let c = s.first, !(c.isASCII && (c.isNumber || c == ".")) {
        unit.append(c)
        s = s.dropFirst()
      }
      let scale: Int64
      switch unit {
      case "h": scale = 3_600_000_000_000
      case "m": scale = 60_000_000_000
      case "s": scale = 1_000_000_000
      case "ms": scale = 1_000_000
      case "us", "µs", "μs": scale = 1000
      case "ns": scale = 1
      default: return nil
      }
      // Whole parts exactly, fractions through Double.
      if let whole = Int64(numberText) {
        let (product, o) = whole.multipliedReportingOverflow(by: scale)
        guard !o else { return nil }
        let (sum, o2) = totalNanos.addingReportingOverflow(product)
        guard !o2 else { return nil }
        totalNanos = sum
      } else {
        total += value * Double(scale)
      }
    }
    let fractional = total.rounded()
    guard fractional.magnitude < 9.2e18 else { return nil }
    let (sum, o) = totalNanos.addingReportingOverflow(Int64(fractional))
    guard !o else { return nil }
    return CELDuration(totalNanoseconds: negative ? -sum : sum)
  }

  // MARK: Formatting

  static func format(_ t: CELTimestamp) -> String {
    let (days, secondsOfDay) = floorDivide(t.seconds, 86_400)
    let (y, m, d) = civil(fromDays: days)
    func pad(_ v: Int64, _ width: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    var text =
      "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay % 3600 / 60, 2)):\(pad(secondsOfDay % 60, 2))"
    if t.nanos != 0 {
      var fraction = pad(Int64(t.nanos), 9)
      while fraction.hasSuffix("0") { fraction.removeLast() }
      text += "." + fraction
    }
    return text + "Z"
  }

  static func format(_ d: CELDuration) -> String {
    if d.nanos == 0 { return "\(d.seconds)s" }
    let negative = d.seconds < 0 || d.nanos < 0
    var fraction = String(abs(Int64(d.nanos)))
    fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(negative ? "-" : "")\(abs(d.seconds)).\(fraction)s"
  }

  // MARK: Accessors

  /// The UTC offset in seconds of a time zone at a moment: an IANA name (`America/New_York`,
  /// `UTC`) or a fixed offset (`+05:30`, `-08:00`, `05:30`).
  static func offset(of zone: String, at t: CELTimestamp) -> Int64? {
    if let first = zone.first, first == "+" || first == "-" || first.isNumber {
      let negative = first == "-"
      let body = first.isNumber ? Substring(zone) : zone.dropFirst()
      let parts = body.split(separator: ":")
      guard parts.count == 2, let h = Int64(parts[0]), let m = Int64(parts[1]), h < 24, m < 60
      else { return nil }
      return (h * 3600 + m * 60) * (negative ? -1 : 1)
    }
    guard let timeZone = TimeZone(identifier: zone) else { return nil }
    return Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.seconds))))
  }

  enum Field {
    case fullYear, month, dayOfYear, dayOfMonth, date, dayOfWeek, hours, minutes, seconds,
      milliseconds
  }

  static func field(_ field: Field, of t: CELTimestamp, zone: String?) -> CELValue {
    var seconds = t.seconds
    if let zone {
      guard let offset = offset(of: zone, at: t) else {
        return .error(CELError("unknown time zone '\(zone)'"))
      }
      seconds += offset
    }
    let (days, secondsOfDay) = floorDivide(seconds, 86_400)
    let (y, m, d) = civil(fromDays: days)
    switch field {
    case .fullYear: return .int(y)
    case .month: return .int(m - 1)
    case .dayOfYear: return .int(days - self.days(fromCivil: y, 1, 1))
    case .dayOfMonth: return .int(d - 1)
    case .date: return .int(d)
    case .dayOfWeek: return .int(floorDivide(days + 4, 7).1)
    case .hours: return .int(secondsOfDay / 3600)
    case .minutes: return .int(secondsOfDay % 3600 / 60)
    case .seconds: return .int(secondsOfDay % 60)
    case .milliseconds: return .int(Int64(t.nanos) / 1_000_000)
    }
  }

  static func field(_ field: Field, of d: CELDuration) -> CELValue {
    switch field {
    case .hours: return .int(d.seconds / 3600)
    case .minutes: return .int(d.seconds / 60)
    case .seconds: return .int(d.seconds)
    case .milliseconds: return .int(d.seconds * 1000 + Int64(d.nanos) / 1_000_000)
    default: return .error(CELError("no such overload"))
    }
  }
}
