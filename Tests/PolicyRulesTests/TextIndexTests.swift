import PolicyRules
import Testing

@Suite struct TextIndexTests {
  func index(_ text: String, _ phrases: [String]) -> TextIndex {
    TextIndex(fields: [("body", text)], matcher: PhraseMatcher(phrases: phrases))
  }

  @Test(arguments: [
    ("The hubs run workshops.", "workshop", true),
    ("Trainees were TRAINED in Zürich.", "trained in zurich", true),
    ("Open-source models are released.", "open source", true),
    ("The countries agreed.", "country", true),
    ("A workshopping session.", "workshop", true),
    ("The workshop is cancelled.", "shop", false),
  ])
  func matchesWholeWordsIgnoringCaseAccentsAndInflection(text: String, phrase: String, found: Bool)
  {
    #expect(!self.index(text, [phrase]).matches(ofPhrase: phrase).isEmpty == found)
  }

  @Test(arguments: [
    ("The programme does not include developing countries.", "developing countries", true),
    ("It is delivered without any training.", "training", true),
    ("Training is not provided.", "training", true),
    ("No money is set aside, but training is provided.", "training", false),
    ("Farmers have no complaint channel.", "complaint", true),
    ("It includes developing countries.", "developing countries", false),
  ])
  func negationIsDetectedWithinTheClause(text: String, phrase: String, negated: Bool) throws {
    let match = try #require(self.index(text, [phrase]).matches(ofPhrase: phrase).first)
    #expect(match.negated == negated)
  }

  @Test func aspirationalSentencesDoNotCount() throws {
    let index = self.index(
      "We encourage training. Technology transfer is to be discussed in a later phase. We fund 300 fellowships.",
      ["training", "technology transfer", "fellowship"])
    #expect(!index.matches(ofPhrase: "training").isEmpty)
    #expect(index.matches(ofPhrase: "training").allSatisfy { $0.hedged })
    #expect(index.matches(ofPhrase: "technology transfer").allSatisfy { $0.hedged })
    #expect(index.matches(ofPhrase: "fellowship").contains { $0.isAffirmative })
  }

  @Test func oneAutomatonFindsOverlappingPhrases() {
    let phrases = ["capacity", "capacity building", "building", "building trust", "trust"]
    let index = self.index("Capacity building trust.", phrases)
    for phrase in phrases {
      #expect(index.matches(ofPhrase: phrase).count == 1, "\(phrase)")
    }
  }

  @Test func matchOffsetsPointIntoTheField() throws {
    let text = "Préambule. Les États publient un rapport annuel."
    let index = self.index(text, ["rapport annuel"])
    let match = try #require(index.matches(ofPhrase: "rapport annuel").first)
    let scalars = Array(text.unicodeScalars)
    var quoted = String.UnicodeScalarView()
    quoted.append(contentsOf: scalars[match.start..<match.end])
    #expect(String(quoted) == "rapport annuel")
    #expect(index.sentences[match.sentence].text == "Les États publient un rapport annuel.")
  }
}
