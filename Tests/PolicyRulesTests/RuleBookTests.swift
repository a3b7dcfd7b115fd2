import Foundation
import PolicyRules
import PolicyWatchAPI
import Testing

let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()
let rulesDirectory = root.appendingPathComponent("rules").path
let corpusDirectory = root.deletingLastPathComponent().appendingPathComponent("shared/corpus").path

/// The shipped rule book, loaded once.
let shippedBook: RuleBook = {
  do {
    return try RuleBookLoader.load(directory: rulesDirectory)
  } catch {
    fatalError("the shipped rules do not load:\n\(error)")
  }
}()

func sampleProposal(_ id: String) throws -> Policywatch_V1_Proposal {
  let path = "\(rulesDirectory)/proposals/\(id).yaml"
  return try ProposalReader.read(try String(contentsOfFile: path, encoding: .utf8), path: path)
}

@Suite struct ShippedFrameworkTests {
  @Test func everyShippedFrameworkLoads() {
    #expect(
      Set(shippedBook.frameworks.map(\.id)) == [
        "global-ai-governance", "unesco-ai-ethics", "oecd-ai-principles", "nist-ai-rmf",
        "eu-ai-act",
      ])
    #expect(shippedBook.revision.count == 64)
  }

  @Test func theRuleFilesOwnTestsPass() {
    let report = RuleTestRunner.run(directory: rulesDirectory, book: shippedBook)
    #expect(report.diagnostics.isEmpty, "\(report.diagnostics)")
    #expect(report.cases.count >= 5 * 8)
    for framework in shippedBook.frameworks {
      #expect(report.cases.filter { $0.framework == framework.id }.count >= 8, "\(framework.id)")
    }
    for failed in report.cases where !failed.passed {
      Issue.record(
        "\(failed.framework): \(failed.name): \(failed.failures.joined(separator: "; "))")
    }
  }

  @Test(arguments: [
    ("P01", Policywatch_V1_Outcome.aligned), ("P02", .aligned), ("P03", .notAligned),
    ("P04", .notAligned),
    ("P05", .notAligned),
  ])
  func sampleProposalsGetTheExpertsOutcome(id: String, outcome: Policywatch_V1_Outcome) throws {
    let verdict = try #require(
      try PolicyEngine.evaluate(
        try sampleProposal(id), book: shippedBook, frameworkIDs: ["global-ai-governance"]
      ).first)
    #expect(verdict.outcome == outcome)
    for rule in verdict.principles.flatMap(\.rules) {
      if rule.outcome == .fail {
        #expect(!rule.message.isEmpty, "\(rule.ruleID) failed without a message")
      }
    }
  }

  @Test func textBasedResultsCarryQuotesWithOffsets() throws {
    let proposal = try sampleProposal("P01")
    let verdicts = try PolicyEngine.evaluate(proposal, book: shippedBook)
    let textResults = verdicts.flatMap(\.principles).flatMap(\.rules).filter { rule in
      rule.evidence.contains { $0.fieldPath == "body" }
    }
    #expect(!textResults.isEmpty)
    let scalars = Array(proposal.body.unicodeScalars)
    for result in textResults {
      for evidence in result.evidence where evidence.fieldPath == "body" {
        var quoted = String.UnicodeScalarView()
        quoted.append(contentsOf: scalars[Int(evidence.startOffset)..<Int(evidence.endOffset)])
        #expect(String(quoted) == evidence.quote)
      }
    }
  }

  @Test func thePlainTextArticleGetsVerdictsWithQuotedEvidence() throws {
    let path = "\(corpusDirectory)/ai-governance-article.txt"
    let proposal = try ProposalReader.read(
      try String(contentsOfFile: path, encoding: .utf8), path: path)
    #expect(proposal.title.hasPrefix("China is playing an active role"))
    let verdicts = try PolicyEngine.evaluate(proposal, book: shippedBook)
    #expect(verdicts.count == shippedBook.frameworks.count)
    let rules = verdicts.flatMap(\.principles).flatMap(\.rules)
    // Structural rules cannot apply to plain text; text rules still decide, with quotes.
    #expect(rules.contains { $0.ruleID == "CAP-001" && $0.outcome == .notApplicable })
    let quoted = rules.filter {
      $0.outcome == .pass && $0.evidence.contains { !$0.quote.isEmpty && $0.fieldPath == "body" }
    }
    #expect(quoted.count >= 5)
    #expect(verdicts.allSatisfy { $0.outcome != .aligned })
  }

  @Test func aDeclarationOfWordsAloneIsNeverAligned() throws {
    let verdicts = try PolicyEngine.evaluate(
      try sampleProposal("stuffed-affirmative"), book: shippedBook)
    for verdict in verdicts {
      #expect(verdict.outcome != .aligned, "\(verdict.frameworkID)")
    }
  }

  @Test func unknownFrameworksAreNamedWithTheKnownOnes() throws {
    #expect(throws: PolicyEngine.UnknownFrameworkError.self) {
      try PolicyEngine.evaluate(
        try sampleProposal("P01"), book: shippedBook, frameworkIDs: ["nope"])
    }
  }
}

@Suite struct RuleFileDiagnosticsTests {
  static let broken = """
    framework:
      id: broken
      name: A broken framework
      version: "1"
      colour: blue
    lists:
      terms: [open source]
    principles:
      - id: one
        name: One
        rules:
          - id: R-1
            title: A typo in a field
            expr: size(proposal.particpants) > 2
          - id: R-1
            title: A duplicate id
            expr: proposal.mentions(lists.trems)
          - id: R-3
            title: Not a bool
            expr: size(proposal.sponsors)
          - id: R-4
            title: A syntax error
            severity: huge
            expr: |
              proposal.sponsors.exists(s,
                s == )
          - id: R-5
            title: Missing its expression
    """

  @Test func aBrokenFileGetsEveryProblemWithItsPosition() throws {
    let error = try #require(throws: DiagnosticsError.self) {
      try RuleBookLoader.load(files: [("rules/broken.yaml", Self.broken)])
    }
    let lines = error.diagnostics.map(\.description)
    let expected = [
      "rules/broken.yaml:5:3: error: unknown key 'colour' in framework",
      "rules/broken.yaml:14:28: error: expr of rule 'R-1': no field 'particpants' on Proposal; did you mean 'participants'?",
      "rules/broken.yaml:15:13: error: duplicate rule id 'R-1' (first at line 12)",
      "rules/broken.yaml:17:38: error: expr of rule 'R-1': unknown list 'trems'; did you mean 'terms'?",
      "rules/broken.yaml:20:15: error: expr of rule 'R-3' must be a bool expression, but it is int",
      "rules/broken.yaml:23:19: error: severity of rule 'R-4' is 'huge'; expected one of: critical, major, minor, info",
      "rules/broken.yaml:26:18: error: expr of rule 'R-4': unexpected ')'",
      "rules/broken.yaml:27:9: error: rule 5 of principle 'one' is missing the required key 'expr'",
    ]
    for prefix in expected {
      #expect(
        lines.contains { $0.hasPrefix(prefix) },
        "missing: \(prefix)\n got:\n\(lines.joined(separator: "\n"))")
    }
  }

  @Test func invalidYAMLIsReportedWithItsPosition() throws {
    let error = try #require(throws: DiagnosticsError.self) {
      try RuleBookLoader.load(files: [("bad.yaml", "framework:\n  id: [unclosed\n")])
    }
    #expect(error.diagnostics.first?.file == "bad.yaml")
    #expect(error.diagnostics.first?.line ?? 0 > 0)
  }

  @Test func revisionIgnoresCommentsButNotRules() throws {
    let base = """
      framework: {id: f, name: F, version: "1"}
      principles:
        - id: p
          name: P
          rules:
            - {id: R, title: T, expr: "proposal.title != ''"}
      """
    let a = try RuleBookLoader.load(files: [("f.yaml", base)])
    let b = try RuleBookLoader.load(files: [("f.yaml", "# a comment\n" + base)])
    let c = try RuleBookLoader.load(files: [
      ("f.yaml", base.replacingOccurrences(of: "!= ''", with: "== ''"))
    ])
    #expect(a.revision == b.revision)
    #expect(a.revision != c.revision)
  }
}
