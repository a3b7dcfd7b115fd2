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
  }

  /// Splits `text` into normalised words with their offsets.
  public static func words(_ text: String) -> [Word] {
    var words: [Word] = []
    var current = String.UnicodeScalarView()
    var start = 0
    var offset = 0
    func flush() {
      if !current.isEmpty {
        words.append(Word(stem: stem(fold(String(current))), start: start, end: offset))
        current.removeAll()
      }
    }
    for scalar in text.unicodeScalars {
      let properties = scalar.properties
      if properties.isAlphabetic || properties.numericType != nil
        || (properties.generalCategory == .nonspacingMark && !current.isEmpty)
      {
        if current.isEmpty { start = offset }
        current.append(scalar)
      } else if scalar == "'" || scalar == "\u{2019}", !current.isEmpty {
        // Apostrophes inside words ("don't", "state's") stay with the word.
        current.append("'")
      } else {
        flush()
      }
      offset += 1
    }
    flush()
    return words
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
  ].map { phrase in TextNormalizer.words(phrase).map(\.stem) }
}

/// One sentence of a text field, with its words.
public struct Sentence: Sendable {
  /// The field it comes from: `body`, `title`, `commitments[2].description`...
  public var field: String
  /// Offsets of the sentence in the field, in Unicode scalars.
  public var start: Int
  public var end: Int
  /// The sentence as written.
  public var text: String
  var words: [TextNormalizer.Word]
  /// Indices (into `words`) of words that begin a new clause.
  var clauseStarts: [Int]
  /// Whether the sentence is hedged ("we encourage", "to be discussed in a later phase").
  var hedged: Bool
}

/// Splits text fields into sentences.
enum SentenceSplitter {
  static func sentences(of text: String, field: String) -> [Sentence] {
    let scalars = Array(text.unicodeScalars)
    var result: [Sentence] = []
    var start = 0
    var i = 0
    func emit(_ end: Int) {
      var s = start
      var e = end
      while s < e, scalars[s].properties.isWhitespace { s += 1 }
      while e > s, scalars[e - 1].properties.isWhitespace { e -= 1 }
      if e > s {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[s..<e])
        let sentenceText = String(view)
        var words = TextNormalizer.words(sentenceText)
        for index in words.indices {
          words[index].start += s
          words[index].end += s
        }
        result.append(
          makeSentence(
            field: field, start: s, end: e, text: sentenceText, words: words, scalars: scalars))
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
    words: [TextNormalizer.Word],
    scalars: [Unicode.Scalar]
  ) -> Sentence {
    // A clause starts after , ; : — ( and before a clause-breaking conjunction.
    var clauseStarts: [Int] = [0]
    for index in words.indices.dropFirst() {
      let gap = scalars[words[index - 1].end..<words[index].start]
      if gap.contains(where: { ",;:()\u{2014}\u{2013}".unicodeScalars.contains($0) })
        || Cues.clauseBreakers.contains(words[index].stem)
      {
        clauseStarts.append(index)
      }
    }
    let stems = words.map(\.stem)
    var hedged = false
    for hedge in Cues.hedges where !hedge.isEmpty && stems.count >= hedge.count {
      for position in 0...(stems.count - hedge.count)
      where Array(stems[position..<(position + hedge.count)]) == hedge {
        hedged = true
        break
      }
      if hedged { break }
    }
    return Sentence(
      field: field, start: start, end: end, text: text, words: words, clauseStarts: clauseStarts,
      hedged: hedged)
  }
}
