import Foundation
import PolicyWatchAPI
import Yams

/// Runs the tests of rule files: `<framework>.test.yaml` files beside them, each a list of
/// cases, a proposal (inline or a path relative to the test file) and what must come out.
///
/// ```yaml
/// framework: global-ai-governance
/// cases:
///   - name: a strong multilateral partnership
///     proposal: proposals/P01.yaml
///     expect:
///       outcome: aligned
///       principles: {multilateralism: pass, capacity_building: pass}
///       pass: [MUL-001]
///       fail: []
/// ```
public enum RuleTestRunner {
  /// The result of one case.
  public struct CaseResult: Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var framework: String
    public var name: String
    /// What did not match, one line each; empty when the case passed.
    public var failures: [String]
    /// The verdict, for explaining failures.
    public var verdict: Policywatch_V1_Verdict?
    public var passed: Bool { self.failures.isEmpty }
  }

  /// The results of a run.
  public struct Report: Sendable {
    public var cases: [CaseResult] = []
    /// Problems with the test files themselves.
    public var diagnostics: [Diagnostic] = []
    public var passed: Bool { self.diagnostics.isEmpty && self.cases.allSatisfy(\.passed) }
  }

  static let outcomes: [String: Policywatch_V1_Outcome] = [
    "aligned": .aligned, "partially_aligned": .partiallyAligned, "not_aligned": .notAligned,
  ]
  static let principleOutcomes: [String: Policywatch_V1_PrincipleOutcome] = [
    "pass": .pass, "partial": .partial, "fail": .fail, "not_applicable": .notApplicable,
  ]

  /// Runs every `*.test.yaml` of `directory` against `book`.
  public static func run(directory: String, book: RuleBook) -> Report {
    var report = Report()
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
      .filter { $0.hasSuffix(".test.yaml") || $0.hasSuffix(".test.yml") }.sorted()
    for file in files {
      let path = (directory as NSString).appendingPathComponent(file)
      guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        report.diagnostics.append(
          Diagnostic(file: path, line: 0, column: 0, message: "cannot read the file"))
        continue
      }
      self.run(path: path, text: text, book: book, into: &report)
    }
    return report
  }

  static func run(path: String, text: String, book: RuleBook, into report: inout Report) {
    var reader = YAMLReader(path: path, text: text)
    defer { report.diagnostics.append(contentsOf: reader.diagnostics) }
    guard let root = reader.root(),
      let top = reader.mapping(
        root, "the test file", allowed: ["framework", "cases"], required: ["framework", "cases"]),
      let frameworkID = reader.nonEmptyString(top["framework"], "framework")
    else { return }
    guard let framework = book.framework(frameworkID) else {
      let known = book.frameworks.map(\.id).joined(separator: ", ")
      reader.error(
        "unknown framework '\(frameworkID)'; known frameworks: \(known)",
        at: top["framework"] ?? root)
      return
    }
    let directory = (path as NSString).deletingLastPathComponent
    for (index, node) in (reader.sequence(top["cases"], "cases") ?? []).enumerated() {
      guard
        let fields = reader.mapping(
          node, "case \(index + 1)", allowed: ["name", "proposal", "expect"],
          required: ["name", "proposal", "expect"]),
        let name = reader.nonEmptyString(fields["name"], "case \(index + 1) name"),
        let proposalNode = fields["proposal"], let expectNode = fields["expect"]
      else { continue }
      let proposal: Policywatch_V1_Proposal
      if case .scalar(let scalar) = proposalNode {
        let proposalPath = (directory as NSString).appendingPathComponent(scalar.string)
        guard let proposalText = try? String(contentsOfFile: proposalPath, encoding: .utf8) else {
          reader.error(
            "case '\(name)': cannot read the proposal file \(proposalPath)", at: proposalNode)
          continue
        }
        do {
          proposal = try ProposalReader.read(proposalText, path: proposalPath)
        } catch {
          for diagnostic in error.diagnostics {
            reader.error("case '\(name)': \(diagnostic)", at: proposalNode)
          }
          continue
        }
      } else {
        var inner = reader
        proposal = ProposalReader.proposal(proposalNode, path: "proposal", reader: &inner)
        reader = inner
      }
      guard
        let expect = reader.mapping(
          expectNode, "expect of case '\(name)'",
          allowed: [
            "outcome", "principles", "pass", "fail", "not_applicable", "score_at_least",
            "score_below",
          ])
      else { continue }
      let verdict: Policywatch_V1_Verdict
      do {
        guard
          let first = try PolicyEngine.evaluate(proposal, book: book, frameworkIDs: [framework.id])
            .first
        else { continue }
        verdict = first
      } catch {
        reader.error("case '\(name)': \(error)", at: node)
        continue
      }
      var failures: [String] = []
      if let outcomeNode = expect["outcome"], let text = reader.string(outcomeNode, "outcome") {
        if let expected = outcomes[text] {
          if verdict.outcome != expected {
            failures.append(
              "expected the framework outcome \(text), got \(Self.name(of: verdict.outcome)) (score \(verdict.score))"
            )
          }
        } else {
          reader.error(
            "outcome must be one of: aligned, partially_aligned, not_aligned", at: outcomeNode)
        }
      }
      if let principlesNode = expect["principles"], case .mapping(let mapping) = principlesNode {
        for (keyNode, valueNode) in mapping {
          guard let principleID = reader.string(keyNode, "principle id"),
            let text = reader.string(valueNode, "outcome")
          else {
            continue
          }
          guard let expected = principleOutcomes[text] else {
            reader.error(
              "principle outcome must be one of: pass, partial, fail, not_applicable", at: valueNode
            )
            continue
          }
          guard let actual = verdict.principles.first(where: { $0.principleID == principleID })
          else {
            let known = framework.principles.map(\.id).joined(separator: ", ")
            reader.error(
              "unknown principle '\(principleID)' of \(framework.id); known: \(known)", at: keyNode)
            continue
          }
          if actual.outcome != expected {
            failures.append(
              "expected principle \(principleID) to \(text), got \(Self.name(of: actual.outcome)) (score \(actual.score))"
            )
          }
        }
      }
      for (key, expected) in [
        ("pass", Policywatch_V1_RuleOutcome.pass), ("fail", .fail),
        ("not_applicable", .notApplicable),
      ] {
        for ruleID in reader.strings(expect[key], key) ?? [] {
          guard let rule = verdict.principles.flatMap(\.rules).first(where: { $0.ruleID == ruleID })
          else {
            reader.error("case '\(name)': unknown rule '\(ruleID)'", at: expect[key] ?? node)
            continue
          }
          if rule.outcome != expected {
            let why = rule.outcome == .error ? " (\(rule.error))" : ""
            failures.append(
              "expected rule \(ruleID) to \(key.replacingOccurrences(of: "_", with: " ")), got \(Self.name(of: rule.outcome))\(why)"
            )
          }
        }
      }
      if let minimum = reader.number(expect["score_at_least"], "score_at_least"),
        verdict.score < minimum
      {
        failures.append("expected a score of at least \(minimum), got \(verdict.score)")
      }
      if let maximum = reader.number(expect["score_below"], "score_below"), verdict.score >= maximum
      {
        failures.append("expected a score below \(maximum), got \(verdict.score)")
      }
      report.cases.append(
        CaseResult(
          file: path, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0,
          framework: framework.id, name: name,
          failures: failures, verdict: verdict))
    }
  }

  /// The lower-case name of an outcome, as files write it.
  public static func name(of outcome: Policywatch_V1_Outcome) -> String {
    outcomes.first { $0.value == outcome }?.key ?? "unspecified"
  }

  public static func name(of outcome: Policywatch_V1_PrincipleOutcome) -> String {
    principleOutcomes.first { $0.value == outcome }?.key ?? "unspecified"
  }

  public static func name(of outcome: Policywatch_V1_RuleOutcome) -> String {
    switch outcome {
    case .pass: return "pass"
    case .fail: return "fail"
    case .notApplicable: return "not_applicable"
    case .error: return "error"
    default: return "unspecified"
    }
  }
}
