import Foundation
import GRPCCore
import GRPCProtobuf
import PolicyRules
import PolicyStore
import PolicyWatchAPI

/// Limits on what a client may send (flags of `policywatch serve`).
public struct RequestLimits: Sendable {
  /// The largest request message, in bytes; larger ones get RESOURCE_EXHAUSTED from the transport.
  public var maxRequestBytes = 4 * 1024 * 1024
  public var maxBodyCharacters = 1_000_000
  public var maxListLength = 1000
  public var maxFieldCharacters = 10_000

  /// The defaults.
  public init() {}
}

/// Checks a proposal before evaluation, naming each bad field by its path
/// (`proposal.participants[2].name`).
enum ProposalValidator {
  static let idCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-:/"))

  static func violations(of proposal: Policywatch_V1_Proposal, limits: RequestLimits) -> (
    invalid: [ErrorDetails.BadRequest.FieldViolation],
    oversized: [ErrorDetails.BadRequest.FieldViolation]
  ) {
    var invalid: [ErrorDetails.BadRequest.FieldViolation] = []
    var oversized: [ErrorDetails.BadRequest.FieldViolation] = []
    func bad(_ field: String, _ description: String) {
      invalid.append(ErrorDetails.BadRequest.FieldViolation(field: field, description: description))
    }
    func big(_ field: String, _ description: String) {
      oversized.append(
        ErrorDetails.BadRequest.FieldViolation(field: field, description: description))
    }
    if proposal.id.isEmpty {
      bad("proposal.id", "required")
    } else if proposal.id.count > 128
      || proposal.id.unicodeScalars.contains(where: { !idCharacters.contains($0) })
    {
      bad("proposal.id", "1 to 128 letters, digits, '.', '_', '-', ':' or '/'")
    }
    if proposal.title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
      && proposal.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    {
      bad("proposal.title", "a title or a body is required")
    }
    if proposal.body.unicodeScalars.count > limits.maxBodyCharacters {
      big("proposal.body", "longer than \(limits.maxBodyCharacters) characters")
    }
    for (name, value) in [
      ("title", proposal.title), ("summary", proposal.summary),
      ("coordinator", proposal.coordinator),
    ]
    where value.unicodeScalars.count > limits.maxFieldCharacters {
      big("proposal.\(name)", "longer than \(limits.maxFieldCharacters) characters")
    }
    let lists: [(String, Int)] = [
      ("participants", proposal.participants.count), ("commitments", proposal.commitments.count),
      ("sponsors", proposal.sponsors.count), ("sectors", proposal.sectors.count),
      ("instruments", proposal.instruments.count),
    ]
    for (name, count) in lists where count > limits.maxListLength {
      big("proposal.\(name)", "more than \(limits.maxListLength) items")
    }
    for (index, participant) in proposal.participants.enumerated() {
      if participant.name.trimmingCharacters(in: .whitespaces).isEmpty {
        bad("proposal.participants[\(index)].name", "required")
      }
      if case .UNRECOGNIZED(let value) = participant.kind {
        bad("proposal.participants[\(index)].kind", "unknown value \(value)")
      }
      if case .UNRECOGNIZED(let value) = participant.role {
        bad("proposal.participants[\(index)].role", "unknown value \(value)")
      }
    }
    for (index, commitment) in proposal.commitments.enumerated() {
      if case .UNRECOGNIZED(let value) = commitment.kind {
        bad("proposal.commitments[\(index)].kind", "unknown value \(value)")
      }
      if commitment.amountUsd < 0 {
        bad("proposal.commitments[\(index)].amount_usd", "must not be negative")
      }
      if commitment.count < 0 {
        bad("proposal.commitments[\(index)].count", "must not be negative")
      }
    }
    for (name, value) in [
      ("review_date", proposal.reviewDate), ("sunset_date", proposal.sunsetDate),
    ] where !value.isEmpty {
      let parts = value.split(separator: "-", omittingEmptySubsequences: false)
      let valid =
        parts.count == 3 && parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 2
        && Int(parts[0]) != nil && (1...12).contains(Int(parts[1]) ?? 0)
        && (1...31).contains(Int(parts[2]) ?? 0)
      if !valid { bad("proposal.\(name)", "a date written YYYY-MM-DD") }
    }
    return (invalid, oversized)
  }

  /// Throws `RESOURCE_EXHAUSTED` or `INVALID_ARGUMENT`, with `google.rpc.BadRequest` details.
  static func validate(_ request: Policywatch_V1_EvaluateRequest, limits: RequestLimits) throws {
    guard request.hasProposal else { throw APIErrors.required("proposal") }
    let (invalid, oversized) = self.violations(of: request.proposal, limits: limits)
    if !oversized.isEmpty { throw APIErrors.badRequest(oversized, code: .resourceExhausted) }
    if !invalid.isEmpty { throw APIErrors.badRequest(invalid) }
  }
}

/// `policywatch.v1.Evaluator`: validates, evaluates against the live rule book, stores the
/// proposal revision and the verdicts (unless `dry_run`) and answers once they are durable.
struct EvaluatorService: Policywatch_V1_Evaluator.SimpleServiceProtocol {
  let registry: RuleBookRegistry
  let limits: RequestLimits
  let store: any VerdictStore
  let metrics: ServiceMetrics
  let reevaluator: Reevaluator

  func evaluate(
    request: Policywatch_V1_EvaluateRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_EvaluateResponse {
    try ProposalValidator.validate(request, limits: self.limits)
    let book = self.registry.current
    try APIErrors.checkFrameworks(request.frameworkIds, field: "framework_ids", in: book)
    var verdicts: [Policywatch_V1_Verdict]
    do {
      verdicts = try PolicyEngine.evaluate(
        request.proposal, book: book, frameworkIDs: request.frameworkIds)
    } catch {
      throw APIErrors.unknownFramework(error.id, in: book)
    }
    let principal = CallPrincipal.name
    for index in verdicts.indices { verdicts[index].requestedBy = principal }
    var response = Policywatch_V1_EvaluateResponse()
    response.proposalID = request.proposal.id
    response.proposalHash =
      verdicts.first?.proposalHash ?? PolicyEngine.proposalHash(request.proposal)
    response.requestID = request.requestID
    if request.dryRun {
      response.verdicts = verdicts
      self.count(verdicts, stored: false)
      return response
    }
    // A call whose deadline has passed stores nothing: the client has stopped waiting.
    try Task.checkCancellation()
    let stored = try await self.store.append(
      EvaluationRecord(
        proposal: request.proposal, proposalHash: response.proposalHash, verdicts: verdicts))
    response.verdicts = stored.verdicts
    response.proposalRevision = stored.proposalRevision
    self.count(stored.verdicts, stored: true)
    return response
  }

  /// One response per request, in order. A request is read only after the previous response
  /// was written, and writing waits for HTTP/2 flow control, so a slow reader slows the stream
  /// down instead of making the server buffer. A bad item gets an `error` in its response; the
  /// stream goes on.
  func evaluateStream(
    request: RPCAsyncSequence<Policywatch_V1_EvaluateRequest, any Error>,
    response: RPCWriter<Policywatch_V1_EvaluateResponse>,
    context: ServerContext
  ) async throws {
    for try await item in request {
      var answer: Policywatch_V1_EvaluateResponse
      do {
        answer = try await self.evaluate(request: item, context: context)
      } catch let status as GoogleRPCStatus {
        answer = Self.itemError(
          item, code: status.code, message: status.message, details: status.details)
      } catch let error as RPCError {
        if error.code == .cancelled || error.code == .deadlineExceeded { throw error }
        answer = Self.itemError(item, code: error.code, message: error.message, details: [])
      }
      try await response.write(answer)
    }
  }

  private func count(_ verdicts: [Policywatch_V1_Verdict], stored: Bool) {
    for verdict in verdicts {
      self.metrics.verdictMade(
        framework: verdict.frameworkID, outcome: RuleTestRunner.name(of: verdict.outcome),
        stored: stored)
    }
  }

  static func itemError(
    _ item: Policywatch_V1_EvaluateRequest,
    code: RPCError.Code,
    message: String,
    details: [ErrorDetails]
  ) -> Policywatch_V1_EvaluateResponse {
    var answer = Policywatch_V1_EvaluateResponse()
    answer.requestID = item.requestID
    answer.proposalID = item.proposal.id
    answer.error.code = Int32(code.rawValue)
    answer.error.message = message
    for detail in details {
      if let request = detail.badRequest {
        answer.error.fieldViolations = request.violations.map { violation in
          var field = Policywatch_V1_FieldViolation()
          field.field = violation.field
          field.description_p = violation.violationDescription
          return field
        }
      }
    }
    return answer
  }

  /// Starts a re-evaluation job (or joins the running one when it covers the request) and
  /// streams its progress until it is over. The job goes on if the client goes away.
  func reevaluate(
    request: Policywatch_V1_ReevaluateRequest,
    response: RPCWriter<Policywatch_V1_ReevaluateProgress>,
    context: ServerContext
  ) async throws {
    try APIErrors.checkFrameworks(
      request.frameworkIds, field: "framework_ids", in: self.registry.current)
    let job = try await self.reevaluator.start(
      frameworkIDs: request.frameworkIds, onlyStale: request.onlyStale)
    var sent: Reevaluator.Progress? = nil
    while true {
      let progress = job.progress
      if progress != sent {
        var message = Policywatch_V1_ReevaluateProgress()
        message.jobID = job.id
        message.done = progress.done
        message.total = progress.total
        message.changed = progress.changed
        message.finished = progress.finished
        message.rulebookRevision = job.book.revision
        try await response.write(message)
        sent = progress
      }
      if progress.finished { return }
      if let newer = progress.supersededBy {
        throw RPCError(
          code: .aborted,
          message:
            "job \(job.id) was superseded by job \(newer), which covers it; call again to follow it"
        )
      }
      if progress.interrupted {
        throw RPCError(
          code: .unavailable,
          message: "the server is shutting down; job \(job.id) resumes when it starts again")
      }
      if let failure = progress.failure {
        throw RPCError(code: .internalError, message: "job \(job.id) failed: \(failure)")
      }
      try await Task.sleep(for: .milliseconds(100))
    }
  }
}
