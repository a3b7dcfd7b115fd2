import ArgumentParser
import Foundation
import GRPCCore
import PolicyRules
import PolicyWatchAPI
import Synchronization

/// Outcome names as the CLI spells them.
enum OutcomeName {
  static let all = ["aligned", "partially_aligned", "not_aligned"]

  static func validate(_ values: [String]) throws {
    for value in values where !self.all.contains(value) {
      throw ValidationError(
        "--outcome '\(value)': expected aligned, partially_aligned or not_aligned")
    }
  }

  static func outcome(_ name: String) -> Policywatch_V1_Outcome {
    switch name {
    case "aligned": return .aligned
    case "partially_aligned": return .partiallyAligned
    default: return .notAligned
    }
  }
}

/// `policywatch watch`: prints verdict events as the server makes them.
struct Watch: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print verdict events as they happen (Verdicts.WatchVerdicts).",
    discussion: """
      Prints one line per event: `created` for a verdict of a newly evaluated proposal, \
      `changed` when a re-evaluation after a rule change moved an outcome (old -> new). With \
      --after N it first prints every stored event after sequence N, then goes on live; the \
      last sequence printed is where to resume. When the server ends the stream (a reader too \
      slow, or a server shutting down) the command says so and how to resume.

      Examples:
        policywatch watch
        policywatch watch --framework global-ai-governance --outcome not_aligned
        policywatch watch --after 0 --format json

      Exit codes: 0 stopped after --count events; 1 the stream was ended by the server; 2 bad \
      usage; 3 the server could not be reached. Stop it with Ctrl-C.
      """
  )

  @OptionGroup var serverOptions: ServerOptions

  @Option(help: "Only events of this framework (repeatable).")
  var framework: [String] = []

  @Option(help: "Only events of this proposal (repeatable).")
  var proposal: [String] = []

  @Option(help: "Only these outcomes (repeatable): aligned, partially_aligned, not_aligned.")
  var outcome: [String] = []

  @Option(help: "First replay the stored events after this sequence (0: all of them).")
  var after: Int64?

  @Option(help: "Stop after this many events (heartbeats not counted).")
  var count: Int?

  @Flag(help: "Also print heartbeats.")
  var heartbeats = false

  @Option(help: "table or json (one JSON object per line).")
  var format: VerdictsCommand.Format = .table

  func validate() throws {
    try OutcomeName.validate(self.outcome)
    if let after, after < 0 { throw ValidationError("--after must not be negative") }
    if let count, count < 1 { throw ValidationError("--count must be at least 1") }
  }

  func run() async throws {
    var request = Policywatch_V1_WatchVerdictsRequest()
    request.frameworkIds = self.framework
    request.proposalIds = self.proposal
    request.outcomes = self.outcome.map(OutcomeName.outcome)
    if let after { request.afterSequence = after }
    let (format, heartbeats, limit) = (self.format, self.heartbeats, self.count)
    let ended: RPCError? = try await self.serverOptions.withClient { client in
      let service = Policywatch_V1_Verdicts.Client(wrapping: client)
      let accepted = Mutex(false)
      do {
        try await service.watchVerdicts(request) { response in
          if case .success = response.accepted { accepted.withLock { $0 = true } }
          var seen = 0
          for try await event in response.messages {
            if event.kind == .heartbeat {
              if heartbeats { Watch.print(event, format: format) }
              continue
            }
            Watch.print(event, format: format)
            seen += 1
            if let limit, seen >= limit { return }
          }
        }
        return nil
      } catch let error as RPCError where accepted.withLock({ $0 }) {
        // The server accepted the stream, then ended it (too slow a reader, or a shutdown);
        // its message says where to resume. Errors before that are reported as for any call.
        return error
      }
    }
    if let ended {
      printError("policywatch: the server ended the stream: \(ended.code): \(ended.message)")
      throw ExitCode.failure
    }
  }

  static func print(_ event: Policywatch_V1_VerdictEvent, format: VerdictsCommand.Format) {
    switch format {
    case .json:
      emit(VerdictsCommand.json(event))
    case .table:
      let verdict = event.verdict
      let outcome = RuleTestRunner.name(of: verdict.outcome)
      switch event.kind {
      case .heartbeat:
        emit("\(event.sequence)  heartbeat")
      case .changed:
        emit(
          "\(event.sequence)  changed  \(verdict.proposalID)  \(verdict.frameworkID)  \(RuleTestRunner.name(of: event.previousOutcome)) -> \(outcome)  \(String(format: "%.1f", verdict.score))  \(verdict.id)"
        )
      default:
        emit(
          "\(event.sequence)  created  \(verdict.proposalID)  \(verdict.frameworkID)  \(outcome)  \(String(format: "%.1f", verdict.score))  \(verdict.id)"
        )
      }
    }
  }

  /// Writes a line at once, unbuffered: a pipe reading `watch` sees each event as it comes.
  static func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
  }
}
