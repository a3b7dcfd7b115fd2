// Times the CEL engine on typical rule expressions over one fixed activation, next to a
// hand-written Swift closure computing the same predicate. Prints one JSON object per
// expression (ns per evaluation, median of several rounds) for bench/cel_bench.py, which runs
// the peers in the same session and prints the table.
//
//   swift build -c release --product cel-bench && .build/release/cel-bench [rounds]
import CEL
import Foundation

struct Participant {
  var name: String
  var kind: String
  var globalSouth: Bool
}

struct Proposal {
  var title: String
  var body: String
  var amount: Int64
  var count: Int64
  var reviewDate: String
  var sponsors: [String]
  var participants: [Participant]
}

let kinds = ["state", "un_body", "university", "ngo", "company"]
let proposal = Proposal(
  title: "Shared AI Skills and Compute Partnership",
  body: String(
    repeating: "Regional hubs run workshops and a shared GPU pool for universities. ", count: 20)
    + "The programme funds capacity building in participating developing states.",
  amount: 24_000_000,
  count: 6000,
  reviewDate: "2027-06-30",
  sponsors: ["Zambia", "Indonesia", "Norway", "Kenya", "Ghana"],
  participants: (0..<20).map { i in
    Participant(name: "participant-\(i)", kind: kinds[i % kinds.count], globalSouth: i == 19)
  }
)

let proposalValue: CELValue = .map(
  CELMap([
    "title": .string(proposal.title),
    "body": .string(proposal.body),
    "amount": .int(proposal.amount),
    "count": .int(proposal.count),
    "review_date": .string(proposal.reviewDate),
    "sponsors": .list(proposal.sponsors.map { .string($0) }),
    "participants": .list(
      proposal.participants.map { p in
        .map(
          CELMap([
            "name": .string(p.name), "kind": .string(p.kind), "global_south": .bool(p.globalSouth),
          ]))
      }),
  ]))

/// The expressions, shared with bench/cel_bench.py (same text, same data), each with the Swift
/// closure that computes the same thing.
let cases: [(name: String, expression: String, native: (Proposal) -> Bool)] = [
  (
    "field_compare", "proposal.amount > 1000000 && proposal.review_date != ''",
    { $0.amount > 1_000_000 && !$0.reviewDate.isEmpty }
  ),
  (
    "exists_20_maps", "proposal.participants.exists(p, p.kind == 'ngo' && p.global_south)",
    { $0.participants.contains { $0.kind == "ngo" && $0.globalSouth } }
  ),
  (
    "string_contains",
    "proposal.body.contains('capacity building') && proposal.title.startsWith('Shared')",
    { $0.body.contains("capacity building") && $0.title.hasPrefix("Shared") }
  ),
  ("in_list", "'Kenya' in proposal.sponsors", { $0.sponsors.contains("Kenya") }),
  (
    "matches", "proposal.title.matches('^[A-Z][A-Za-z ]+Partnership$')",
    { p in
      guard let first = p.title.unicodeScalars.first, ("A"..."Z").contains(first),
        p.title.hasSuffix("Partnership")
      else {
        return false
      }
      return p.title.unicodeScalars.allSatisfy {
        ("A"..."Z").contains($0) || ("a"..."z").contains($0) || $0 == " "
      }
    }
  ),
  (
    "arith_ternary",
    "proposal.amount > 1000000 ? proposal.amount / proposal.count > 100 : proposal.count * 3 + 1 > 50",
    { $0.amount > 1_000_000 ? $0.amount / $0.count > 100 : $0.count * 3 + 1 > 50 }
  ),
]

@inline(never) func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

func nanosecondsPerCall(iterations: Int, _ body: () -> Void) -> Double {
  let clock = ContinuousClock()
  let elapsed = clock.measure {
    for _ in 0..<iterations { body() }
  }
  let (seconds, attoseconds) = elapsed.components
  return (Double(seconds) * 1e9 + Double(attoseconds) / 1e9) / Double(iterations)
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  return sorted[sorted.count / 2]
}

let rounds = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 7 : 7
var env = CELEnvironment()
env.declareVariable("proposal", type: .map(.string, .dyn))
let activation = CELActivation(environment: env, bindings: ["proposal": proposalValue])

for (name, expression, native) in cases {
  let program = try env.compile(expression)
  let result = program.evaluate(activation)
  guard case .bool(let value) = result, value == native(proposal) else {
    fatalError("\(name): CEL gave \(result), the Swift closure \(native(proposal))")
  }
  // Calibrate to about 50 ms a round.
  var iterations = 1000
  while nanosecondsPerCall(iterations: iterations, { blackHole(program.evaluate(activation)) })
    * Double(iterations) < 50e6
  {
    iterations *= 2
  }
  var celTimes: [Double] = []
  var nativeTimes: [Double] = []
  for _ in 0..<rounds {
    celTimes.append(
      nanosecondsPerCall(iterations: iterations) { blackHole(program.evaluate(activation)) })
    nativeTimes.append(
      nanosecondsPerCall(iterations: iterations * 10) { blackHole(native(proposal)) })
  }
  print(
    #"{"name": "\#(name)", "expression": "\#(expression.replacingOccurrences(of: "\"", with: "\\\""))", "swift_cel_ns": \#(median(celTimes)), "swift_native_ns": \#(median(nativeTimes)), "result": \#(value)}"#
  )
}
