import Foundation
import PolicyWatchAPI

/// One evaluation to store: a proposal revision and the verdicts made for it.
public struct EvaluationRecord: Sendable {
  public var proposal: Policywatch_V1_Proposal
  /// Hex SHA-256 of the proposal's canonical encoding.
  public var proposalHash: String
  public var verdicts: [Policywatch_V1_Verdict]
  /// Made by a re-evaluation after a rule change: a verdict is then a `changed` event when its
  /// outcome differs from the latest stored one for its proposal and framework, no event when it
  /// does not, and a `created` event when there was none.
  public var reevaluation: Bool

  public init(
    proposal: Policywatch_V1_Proposal, proposalHash: String, verdicts: [Policywatch_V1_Verdict],
    reevaluation: Bool = false
  ) {
    self.proposal = proposal
    self.proposalHash = proposalHash
    self.verdicts = verdicts
    self.reevaluation = reevaluation
  }
}

/// What the store gave the evaluation: the proposal's revision and the verdicts with their ids
/// and sequences.
public struct StoredEvaluation: Sendable {
  public var proposalRevision: Int64
  public var verdicts: [Policywatch_V1_Verdict]
  /// The events the verdicts made, in sequence order (a re-evaluation that changed nothing
  /// makes none).
  public var events: [Policywatch_V1_VerdictEvent]
}

/// Filters of ``VerdictStore/events(after:matching:limit:)``; empty means any.
public struct EventFilter: Sendable {
  public var frameworkIDs: Set<String> = []
  public var proposalIDs: Set<String> = []
  public var outcomes: Set<Policywatch_V1_Outcome> = []

  public init() {}

  /// Whether `event` passes (heartbeats always do).
  public func matches(_ event: Policywatch_V1_VerdictEvent) -> Bool {
    if event.kind == .heartbeat { return true }
    let verdict = event.verdict
    return (self.frameworkIDs.isEmpty || self.frameworkIDs.contains(verdict.frameworkID))
      && (self.proposalIDs.isEmpty || self.proposalIDs.contains(verdict.proposalID))
      && (self.outcomes.isEmpty || self.outcomes.contains(verdict.outcome))
  }
}

/// A re-evaluation job as stored, so that a restart resumes it.
public struct ReevaluationJobRecord: Sendable, Equatable {
  public enum State: String, Sendable {
    case running, finished, superseded, failed
  }
  public var id: String
  /// The rule book revision the job was started with.
  public var rulebookRevision: String
  public var frameworkIDs: [String]
  public var onlyStale: Bool
  public var state: State
  /// The last proposal id done; the job goes on after it.
  public var cursor: String
  public var done: Int64
  public var total: Int64
  public var changed: Int64
  public var startedAt: Date
  public var updatedAt: Date

  public init(
    id: String, rulebookRevision: String, frameworkIDs: [String], onlyStale: Bool,
    state: State = .running, cursor: String = "", done: Int64 = 0, total: Int64 = 0,
    changed: Int64 = 0, startedAt: Date = Date(), updatedAt: Date = Date()
  ) {
    self.id = id
    self.rulebookRevision = rulebookRevision
    self.frameworkIDs = frameworkIDs
    self.onlyStale = onlyStale
    self.state = state
    self.cursor = cursor
    self.done = done
    self.total = total
    self.changed = changed
    self.startedAt = startedAt
    self.updatedAt = updatedAt
  }
}

/// Filters of ``VerdictStore/verdicts(matching:pageSize:before:)``.
public struct VerdictFilter: Sendable {
  public var proposalID: String = ""
  public var frameworkID: String = ""
  public var outcomes: [Policywatch_V1_Outcome] = []
  /// Microseconds since the epoch; `createdAfter` inclusive, `createdBefore` exclusive.
  public var createdAfter: Int64?
  public var createdBefore: Int64?

  public init() {}
}

/// Durable storage of proposal revisions and append-only verdicts, each verdict with a
/// store-wide increasing sequence. The SQLite implementation is the default; a PostgreSQL one
/// takes the same shape.
public protocol VerdictStore: Sendable {
  /// Stores the proposal revision (a new revision only when its content changed) and the
  /// verdicts, and returns only once they are durable.
  func append(_ record: EvaluationRecord) async throws -> StoredEvaluation
  /// One verdict by id.
  func verdict(id: String) async throws -> Policywatch_V1_Verdict?
  /// Verdicts matching `filter`, newest first, with a sequence below `before` (all when nil).
  func verdicts(matching filter: VerdictFilter, pageSize: Int, before: Int64?) async throws
    -> [Policywatch_V1_Verdict]
  /// A proposal revision (the latest when `revision` is 0).
  func proposal(id: String, revision: Int64) async throws -> Policywatch_V1_StoredProposal?
  /// The latest revisions of proposals, by id, after `afterID`.
  func proposals(pageSize: Int, after afterID: String?) async throws
    -> [Policywatch_V1_StoredProposal]

  /// Stored events (`created` and `changed` verdicts) with a sequence above `after`, oldest
  /// first.
  func events(after: Int64, matching filter: EventFilter, limit: Int) async throws
    -> [Policywatch_V1_VerdictEvent]
  /// The highest sequence given so far (0 for an empty store).
  func latestSequence() async throws -> Int64
  /// How many proposals are stored (counting each id once).
  func proposalCount() async throws -> Int64
  /// The latest verdict's rule book revision for each framework of a proposal.
  func latestRulebookRevisions(proposalID: String) async throws -> [String: String]

  /// Creates or updates a re-evaluation job.
  func saveJob(_ job: ReevaluationJobRecord) async throws
  /// Jobs still running (when the server stopped), oldest first.
  func runningJobs() async throws -> [ReevaluationJobRecord]
  /// A value of the store's own key-value table.
  func metadata(_ key: String) async throws -> String?
  func setMetadata(_ key: String, _ value: String) async throws
}
