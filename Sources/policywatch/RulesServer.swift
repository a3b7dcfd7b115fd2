import ArgumentParser
import Foundation
import GRPCCore
import PolicyWatchAPI

extension Rules {
  /// `policywatch rules reload`
  struct Reload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a server reload its rules directory now (Frameworks.ReloadRules).",
      discussion: """
        The server loads and checks the whole directory; when any file has an error the old \
        rules stay live and the errors are printed as file:line:col: severity: message. When \
        frameworks changed, the server re-evaluates the stored proposals against them in the \
        background (follow it with `policywatch watch`).

        Exit codes: 0 reloaded or unchanged; 1 refused (errors printed); 2 bad usage; 3 the \
        server could not be reached.
        """
    )

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "table or json.")
    var format: VerdictsCommand.Format = .table

    func run() async throws {
      let response = try await self.serverOptions.withClient { client in
        try await Policywatch_V1_Frameworks.Client(wrapping: client).reloadRules(
          Policywatch_V1_ReloadRulesRequest())
      }
      switch self.format {
      case .json:
        print(VerdictsCommand.json(response))
      case .table:
        if !response.diagnostics.isEmpty {
          for diagnostic in response.diagnostics { printError(Rules.line(diagnostic)) }
          printError(
            "policywatch: the rules were not reloaded; revision \(response.rulebookRevision.prefix(12)) stays live"
          )
        } else if response.reloaded {
          print("reloaded: revision \(response.rulebookRevision.prefix(12))")
          if !response.changedFrameworks.isEmpty {
            print("changed frameworks: \(response.changedFrameworks.joined(separator: ", "))")
          }
          if !response.reevaluationJobID.isEmpty {
            print("re-evaluation job: \(response.reevaluationJobID)")
          }
        } else {
          print("unchanged: revision \(response.rulebookRevision.prefix(12))")
        }
      }
      if !response.diagnostics.isEmpty { throw ExitCode.failure }
    }
  }

  /// `policywatch rules status`
  struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show a server's live rule book and its last reload (Frameworks.GetRuleStatus).",
      discussion: """
        Exit codes: 0 the last reload succeeded; 1 it failed (the errors are printed; older \
        rules are live); 2 bad usage; 3 the server could not be reached.
        """
    )

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "table or json.")
    var format: VerdictsCommand.Format = .table

    func run() async throws {
      let status = try await self.serverOptions.withClient { client in
        try await Policywatch_V1_Frameworks.Client(wrapping: client).getRuleStatus(
          Policywatch_V1_GetRuleStatusRequest())
      }
      switch self.format {
      case .json:
        print(VerdictsCommand.json(status))
      case .table:
        let time = Date.ISO8601FormatStyle()
        print("revision:      \(status.rulebookRevision)")
        print("loaded at:     \(status.loadedAt.date.formatted(time))")
        print("directory:     \(status.rulesDirectory)")
        print(
          "last attempt:  \(status.lastAttemptAt.date.formatted(time)) (\(status.lastAttemptFailed ? "failed" : "ok"))"
        )
        print("frameworks:")
        for framework in status.frameworks {
          print("  \(framework.id)  \(framework.version)  \(framework.ruleCount) rules")
        }
        for diagnostic in status.lastError { printError(Rules.line(diagnostic)) }
      }
      if status.lastAttemptFailed { throw ExitCode.failure }
    }
  }

  /// A diagnostic as `file:line:col: severity: message`.
  static func line(_ diagnostic: Policywatch_V1_Diagnostic) -> String {
    let severity = diagnostic.severity == .warning ? "warning" : "error"
    return
      "\(diagnostic.file):\(diagnostic.line):\(diagnostic.column): \(severity): \(diagnostic.message)"
  }
}
