// Times the policy engine: one realistic proposal (a 2,000-word body, 12 participants,
// 5 commitments) against all shipped frameworks, and against generated rule books of 100, 1,000
// and 10,000 phrase rules, to show that text work grows with the text, not with the rules.
//
//   swift build -c release --product rules-bench && .build/release/rules-bench [rules-dir]
import Foundation
import PolicyRules
import PolicyWatchAPI

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func measure(rounds: Int = 7, _ body: () throws -> Void) rethrows -> Double {
  var iterations = 1
  while true {
    let start = ContinuousClock.now
    for _ in 0..<iterations { try body() }
    let elapsed = ContinuousClock.now - start
    if elapsed > .milliseconds(200) || iterations >= 1 << 16 { break }
    iterations *= 2
  }
  var samples: [Double] = []
  for _ in 0..<rounds {
    let start = ContinuousClock.now
    for _ in 0..<iterations { try body() }
    let (seconds, attoseconds) = (ContinuousClock.now - start).components
    samples.append((Double(seconds) * 1e3 + Double(attoseconds) / 1e15) / Double(iterations))
  }
  return median(samples)
}

let vocabulary = """
  the programme supports regional hubs that run workshops and training for civil servants researchers and
  developers in participating developing states with shared compute open models and data under open licences
  a board co-chaired by one global south state and one donor state governs the hubs and publishes an annual
  report an ethical impact assessment precedes every public sector deployment and a named official reviews
  outputs that affect individuals people can complain through the national ombudsman and personal data is
  handled under data protection law the network reports to the global dialogue on ai governance
  """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init).filter { !$0.isEmpty }

func makeProposal() -> Policywatch_V1_Proposal {
  var proposal = Policywatch_V1_Proposal()
  proposal.id = "BENCH-1"
  proposal.title = "Shared AI Skills and Compute Partnership"
  var words: [String] = []
  for index in 0..<2000 {
    words.append(vocabulary[(index * 7919) % vocabulary.count])
    if index % 17 == 16 { words[words.count - 1] += "." }
  }
  proposal.body = words.joined(separator: " ")
  let states: [(String, String, Bool)] = [
    ("Zambia", "Africa", true), ("Kenya", "Africa", true), ("Ghana", "Africa", true),
    ("Indonesia", "Asia-Pacific", true),
    ("Viet Nam", "Asia-Pacific", true), ("Peru", "Latin America & Caribbean", true),
    ("Norway", "Europe", false),
    ("Finland", "Europe", false),
  ]
  for (name, region, south) in states {
    var participant = Policywatch_V1_Participant()
    participant.name = name
    participant.kind = .state
    participant.region = region
    participant.globalSouth = south
    proposal.participants.append(participant)
  }
  for (name, kind) in [
    ("UNDP", Policywatch_V1_Participant.Kind.unBody), ("ITU", .unBody),
    ("University of Nairobi", .university), ("Open Language Collective", .ngo),
  ] {
    var participant = Policywatch_V1_Participant()
    participant.name = name
    participant.kind = kind
    participant.region = "Global"
    proposal.participants.append(participant)
  }
  let commitments: [(Policywatch_V1_Commitment.Kind, Int64, Int64, String)] = [
    (.training, 24_000_000, 6000, "civil servants in participating developing states"),
    (.computeAccess, 15_000_000, 0, "universities in participating states"),
    (.openRelease, 0, 0, "public"), (.funding, 5_000_000, 0, "local language communities"),
    (.infrastructure, 0, 3, "regional hubs"),
  ]
  for (kind, amount, count, beneficiaries) in commitments {
    var commitment = Policywatch_V1_Commitment()
    commitment.kind = kind
    commitment.amountUsd = amount
    commitment.count = count
    commitment.beneficiaries = beneficiaries
    if kind == .openRelease { commitment.licence = "Apache-2.0" }
    proposal.commitments.append(commitment)
  }
  proposal.coordinator = "UNDP"
  proposal.sectors = ["education", "health", "agriculture"]
  proposal.instruments = ["A/RES/78/311", "Global Digital Compact"]
  proposal.reviewDate = "2027-06-30"
  return proposal
}

/// A rule book of `count` phrase rules, each looking for its own two-word phrase.
func generatedBook(rules count: Int) throws -> RuleBook {
  var yaml = "framework: {id: generated, name: Generated, version: \"1\"}\nprinciples:\n"
  let perPrinciple = 100
  for principle in 0..<max(1, count / perPrinciple) {
    yaml += "  - id: p\(principle)\n    name: P\(principle)\n    rules:\n"
    for rule in 0..<min(perPrinciple, count) {
      let n = principle * perPrinciple + rule
      let phrase =
        "\(vocabulary[n % vocabulary.count]) \(vocabulary[(n / vocabulary.count + n) % vocabulary.count])\(n % 3 == 0 ? "" : " x\(n)")"
      yaml +=
        "      - {id: G-\(n), title: T, severity: minor, expr: \"proposal.mentions('\(phrase)')\"}\n"
    }
  }
  return try RuleBookLoader.load(files: [("generated.yaml", yaml)])
}

let rulesDirectory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "rules"
let proposal = makeProposal()
let shipped = try RuleBookLoader.load(directory: rulesDirectory)
let shippedRules = shipped.frameworks.reduce(0) { $0 + $1.ruleCount }
var rows: [(String, Int, Double, Double)] = []

let facts = ProposalFacts(proposal, matcher: shipped.matcher)
let factsTime = measure { _ = ProposalFacts(proposal, matcher: shipped.matcher) }
let shippedTime = try measure { _ = try PolicyEngine.evaluate(proposal, book: shipped) }
rows.append(
  ("all \(shipped.frameworks.count) shipped frameworks", shippedRules, shippedTime, factsTime))
_ = facts

for count in [100, 1000, 10_000] {
  let book = try generatedBook(rules: count)
  let textTime = measure { _ = ProposalFacts(proposal, matcher: book.matcher) }
  let time = try measure { _ = try PolicyEngine.evaluate(proposal, book: book) }
  rows.append(("\(count) generated phrase rules", count, time, textTime))
}

print(
  "| rule book | rules | ms per evaluation (all frameworks) | of which text index (ms) | µs per rule |"
)
print("|---|---:|---:|---:|---:|")
for (name, rules, time, text) in rows {
  print(
    String(
      format: "| %@ | %d | %.3f | %.3f | %.2f |", name, rules, time, text,
      1000 * (time - text) / Double(rules)))
}
