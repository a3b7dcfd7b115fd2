import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import PolicyRules
import PolicyWatchAPI
import PolicyWatchService
import SwiftProtobuf

/// Options to reach a server.
struct ServerOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The server (also POLICYWATCH_SERVER).", valueName: "host:port"))
  var server: String = ProcessEnvironment.value(of: "POLICYWATCH_SERVER") ?? "127.0.0.1:50051"

  @OptionGroup var credentials: ClientCredentials

  func validate() throws {
    guard ListenAddress(self.server) != nil else {
      throw ValidationError("--server '\(self.server)' is not host:port (e.g. 127.0.0.1:50051)")
    }
  }

  /// Runs `body` with a client; an unreachable server is exit code 3 with a hint.
  func withClient<Result: Sendable>(
    _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Result
  ) async throws -> Result {
    guard let address = ListenAddress(self.server) else { throw ExitCode(2) }
    do {
      return try await withGRPCClient(
        transport: try self.credentials.transport(to: address),
        interceptors: self.credentials.interceptors, handleClient: body)
    } catch let error as RPCError where error.code == .unavailable {
      printError(
        "policywatch: cannot reach a server at \(address): \(error.message). Start one with `policywatch serve --listen \(address)`."
      )
      throw ExitCode(3)
    } catch let error as RPCError
      where error.code == .unauthenticated || error.code == .permissionDenied
    {
      printError(
        "policywatch: \(error.code): \(error.message). Give a token with --token or POLICYWATCH_TOKEN."
      )
      throw ExitCode(2)
    } catch let error as RPCError {
      printError("policywatch: \(error.code): \(error.message)")
      throw ExitCode(2)
    }
  }
}

/// `policywatch verdicts ...`: stored verdicts on a server.
struct VerdictsCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verdicts",
    abstract: "Look up stored verdicts on a server.",
    subcommands: [List.self, Show.self]
  )

  enum Format: String, ExpressibleByArgument { case table, json }

  static func json(_ message: some SwiftProtobuf.Message) -> String {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    return (try? message.jsonString(options: options)) ?? "{}"
  }

  /// `policywatch verdicts list`
  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List verdicts, newest first.",
      discussion: """
        Follows the pages of Verdicts.ListVerdicts until --limit verdicts are shown.

        Examples:
          policywatch verdicts list --framework global-ai-governance --outcome not_aligned
          policywatch verdicts list --proposal P01 --format json

        Exit codes: 0 done; 2 bad usage or refused; 3 the server could not be reached.
        """
    )

    @OptionGroup var serverOptions: ServerOptions

    @Option(help: "Only verdicts of this proposal.")
    var proposal: String = ""

    @Option(help: "Only verdicts of this framework.")
    var framework: String = ""

    @Option(help: "Only these outcomes (repeatable): aligned, partially_aligned, not_aligned.")
    var outcome: [String] = []

    @Option(help: "The most verdicts to show.")
    var limit: Int = 50

    @Option(help: "table or json (one JSON object per line).")
    var format: Format = .table

    func validate() throws {
      try OutcomeName.validate(self.outcome)
      if self.limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
      var request = Policywatch_V1_ListVerdictsRequest()
      request.proposalID = self.proposal
      request.frameworkID = self.framework
      request.outcomes = self.outcome.map(OutcomeName.outcome)
      let limit = self.limit
      let verdicts = try await self.serverOptions.withClient { client in
        let service = Policywatch_V1_Verdicts.Client(wrapping: client)
        var collected: [Policywatch_V1_Verdict] = []
        var page = request
        while collected.count < limit {
          page.pageSize = Int32(min(1000, limit - collected.count))
          let response = try await service.listVerdicts(page)
          collected.append(contentsOf: response.verdicts)
          if response.nextPageToken.isEmpty { break }
          page.pageToken = response.nextPageToken
        }
        return collected
      }
      switch self.format {
      case .json:
        for verdict in verdicts { print(VerdictsCommand.json(verdict)) }
      case .table:
        print(
          "SEQUENCE  CREATED                   PROPOSAL      FRAMEWORK             OUTCOME            SCORE  ID"
        )
        for verdict in verdicts {
          let created = verdict.createdAt.date.formatted(Date.ISO8601FormatStyle())
          print(
            [
              String(verdict.sequence).padding(toLength: 8, withPad: " ", startingAt: 0),
              created.padding(toLength: 24, withPad: " ", startingAt: 0),
              verdict.proposalID.padding(toLength: 12, withPad: " ", startingAt: 0),
              verdict.frameworkID.padding(toLength: 20, withPad: " ", startingAt: 0),
              RuleTestRunner.name(of: verdict.outcome).padding(
                toLength: 17, withPad: " ", startingAt: 0),
              String(format: "%5.1f", verdict.score), verdict.id,
            ].joined(separator: "  "))
        }
      }
    }
  }

  /// `policywatch verdicts show ID`
  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show one verdict with its principles, rules and evidence.",
      discussion:
        "Exit codes: 0 found; 2 not found or bad usage; 3 the server could not be reached."
    )

    @OptionGroup var serverOptions: ServerOptions

    @Argument(help: "The verdict id.")
    var id: String

    @Option(help: "table or json.")
    var format: Format = .table

    func run() async throws {
      var request = Policywatch_V1_GetVerdictRequest()
      request.id = self.id
      let verdict = try await self.serverOptions.withClient { client in
        try await Policywatch_V1_Verdicts.Client(wrapping: client).getVerdict(request)
      }
      switch self.format {
      case .json: print(VerdictsCommand.json(verdict))
      case .table:
        var proposal = Policywatch_V1_Proposal()
        proposal.id = verdict.proposalID
        proposal.title =
          "verdict \(verdict.id), revision \(verdict.proposalRevision), sequence \(verdict.sequence)"
        print(VerdictTable.render(proposal: proposal, verdicts: [verdict], explain: true))
      }
    }
  }
}
