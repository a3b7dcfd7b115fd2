import Foundation
import Testing

@testable import CEL

/// A host object for the tests: a participant with a name, a kind and a list of tags.
final class Participant: CELObject {
  static let type = CELObjectType(
    name: "test.Participant",
    fields: [("name", .string), ("kind", .string), ("tags", .list(.string)), ("budget", .int)]
  )
  let name: String
  let kind: String
  let tags: [String]
  let budget: Int64?

  init(name: String, kind: String, tags: [String] = [], budget: Int64? = nil) {
    self.name = name
    self.kind = kind
    self.tags = tags
    self.budget = budget
  }

  var objectType: CELObjectType { Self.type }

  func value(ofField index: Int) -> CELValue {
    switch index {
    case 0: return .string(self.name)
    case 1: return .string(self.kind)
    case 2: return .list(self.tags.map { .string($0) })
    default: return .int(self.budget ?? 0)
    }
  }

  func hasValue(ofField index: Int) -> Bool { index == 3 ? self.budget != nil : true }
}

func environment() -> CELEnvironment {
  var env = CELEnvironment()
  env.declareObjectType(Participant.type)
  env.declareVariable("participants", type: .list(.object("test.Participant")))
  env.declareVariable("title", type: .string)
  env.declareVariable("n", type: .int)
  return env
}

func evaluate(_ expression: String, _ bindings: [String: CELValue] = [:]) throws -> CELValue {
  try environment().compile(expression).evaluate(bindings)
}

@Suite struct EngineTests {
  let participants: CELValue = .list([
    .object(Participant(name: "Kenya", kind: "state", tags: ["africa"], budget: 10)),
    .object(Participant(name: "UNDP", kind: "un_body")),
  ])

  @Test func readsHostObjectsThroughTheirDeclaredFields() throws {
    let bindings = ["participants": self.participants]
    #expect(
      try evaluate("participants.exists(p, p.kind == 'state' && 'africa' in p.tags)", bindings)
        == .bool(true))
    #expect(
      try evaluate("participants.filter(p, has(p.budget)).map(p, p.name)", bindings)
        == .list([.string("Kenya")]))
    #expect(try evaluate("participants[1].budget", bindings) == .int(0))
    #expect(
      try evaluate("size(participants.filter(p, p.name.startsWith('U')))", bindings) == .int(1))
  }

  @Test func checkerNamesUnknownFieldsWithASuggestion() throws {
    let error = try #require(throws: CELCompileError.self) {
      try environment().compile("participants.exists(p, p.knid == 'state')")
    }
    let issue = try #require(error.issues.first)
    #expect(issue.message == "no field 'knid' on Participant; did you mean 'kind'?")
    #expect(issue.location.line == 1)
    #expect(issue.location.column == 25)
    #expect(issue.snippet.contains("^"))
  }

  @Test func checkerReportsEveryProblemWithPositions() throws {
    let error = try #require(throws: CELCompileError.self) {
      try environment().compile("title + 1 == 'x' &&\n  undeclared > 2")
    }
    #expect(error.issues.count == 2)
    #expect(error.issues[0].message.contains("no matching overload for '_+_'"))
    #expect(error.issues[1].message.contains("undeclared reference to 'undeclared'"))
    #expect(error.issues[1].location.line == 2)
    #expect(error.issues[1].location.column == 3)
  }

  @Test func checkerInfersTheResultType() throws {
    #expect(try environment().compile("participants.map(p, p.name)").resultType == .list(.string))
    #expect(try environment().compile("n > 3 ? 'big' : 'small'").resultType == .string)
  }

  @Test(arguments: [
    ("1 +", "unexpected end of the expression"),
    ("'unterminated", "unterminated string literal"),
    ("a.", "expected a field or method name"),
    ("for", "reserved word 'for'"),
    ("[1, 2", "expected ',' or ']'"),
    ("9223372036854775808", "integer literal out of range"),
  ])
  func parserRejectsMalformedInputWithAPosition(source: String, message: String) throws {
    let error = try #require(throws: CELCompileError.self) { try CELParser.parse(source) }
    #expect(error.issues.first?.message.contains(message) == true, "\(error)")
  }

  @Test func deepNestingIsAnErrorNotACrash() throws {
    let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
    let error = try #require(throws: CELCompileError.self) { try CELParser.parse(deep) }
    #expect(error.issues.first?.message.contains("nesting exceeds the limit") == true)

    let longChain = Array(repeating: "n", count: 5_000).joined(separator: " + ")
    #expect(throws: CELCompileError.self) { try CELParser.parse(longChain) }
    let longSelect = "n" + String(repeating: ".f", count: 5_000)
    #expect(throws: CELCompileError.self) { try CELParser.parse(longSelect) }
    let longCalls = String(repeating: "-", count: 5_000) + "1"
    #expect(throws: CELCompileError.self) { try CELParser.parse(longCalls) }
    // Long && chains are balanced, so they stay shallow and parse.
    let conjunction = Array(repeating: "true", count: 5_000).joined(separator: " && ")
    #expect(try evaluate(conjunction) == .bool(true))
  }

  @Test func exponentialComprehensionsStopAtTheCostBudget() throws {
    var env = environment()
    env.costBudget = 100_000
    // Each level multiplies the work by 10: 10^8 iterations in all, if nothing stopped it.
    let range = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    var expression = "true"
    for variable in ["a", "b", "c", "d", "e", "f", "g", "h"] {
      expression = "\(range).all(\(variable), \(expression))"
    }
    let program = try env.compile(expression)
    #expect(program.costEstimate.maximum > 100_000_000)
    let started = ContinuousClock.now
    let result = program.evaluate([:])
    guard case .error(let error) = result else {
      Issue.record("expected a budget error, got \(result)")
      return
    }
    #expect(error.message.contains("cost budget of 100000 exceeded"))
    #expect(ContinuousClock.now - started < .seconds(10))
  }

  @Test func catastrophicBacktrackingPatternsRunInLinearTime() throws {
    let text = String(repeating: "a", count: 100_000) + "!"
    for pattern in ["(a+)+$", "(a|aa)+$", "(a*)*b", "^(a|a?)+$"] {
      let regex = try RE2Regex(pattern)
      #expect(!regex.matches(text), "\(pattern)")
    }
    #expect(try evaluate("title.matches('(a+)+!$')", ["title": .string(text)]) == .bool(true))
  }

  @Test(arguments: [
    ("^[A-Z][a-z]+$", "Kenya", true),
    ("(?i)global\\s+south", "the GLOBAL   South", true),
    ("\\bAI\\b", "PAI", false),
    ("\\bAI\\b", "an AI act", true),
    ("[[:digit:]]{4}-\\d{2}", "on 2027-06", true),
    ("colou?r", "color", true),
    ("\\p{Lu}\\p{Ll}+", "Émile", true),
    ("a{2,3}$", "caaaa", true),
    ("^a{2,3}$", "aaaa", false),
    ("x*", "", true),
    ("[^abc]", "abc", false),
    ("(?s)a.b", "a\nb", true),
    ("a.b", "a\nb", false),
    ("(?m)^b$", "a\nb\nc", true),
  ])
  func regexFollowsRE2Semantics(pattern: String, text: String, expected: Bool) throws {
    #expect(try RE2Regex(pattern).matches(text) == expected)
  }

  @Test(arguments: ["(a", "a)", "[a", "a{1001}", "\\1", "(?=a)", "*a", "\\p{Nope}"])
  func regexRejectsInvalidPatterns(pattern: String) {
    #expect(throws: CELError.self) { try RE2Regex(pattern) }
  }

  @Test func literalPatternsAreCheckedAtCompileTime() throws {
    let error = try #require(throws: CELCompileError.self) {
      try environment().compile("title.matches('(unclosed')")
    }
    #expect(error.issues.first?.message.contains("invalid regular expression") == true)
    #expect(error.issues.first?.location.column == 15)
  }

  @Test func errorsAreValuesThatLogicAbsorbs() throws {
    #expect(try evaluate("1 / 0 == 1 || true") == .bool(true))
    #expect(try evaluate("false && 1 / 0 == 1") == .bool(false))
    guard case .error(let error) = try evaluate("9223372036854775807 + 1") else {
      Issue.record("expected an overflow error")
      return
    }
    #expect(error.message.contains("overflow"))
  }

  @Test func activationsAreReusable() throws {
    let env = environment()
    let program = try env.compile("n * 2 + size(title)")
    var activation = CELActivation(
      environment: env, bindings: ["n": .int(2), "title": .string("héllo")])
    #expect(program.evaluate(activation) == .int(9))
    activation.set("n", to: .int(10), in: env)
    #expect(program.evaluate(activation) == .int(25))
  }
}

extension CELValue: Equatable {
  public static func == (a: CELValue, b: CELValue) -> Bool {
    if case .error(let x) = a, case .error(let y) = b { return x == y }
    return a.typeValue == b.typeValue && Operators.equals(a, b)
  }
}
