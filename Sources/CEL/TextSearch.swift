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
}
