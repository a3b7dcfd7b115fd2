import ArgumentParser
import Logging
import PolicyWatchService

/// The `policywatch` command: one executable for the server, ad-hoc checks, rule authoring and
/// verdict queries.
@main
struct PolicyWatch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "policywatch",
    abstract: "Check policy proposals against the principles of policy frameworks.",
    discussion: """
      PolicyWatch evaluates proposals against frameworks written as rule files (YAML with CEL \
      expressions), stores the verdicts and serves them over gRPC.

      Start a server on 127.0.0.1:50051 with the rules in ./rules and its data in ./data:

        policywatch serve
      """,
    version: PolicyWatchVersion.current,
    subcommands: [
      Serve.self, Health.self, Check.self, Rules.self, VerdictsCommand.self, Watch.self,
      Auth.self,
    ]
  )
}

/// The version printed by `--version`.
enum PolicyWatchVersion {
  static let current = "0.1.0"
}

/// Options shared by the commands that log.
struct LoggingOptions: ParsableArguments {
  @Option(help: "Least severe log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel: Logger.Level = .info

  @Option(help: "Log line format: logfmt or json. Logs go to standard error.")
  var logFormat: LogfmtLogHandler.Format = .logfmt

  func bootstrap() {
    let level = self.logLevel
    let format = self.logFormat
    LoggingSystem.bootstrap { label in
      LogfmtLogHandler(label: label, level: level, format: format)
    }
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
extension LogfmtLogHandler.Format: ExpressibleByArgument {}
