import Foundation

/// How text is normalised for phrase matching: case- and accent-insensitive, split into words
/// (letters and digits), each reduced by a light stemmer so that simple inflections match
/// (`workshop`/`workshops`, `train`/`training`/`trained`, `country`/`countries`).
public enum TextNormalizer {
  /// A word of a text: its normalised form and its place in the original, in Unicode scalars.
  public struct Word: Sendable, Hashable {
    public var stem: String
    public var start: Int
    public var end: Int
    /// What the word is for sentence analysis, computed once per distinct word.
    var flags: Flags = []
    /// The word's token in the phrase matcher it was indexed for: -1 when no phrase has it,
    /// -2 when it was not looked up.
    var token: Int32 = -2
  }

  /// Properties of a word that the negation and hedging analysis reads.
  struct Flags: OptionSet, Sendable, Hashable {
    let rawValue: UInt8
    /// A negation cue ("not", "without", "excluding").
    static let negation = Flags(rawValue: 1)
    /// A conjunction that starts a clause ("but", "and").
    static let clauseBreaker = Flags(rawValue: 2)
    /// Clause punctuation (, ; : — parentheses) stands between this word and the previous one.
    static let punctuationBefore = Flags(rawValue: 4)
    /// The first word of a hedging phrase ("encourage", "to be discussed").
    static let hedgeStart = Flags(rawValue: 8)
    /// An auxiliary verb ("is", "will", "does").
    static let auxiliary = Flags(rawValue: 16)
  }

  static func flags(of stem: String) -> Flags {
    var flags: Flags = []
    if Cues.negations.contains(stem) { flags.insert(.negation) }
    if Cues.clauseBreakers.contains(stem) { flags.insert(.clauseBreaker) }
    if Cues.hedgeStarts.contains(stem) { flags.insert(.hedgeStart) }
    if TextIndex.auxiliaries.contains(stem) { flags.insert(.auxiliary) }
    return flags
  }

  /// Splits `text` into normalised words with their offsets. ASCII words are folded without
  /// Foundation, and each distinct word is stemmed once per call.
  public static func words(_ text: String) -> [Word] { words(text, tokens: nil) }

  /// Words with their matcher tokens looked up once per distinct word.
  static func words(_ text: String, tokens: [String: Int32]?) -> [Word] {
    var words: [Word] = []
    words.reserveCapacity(text.utf8.count / 6)
    var cache: [String: (String, Flags, Int32)] = [:]
    var punctuationSinceWord = false
    var buffer: [UInt8] = []
    buffer.reserveCapacity(32)
    var needsFolding = false
    var start = 0
    var offset = 0
    func flush() {
      guard !buffer.isEmpty else { return }
      let raw = String(decoding: buffer, as: UTF8.self)
      let normal: String
      var flags: Flags
      let token: Int32
      if let known = cache[raw] {
        (normal, flags, token) = known
      } else {
        normal = stem(needsFolding ? fold(raw) : stripApostrophes(raw))
        flags = Self.flags(of: normal)
        token = tokens.map { $0[normal] ?? -1 } ?? -2
        cache[raw] = (normal, flags, token)
      }
      if punctuationSinceWord { flags.insert(.punctuationBefore) }
      words.append(Word(stem: normal, start: start, end: offset, flags: flags, token: token))
      buffer.removeAll(keepingCapacity: true)
      needsFolding = false
      punctuationSinceWord = false
    }
    for scalar in text.unicodeScalars {
      let value = scalar.value
      if value < 0x80 {
        let byte = UInt8(value)
        if (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) {
          if buffer.isEmpty { start = offset }
          buffer.append(byte)
        } else if byte >= 65 && byte <= 90 {
          if buffer.isEmpty { start = offset }
          buffer.append(byte + 32)
        } else if byte == 39, !buffer.isEmpty {
          // Apostrophes inside words ("don't", "state's") stay with the word.
          buffer.append(byte)
        } else {
          flush()
          // , ; : ( ) end a clause for negation scope.
          if byte == 44 || byte == 59 || byte == 58 || byte == 40 || byte == 41 {
            punctuationSinceWord = true
          }
        }
      } else {
        let properties = scalar.properties
        if properties.isAlphabetic || properties.numericType != nil
          || (properties.generalCategory == .nonspacingMark && !buffer.isEmpty)
        {
          if buffer.isEmpty { start = offset }
          buffer.append(contentsOf: String(scalar).utf8)
          needsFolding = true
        } else if value == 0x2019, !buffer.isEmpty {
          buffer.append(39)
        } else {
          flush()
          if value == 0x2014 || value == 0x2013 { punctuationSinceWord = true }
        }
      }
      offset += 1
    }
    flush()
    return words
  }

  static func stripApostrophes(_ word: String) -> String {
    guard word.utf8.contains(39) else { return word }
    var stripped = word
    if stripped.hasSuffix("'s") { stripped.removeLast(2) }
    stripped.removeAll { $0 == "'" }
    return stripped
  }

  /// Lower case without accents: `Évaluation` → `evaluation`.
  public static func fold(_ word: String) -> String {
    var folded = word.folding(
      options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    if folded.hasSuffix("'s") { folded.removeLast(2) }
    folded.removeAll { $0 == "'" }
    return folded
  }

  /// A light English stemmer: plural and verb endings only.
  public static func stem(_ word: String) -> String {
    let count = word.count
    if count > 4, word.hasSuffix("ies") { return String(word.dropLast(3)) + "y" }
    if count > 4, word.hasSuffix("sses") { return String(word.dropLast(2)) }
    if count > 4, word.hasSuffix("ches") || word.hasSuffix("shes") || word.hasSuffix("xes") {
      return String(word.dropLast(2))
    }
    if count > 5, word.hasSuffix("ing") { return undouble(String(word.dropLast(3))) }
    if count > 4, word.hasSuffix("ed"), !word.hasSuffix("eed") {
      return undouble(String(word.dropLast(2)))
    }
    if count > 3, word.hasSuffix("s"), !word.hasSuffix("ss"), !word.hasSuffix("us"),
      !word.hasSuffix("is")
    {
      return String(word.dropLast())
    }
    return word
  }

  /// `plann` → `plan`, `submitt` → `submit`: undo the doubled consonant of -ing/-ed forms.
  private static func undouble(_ stem: String) -> String {
    guard stem.count > 2, let last = stem.last, let previous = stem.dropLast().last,
      last == previous,
      !"aeiouls".contains(last)
    else { return stem }
    return String(stem.dropLast())
  }
}

/// Words that end a clause for negation scope, and the cues of negation and of hedged,
/// aspirational language.
enum Cues {
  static let negations: Set<String> = Set(
    [
      "not", "no", "never", "without", "neither", "nor", "none", "cannot", "exclud", "excluding",
      "except", "lack",
      "absent", "nothing", "nobody", "denied", "deny", "refus", "non",
    ].map { TextNormalizer.stem($0) }
      + [
        "doesnt", "dont", "isnt", "arent", "wont", "cant", "didnt", "wasnt", "werent", "hasnt",
        "havent", "shouldnt",
      ]
  )
  /// Words that end a clause: negation before them does not reach past.
  static let clauseBreakers: Set<String> = [
    "but", "however", "although", "though", "whereas", "while", "yet", "and",
  ]
  /// Sentence-wide cues that a statement is an aspiration, not a commitment.
  static let hedges: [[String]] = [
    "encourage", "encourages", "encouraged", "explore", "will explore", "consider", "may consider",
    "aspire", "aspires", "hope", "hopes", "envisage", "strive", "seek to", "to be discussed",
    "later phase", "where possible", "as appropriate", "in principle", "would welcome",
    "if feasible",
  ].map { phrase in
    // Not through TextNormalizer.words, whose word flags read these cues.
    phrase.split(separator: " ").map { TextNormalizer.stem(String($0)) }
  }
  static let hedgeStarts: Set<String> = Set(hedges.compactMap(\.first))
}

/// One sentence of a text field, with its words.
public struct Sentence: Sendable {
  /// The field it comes from: `body`, `title`, `commitments[2].description`...
  public var field: String
  /// Offsets of the sentence in the field, in Unicode scalars.
  public var start: Int
  public var end: Int
  /// The field's whole text, and the sentence's bounds in it, to cut the quote on demand.
  let fieldText: String
  let lower: String.Index
  let upper: String.Index
  var words: [TextNormalizer.Word]
  /// Indices (into `words`) of words that begin a new clause.
  var clauseStarts: [Int]
  /// Whether the sentence is hedged ("we encourage", "to be discussed in a later phase").
  var hedged: Bool

  /// The sentence as written (cut from the field on demand: only quotes need it).
  public var text: String { String(self.fieldText.unicodeScalars[self.lower..<self.upper]) }
}

/// Splits text fields into sentences.
enum SentenceSplitter {
  static func sentences(of text: String, field: String, tokens: [String: Int32]? = nil)
    -> [Sentence]
  {
    let scalars = Array(text.unicodeScalars)
    // The field is tokenised once; each sentence takes its words by offset.
    let allWords = TextNormalizer.words(text, tokens: tokens)
    var nextWord = 0
    var result: [Sentence] = []
    var start = 0
    var i = 0
    // A cursor over the string's indices, moved forward only: bounds cost O(n) in all.
    var cursorOffset = 0
    var cursor = text.unicodeScalars.startIndex
    func index(at offset: Int) -> String.Index {
      while cursorOffset < offset {
        text.unicodeScalars.formIndex(after: &cursor)
        cursorOffset += 1
      }
      return cursor
    }
    func emit(_ end: Int) {
      var s = start
      var e = end
      while s < e, scalars[s].properties.isWhitespace { s += 1 }
      while e > s, scalars[e - 1].properties.isWhitespace { e -= 1 }
      if e > s {
        let firstWord = nextWord
        while nextWord < allWords.count, allWords[nextWord].start < e { nextWord += 1 }
        var words = Array(allWords[firstWord..<nextWord])
        // Punctuation before a sentence's first word belongs to the previous sentence.
        if !words.isEmpty { words[0].flags.remove(.punctuationBefore) }
        let lower = index(at: s)
        let upper = index(at: e)
        result.append(
          makeSentence(
            field: field, start: s, end: e, text: text, lower: lower, upper: upper, words: words))
      }
      start = end
    }
    while i < scalars.count {
      let c = scalars[i]
      if c == "\n"
        && (i + 1 < scalars.count
          && (scalars[i + 1] == "\n" || scalars[i + 1] == "-" || scalars[i + 1] == "*"))
      {
        emit(i + 1)
      } else if c == "." || c == "!" || c == "?" || c == ";" {
        // A sentence ends at . ! ? (and ;) followed by space and a capital, a digit or the end.
        var j = i + 1
        while j < scalars.count,
          scalars[j] == "\"" || scalars[j] == "'" || scalars[j] == ")" || scalars[j] == "\u{201D}"
        {
          j += 1
        }
        if j >= scalars.count {
          emit(j)
          i = j
          continue
        }
        if scalars[j].properties.isWhitespace {
          var k = j
          while k < scalars.count, scalars[k].properties.isWhitespace { k += 1 }
          if k >= scalars.count || scalars[k].properties.isUppercase
            || scalars[k].properties.numericType != nil
            || c == ";" || scalars[k] == "-" || scalars[k] == "*" || scalars[k] == "\u{2022}"
          {
            emit(j)
          }
        }
      }
      i += 1
    }
    emit(scalars.count)
    return result
  }

  static func makeSentence(
    field: String,
    start: Int,
    end: Int,
    text: String,
    lower: String.Index,
    upper: String.Index,
    words: [TextNormalizer.Word]
  ) -> Sentence {
    // A clause starts after , ; : — ( and at a clause-breaking conjunction.
    var clauseStarts: [Int] = [0]
    var hedgeCandidates = false
    for index in words.indices {
      let flags = words[index].flags
      if index > 0, !flags.isDisjoint(with: [.punctuationBefore, .clauseBreaker]) {
        clauseStarts.append(index)
      }
      if flags.contains(.hedgeStart) { hedgeCandidates = true }
    }
    var hedged = false
    if hedgeCandidates {
      hedgeSearch: for hedge in Cues.hedges where !hedge.isEmpty && words.count >= hedge.count {
        for position in 0...(words.count - hedge.count) where words[position].stem == hedge[0] {
          var equal = true
          for k in 1..<hedge.count where words[position + k].stem != hedge[k] {
            equal = false
            break
          }
          if equal {
            hedged = true
            break hedgeSearch
          }
        }
      }
    }
    return Sentence(
      field: field, start: start, end: end, fieldText: text, lower: lower, upper: upper,
      words: words,
      clauseStarts: clauseStarts,
      hedged: hedged)
  }

}
