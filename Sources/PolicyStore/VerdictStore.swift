import Foundation
import PolicyWatchAPI

/// One evaluation to store: a proposal revision and the verdicts made for it.
public struct EvaluationRecord: Sendable {
  public var proposal: Policywatch_V1_Proposal
  /// Hex SHA-256 of the proposal's canonical encoding.
  public var proposalHash: String
  public var verdicts: [Policywatch_V1_Verdict]

  public init(
    proposal: Policywatch_V1_Proposal, proposalHash: String, verdicts: [Policywatch_V1_Verdict]
  ) {
    self.proposal = proposal
    self.proposalHash = proposalHash
    self.verdicts = verdicts
  }
}

/// What the store gave the evaluation: the proposal's revision and the verdicts with their ids
/// and sequences.
public struct StoredEvaluation: Sendable {
  public var proposalRevision: Int64
  public var verdicts: [Policywatch_V1_Verdict]
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
}
