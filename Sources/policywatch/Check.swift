import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import PolicyRules
import PolicyWatchAPI
import PolicyWatchService
import SwiftProtobuf
import Yams

/// `policywatch check FILE...`: evaluates proposal files.
struct Check: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Evaluate proposal files against the frameworks.",
    discussion: """
      Input: YAML or JSON proposals (the Proposal message; enum names in lower case, dates as \
      2027-06-30, participants as [name, kind, region, global_south, role] rows), or .txt/.md \
      files taken as text-only proposals (title from the first line). '-' reads YAML from stdin.

      Locally (default) the rules in --rules are used; with --server the proposal is sent to a \
      running server's Evaluator.Evaluate (as a dry run, unless --store), with the same output.

      Exit codes: 0 every framework at or above the bar; 1 some framework below the bar set by \
      --fail-on; 2 bad input or usage; 3 the server could not be reached.

      Examples:
        policywatch check rules/proposals/P01.yaml
        policywatch check article.txt --explain
        policywatch check p.yaml --framework global-ai-governance --format json
      """
  )

  @Argument(help: "Proposal files (.yaml, .json, .txt, .md), or '-' for stdin.")
  var files: [String]

  @Option(help: "The rules directory (local checks).")
  var rules: String = "rules"

  @Option(
    help: ArgumentHelp(
      "Evaluate on a running server instead of locally (POLICYWATCH_SERVER also sets it).",
      valueName: "host:port"))
  var server: String? = ProcessEnvironment.value(of: "POLICYWATCH_SERVER")

  @OptionGroup var credentials: ClientCredentials

  @Flag(help: "With --server: store the proposal and its verdicts (default: a dry run).")
  var store = false

  @Option(
    name: .customLong("framework"), help: "A framework id to evaluate (repeatable); all when none.")
  var frameworks: [String] = []

  @Option(
    help:
      "Output: table (colour on a terminal, unless NO_COLOR is set), json (the EvaluateResponse JSON mapping, field names as in the proto) or yaml (the same, as YAML)."
  )
  var format: OutputFormat = .table

  @Flag(help: "Show the evidence quotes behind each rule.")
  var explain = false

  @Option(help: "The lowest outcome that makes the exit code 1: partially_aligned or not_aligned.")
  var failOn: FailOn = .notAligned

  enum OutputFormat: String, ExpressibleByArgument { case table, json, yaml }
  enum FailOn: String, ExpressibleByArgument {
    case partiallyAligned = "partially_aligned"
    case notAligned = "not_aligned"
  }

  func validate() throws {
    if let server, ListenAddress(server) == nil {
      throw ValidationError("--server '\(server)' is not host:port (e.g. 127.0.0.1:50051)")
    }
    if self.store && self.server == nil { throw ValidationError("--store needs --server") }
  }

  func run() async throws {
    var book: RuleBook? = nil
    if self.server == nil {
      do {
        book = try RuleBookLoader.load(directory: self.rules)
      } catch {
        for diagnostic in error.diagnostics { printError(diagnostic.description) }
        throw ExitCode(2)
      }
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
      if let book {
        do {
          verdicts = try PolicyEngine.evaluate(proposal, book: book, frameworkIDs: self.frameworks)
        } catch {
          printError("policywatch: \(error)")
          throw ExitCode(2)
        }
      } else {
        verdicts = try await self.evaluateRemotely(proposal, path: path)
      }
      for verdict in verdicts {
        switch verdict.outcome {
        case .notAligned: belowBar = true
        case .partiallyAligned where self.failOn == .partiallyAligned: belowBar = true
        default: break
        }
      }
      switch self.format {
      case .json, .yaml:
        var response = Policywatch_V1_EvaluateResponse()
        response.proposalID = proposal.id
        response.proposalHash = PolicyEngine.proposalHash(proposal)
        response.verdicts = verdicts
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let json = (try? response.jsonString(options: options)) ?? "{}"
        outputs.append(self.format == .json ? json : OutputText.yaml(fromJSON: json))
      case .table:
        outputs.append(
          VerdictTable.render(proposal: proposal, verdicts: verdicts, explain: self.explain))
      }
    }
    print(
      outputs.joined(
        separator: self.format == .json ? "\n" : self.format == .yaml ? "---\n" : "\n\n"))
    if belowBar { throw ExitCode(1) }
  }

  /// Sends the proposal to the server's Evaluate; maps its errors to messages and exit codes.
  func evaluateRemotely(_ proposal: Policywatch_V1_Proposal, path: String) async throws
    -> [Policywatch_V1_Verdict]
  {
    guard let server = self.server, let address = ListenAddress(server) else { throw ExitCode(2) }
    var request = Policywatch_V1_EvaluateRequest()
    request.proposal = proposal
    request.frameworkIds = self.frameworks
    request.dryRun = !self.store
    var options = CallOptions.defaults
    options.timeout = .seconds(60)
    do {
      return try await withGRPCClient(
        transport: try self.credentials.transport(to: address),
        interceptors: self.credentials.interceptors
      ) {
        client in
        try await Policywatch_V1_Evaluator.Client(wrapping: client).evaluate(
          request, options: options
        ).verdicts
      }
    } catch let error as RPCError where error.code == .unavailable {
      printError(
        "policywatch: cannot reach a server at \(address): \(error.message). "
          + "Start one with `policywatch serve --listen \(address)`, or check locally without --server."
      )
      throw ExitCode(3)
    } catch let error as RPCError {
      printError("\(path): the server refused the proposal: \(error.code): \(error.message)")
      throw ExitCode(2)
    }
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
      let outcome = RuleTestRunner.name(of: verdict.outcome).uppercased()
      let colour =
        verdict.outcome == .aligned
        ? OutputText.green : verdict.outcome == .notAligned ? OutputText.red : OutputText.yellow
      lines.append(
        "\(OutputText.bold(verdict.frameworkID)) \(verdict.frameworkVersion): \(colour(outcome)) (score \(verdict.score))"
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

/// Terminal colour and YAML output.
enum OutputText {
  /// Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
  static let useColour: Bool =
    isatty(STDOUT_FILENO) == 1 && ProcessEnvironment.value(of: "NO_COLOR") == nil

  static func paint(_ code: String, _ text: String) -> String {
    useColour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
  }
  static func green(_ text: String) -> String { paint("32", text) }
  static func red(_ text: String) -> String { paint("31", text) }
  static func yellow(_ text: String) -> String { paint("33", text) }
  static func bold(_ text: String) -> String { paint("1", text) }

  /// The same document as YAML.
  static func yaml(fromJSON json: String) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
      let text = try? Yams.dump(object: object, allowUnicode: true, sortKeys: false)
    else { return json }
    return text
  }
}
