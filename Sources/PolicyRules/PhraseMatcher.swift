/// Every phrase of a rule book compiled into one Aho–Corasick automaton over normalised words,
/// so that a proposal's text is scanned once whatever the number of phrases and rules.
///
/// ```swift
/// let matcher = PhraseMatcher(phrases: ["capacity building", "open source"])
/// let index = TextIndex(fields: [("body", text)], matcher: matcher)
/// index.matches(ofPhrase: "open source")
/// ```
public final class PhraseMatcher: Sendable {
  /// The phrases as written, by id.
  public let phrases: [String]
  let phraseLengths: [Int]
  /// Phrase ids by their text as written and by their normal form.
  let idsByText: [String: Int]
  let tokenIDs: [String: Int32]
  /// The automaton: transitions, failure links, and the phrases ending at each state.
  let transitions: [[Int32: Int32]]
  let failure: [Int32]
  let outputs: [[Int32]]

  /// Compiles `phrases` (duplicates and phrases with no words are ignored).
  public init(phrases: some Sequence<String>) {
    var texts: [String] = []
    var lengths: [Int] = []
    var ids: [String: Int] = [:]
    var tokens: [String: Int32] = [:]
    var transitions: [[Int32: Int32]] = [[:]]
    var outputs: [[Int32]] = [[]]
    var byKey: [String: Int] = [:]
    for phrase in phrases where ids[phrase] == nil {
      let stems = TextNormalizer.words(phrase).map(\.stem)
      guard !stems.isEmpty else { continue }
      let key = stems.joined(separator: " ")
      if let existing = byKey[key] {
        ids[phrase] = existing
        continue
      }
      let id = texts.count
      texts.append(phrase)
      lengths.append(stems.count)
      ids[phrase] = id
      ids[key] = id
      byKey[key] = id
      var state: Int32 = 0
      for stem in stems {
        let token: Int32
        if let known = tokens[stem] {
          token = known
        } else {
          token = Int32(tokens.count)
          tokens[stem] = token
        }
        if let next = transitions[Int(state)][token] {
          state = next
        } else {
          let next = Int32(transitions.count)
          transitions.append([:])
          outputs.append([])
          transitions[Int(state)][token] = next
          state = next
        }
      }
      outputs[Int(state)].append(Int32(id))
    }
    // Breadth-first failure links, merging the outputs of each state's failure state.
    var failure = Array(repeating: Int32(0), count: transitions.count)
    var queue: [Int32] = Array(transitions[0].values)
    var head = 0
    while head < queue.count {
      let state = queue[head]
      head += 1
      for (token, next) in transitions[Int(state)] {
        queue.append(next)
        var fallback = failure[Int(state)]
        while fallback != 0 && transitions[Int(fallback)][token] == nil {
          fallback = failure[Int(fallback)]
        }
        let target = transitions[Int(fallback)][token] ?? 0
        failure[Int(next)] = target == next ? 0 : target
        outputs[Int(next)].append(contentsOf: outputs[Int(failure[Int(next)])])
      }
    }
    self.phrases = texts
    self.phraseLengths = lengths
    self.idsByText = ids
    self.tokenIDs = tokens
    self.transitions = transitions
    self.failure = failure
    self.outputs = outputs
  }

  /// The id of a phrase, by its text or its normal form.
  public func id(of phrase: String) -> Int? {
    if let id = self.idsByText[phrase] { return id }
    return self.idsByText[TextNormalizer.words(phrase).map(\.stem).joined(separator: " ")]
  }

  /// Runs the automaton over one sentence; calls `found(phraseID, firstWord, lastWord)`.
  func scan(_ words: [TextNormalizer.Word], _ found: (Int, Int, Int) -> Void) {
    var state: Int32 = 0
    for (position, word) in words.enumerated() {
      let known: Int32? =
        word.token == -2 ? self.tokenIDs[word.stem] : (word.token >= 0 ? word.token : nil)
      guard let token = known else {
        state = 0
        continue
      }
      while state != 0 && self.transitions[Int(state)][token] == nil {
        state = self.failure[Int(state)]
      }
      state = self.transitions[Int(state)][token] ?? 0
      for id in self.outputs[Int(state)] {
        let length = self.phraseLengths[Int(id)]
        found(Int(id), position - length + 1, position)
      }
    }
  }
}

/// A phrase found in a proposal's text.
public struct PhraseMatch: Sendable {
  /// The phrase's id in the matcher.
  public var phrase: Int
  /// The sentence it was found in.
  public var sentence: Int
  /// Offsets of the phrase in its field, in Unicode scalars.
  public var start: Int
  public var end: Int
  /// Whether it is negated in its clause ("does not include developing countries").
  public var negated: Bool
  /// Whether its sentence is aspirational ("we encourage...", "to be discussed later").
  public var hedged: Bool

  /// Whether the match counts as a mention: neither negated nor hedged.
  public var isAffirmative: Bool { !self.negated && !self.hedged }
}

/// A proposal's text split into sentences, with every phrase of the rule book found in it.
public struct TextIndex: Sendable {
  /// The sentences of every text field, in field order.
  public let sentences: [Sentence]
  /// The matches of each phrase id.
  public let matchesByPhrase: [Int: [PhraseMatch]]
  let matcher: PhraseMatcher

  static let auxiliaries: Set<String> = [
    "is", "are", "was", "were", "be", "been", "will", "shall", "do", "doe", "does", "did", "can",
    "may", "must",
    "would", "could", "should", "has", "have", "had",
  ]

  /// Indexes `fields` (name and text) against `matcher`.
  public init(fields: [(String, String)], matcher: PhraseMatcher) {
    var sentences: [Sentence] = []
    for (field, text) in fields where !text.isEmpty {
      sentences.append(
        contentsOf: SentenceSplitter.sentences(of: text, field: field, tokens: matcher.tokenIDs))
    }
    var matches: [Int: [PhraseMatch]] = [:]
    for (sentenceIndex, sentence) in sentences.enumerated() {
      matcher.scan(sentence.words) { phrase, first, last in
        let negated = Self.isNegated(sentence, first: first, last: last)
        matches[phrase, default: []].append(
          PhraseMatch(
            phrase: phrase, sentence: sentenceIndex, start: sentence.words[first].start,
            end: sentence.words[last].end, negated: negated, hedged: sentence.hedged
          )
        )
      }
    }
    self.sentences = sentences
    self.matchesByPhrase = matches
    self.matcher = matcher
  }

  /// Negation within the clause: a cue up to six words before the phrase, or an auxiliary
  /// followed by a cue just after it ("training is not provided").
  static func isNegated(_ sentence: Sentence, first: Int, last: Int) -> Bool {
    let clauseStart = sentence.clauseStarts.last { $0 <= first } ?? 0
    let from = max(clauseStart, first - 6)
    for index in from..<first where sentence.words[index].flags.contains(.negation) {
      return true
    }
    let clauseEnd = sentence.clauseStarts.first { $0 > last } ?? sentence.words.count
    let after = (last + 1)..<min(clauseEnd, last + 4)
    if let firstAfter = after.first, sentence.words[firstAfter].flags.contains(.auxiliary) {
      for index in after where sentence.words[index].flags.contains(.negation) { return true }
    }
    return false
  }

  /// The matches of a phrase (by text or normal form); phrases the matcher does not know are
  /// searched for directly, sentence by sentence.
  public func matches(ofPhrase phrase: String) -> [PhraseMatch] {
    if let id = self.matcher.id(of: phrase) { return self.matchesByPhrase[id] ?? [] }
    let stems = TextNormalizer.words(phrase).map(\.stem)
    guard !stems.isEmpty else { return [] }
    var found: [PhraseMatch] = []
    for (sentenceIndex, sentence) in self.sentences.enumerated()
    where sentence.words.count >= stems.count {
      for first in 0...(sentence.words.count - stems.count) {
        var equal = true
        for offset in 0..<stems.count where sentence.words[first + offset].stem != stems[offset] {
          equal = false
          break
        }
        if equal {
          let last = first + stems.count - 1
          found.append(
            PhraseMatch(
              phrase: -1, sentence: sentenceIndex, start: sentence.words[first].start,
              end: sentence.words[last].end,
              negated: Self.isNegated(sentence, first: first, last: last), hedged: sentence.hedged
            )
          )
        }
      }
    }
    return found
  }
}
