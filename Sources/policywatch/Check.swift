import ArgumentParser
import Foundation
import PolicyRules
import PolicyWatchAPI
import SwiftProtobuf

/// `policywatch check FILE...`: evaluates proposal files.
struct Check: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Evaluate proposal files against the frameworks.",
    discussion: """
      Input: YAML or JSON proposals (the Proposal message; enum names in lower case, dates as \
      2027-06-30, participants as [name, kind, region, global_south, role] rows), or .txt/.md \
      files taken as text-only proposals (title from the first line). '-' reads YAML from stdin.

      Exit codes: 0 every framework at or above the bar; 1 some framework below the bar set by \
      --fail-on; 2 bad input or usage.

      Examples:
        policywatch check rules/proposals/P01.yaml
        policywatch check article.txt --explain
        policywatch check p.yaml --framework global-ai-governance --format json
      """
  )

  @Argument(help: "Proposal files (.yaml, .json, .txt, .md), or '-' for stdin.")
  var files: [String]

  @Option(help: "The rules directory.")
  var rules: String = "rules"

  @Option(
    name: .customLong("framework"), help: "A framework id to evaluate (repeatable); all when none.")
  var frameworks: [String] = []

  @Option(help: "Output: table or json.")
  var format: OutputFormat = .table

  @Flag(help: "Show the evidence quotes behind each rule.")
  var explain = false

  @Option(help: "The lowest outcome that makes the exit code 1: partially_aligned or not_aligned.")
  var failOn: FailOn = .notAligned

  enum OutputFormat: String, ExpressibleByArgument { case table, json }
  enum FailOn: String, ExpressibleByArgument {
    case partiallyAligned = "partially_aligned"
    case notAligned = "not_aligned"
  }

  func run() throws {
    let book: RuleBook
    do {
      book = try RuleBookLoader.load(directory: self.rules)
    } catch {
      for diagnostic in error.diagnostics { printError(diagnostic.description) }
      throw ExitCode(2)
    }
    var belowBar = false
    var outputs: [String] = []
    for file in self.files {
      let text: String
      let path = file == "-" ? "stdin.yaml" : file
      if file == "-" {
        text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
      } else {
        guard let content = try? String(contentsOfFile: file, encoding: .utf8) else {
          printError("\(file): cannot read the file")
          throw ExitCode(2)
        }
        text = content
      }
      let proposal: Policywatch_V1_Proposal
      do {
        proposal = try ProposalReader.read(text, path: path)
      } catch {
        for diagnostic in error.diagnostics { printError(diagnostic.description) }
        throw ExitCode(2)
      }
      let verdicts: [Policywatch_V1_Verdict]
      do {
        verdicts = try PolicyEngine.evaluate(proposal, book: book, frameworkIDs: self.frameworks)
      } catch {
        printError("policywatch: \(error)")
        throw ExitCode(2)
      }
      for verdict in verdicts {
        switch verdict.outcome {
        case .notAligned: belowBar = true
        case .partiallyAligned where self.failOn == .partiallyAligned: belowBar = true
        default: break
        }
      }
      switch self.format {
      case .json:
        var response = Policywatch_V1_EvaluateResponse()
        response.proposalID = proposal.id
        response.proposalHash = PolicyEngine.proposalHash(proposal)
        response.verdicts = verdicts
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        outputs.append((try? response.jsonString(options: options)) ?? "{}")
      case .table:
        outputs.append(
          VerdictTable.render(proposal: proposal, verdicts: verdicts, explain: self.explain))
      }
    }
    print(outputs.joined(separator: self.format == .json ? "\n" : "\n\n"))
    if belowBar { throw ExitCode(1) }
  }
}

/// Renders verdicts as a readable text table.
enum VerdictTable {
  static func render(
    proposal: Policywatch_V1_Proposal, verdicts: [Policywatch_V1_Verdict], explain: Bool
  ) -> String {
    var lines: [String] = ["\(proposal.id): \(proposal.title)"]
    for verdict in verdicts {
      lines.append("")
      lines.append(
        "\(verdict.frameworkID) \(verdict.frameworkVersion): \(RuleTestRunner.name(of: verdict.outcome).uppercased()) (score \(verdict.score))"
      )
      for principle in verdict.principles {
        lines.append(
          "  \(RuleTestRunner.name(of: principle.outcome).padding(toLength: 14, withPad: " ", startingAt: 0)) \(principle.name) (\(principle.score))"
        )
        for rule in principle.rules where rule.outcome == .fail || rule.outcome == .error || explain
        {
          let mark: String
          switch rule.outcome {
          case .pass: mark = "ok  "
          case .fail: mark = "FAIL"
          case .error: mark = "ERR "
          default: mark = "n/a "
          }
          lines.append(
            "      \(mark) \(rule.ruleID) \(rule.outcome == .fail ? rule.message : rule.title)")
          if rule.outcome == .fail, !rule.remediation.isEmpty {
            lines.append("           → \(rule.remediation)")
          }
          if rule.outcome == .error { lines.append("           error: \(rule.error)") }
          if explain {
            for evidence in rule.evidence where !evidence.quote.isEmpty {
              let tag = evidence.negated ? " (does not count)" : ""
              lines.append("           \(evidence.fieldPath)\(tag): \"\(evidence.quote)\"")
            }
          }
        }
      }
    }
    return lines.joined(separator: "\n")
  }
}
