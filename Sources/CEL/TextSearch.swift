#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Substring search by code points. UTF-8 is self-synchronising, so a byte-wise match is a
/// code point match; Swift's own `contains` compares by grapheme and canonical equivalence,
/// which CEL does not.
enum TextSearch {
  static func contains(_ haystack: String, _ needle: String) -> Bool {
    if needle.isEmpty { return true }
    var haystack = haystack
    var needle = needle
    return haystack.withUTF8 { h in
      needle.withUTF8 { n in
        guard n.count <= h.count, let hb = h.baseAddress, let nb = n.baseAddress else {
          return false
        }
        // memchr finds candidates for the first byte; memcmp confirms.
        let first = Int32(nb.pointee)
        var start = 0
        let lastStart = h.count - n.count
        while start <= lastStart {
          guard let found = memchr(hb + start, first, lastStart - start + 1) else { return false }
          let position = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - hb
          if memcmp(hb + position, nb, n.count) == 0 { return true }
          start = position + 1
        }
        return false
      }
    }
  }

  /// Whether two strings have the same code points (not canonical equivalence, which
  /// Swift's `==` tests).
  @inline(__always)
  static func sameScalars(_ a: String, _ b: String) -> Bool {
    guard a.utf8.count == b.utf8.count else { return false }
    let result = a.utf8.withContiguousStorageIfAvailable { x in
      b.utf8.withContiguousStorageIfAvailable { y -> Bool in
        guard x.count == y.count else { return false }
        guard let xb = x.baseAddress, let yb = y.baseAddress else { return true }
        return memcmp(xb, yb, x.count) == 0
      }
    }
    if let known = result ?? nil { return known }
    return a.utf8.elementsEqual(b.utf8)
  }
}
