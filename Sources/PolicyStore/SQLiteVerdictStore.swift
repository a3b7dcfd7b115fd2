import CSQLite
import Foundation
import PolicyWatchAPI
import SwiftProtobuf
import Synchronization

/// The SQLite ``VerdictStore``: one database file, WAL mode, versioned migrations at open, and
/// group commit: concurrent appends wait in a queue and are committed together, one transaction
/// and one sync for the whole batch, each caller answered only after that commit.
public final class SQLiteVerdictStore: VerdictStore, @unchecked Sendable {
  // @unchecked: the connections are confined: `writer` to `writeQueue`, `reader` to `readLock`.

  /// How commits reach the disk (SQLite's `synchronous`).
  public enum Durability: String, Sendable, CaseIterable {
    /// Every commit is synced: nothing acknowledged is lost on a power failure.
    case full
    /// WAL with `synchronous=NORMAL`: durable across process crashes, not power loss.
    case normal
  }

  /// The largest number of appends committed in one transaction.
  public static let maxBatch = 512

  private let writer: SQLiteConnection
  private let reader: SQLiteConnection
  private let readLock = NSLock()
  private let writeQueue = DispatchQueue(label: "policywatch.store.writer")
  private struct Pending {
    var record: EvaluationRecord
    var continuation: CheckedContinuation<StoredEvaluation, any Error>
  }
  private let pending = Mutex<(items: [Pending], scheduled: Bool)>(([], false))
  private let observeBatch: @Sendable (Int, Duration) -> Void

  /// Opens (and creates or migrates) the database at `path`.
  public init(
    path: String,
    durability: Durability = .full,
    observeBatch: @escaping @Sendable (Int, Duration) -> Void = { _, _ in }
  ) throws {
    self.writer = try SQLiteConnection(path: path)
    try self.writer.execute("PRAGMA journal_mode=WAL")
    try self.writer.execute("PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL")")
    try Self.migrate(self.writer)
    self.reader = try SQLiteConnection(path: path)
    self.observeBatch = observeBatch
  }

  static let migrations: [String] = [
    """
    CREATE TABLE proposals(
      id TEXT NOT NULL, revision INTEGER NOT NULL, content_hash TEXT NOT NULL, data BLOB NOT NULL,
      received_at INTEGER NOT NULL, PRIMARY KEY(id, revision));
    CREATE UNIQUE INDEX proposals_by_hash ON proposals(id, content_hash);
    CREATE TABLE verdicts(
      sequence INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, proposal_id TEXT NOT NULL,
      proposal_revision INTEGER NOT NULL, framework_id TEXT NOT NULL, outcome INTEGER NOT NULL,
      created_at INTEGER NOT NULL, data BLOB NOT NULL);
    CREATE INDEX verdicts_by_proposal ON verdicts(proposal_id, sequence);
    CREATE INDEX verdicts_by_framework ON verdicts(framework_id, sequence);
    """
  ]

  /// Applies the migrations the database has not seen yet, each in its own transaction.
  static func migrate(_ db: SQLiteConnection) throws {
    try db.execute(
      "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
    )
    let current = try db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    try current.bind([])
    let applied = try current.step() ? Int(current.int(0)) : 0
    for (index, sql) in migrations.enumerated() where index + 1 > applied {
      try db.execute("BEGIN IMMEDIATE")
      do {
        try db.execute(sql)
        try db.prepare("INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)")
          .run([.int(Int64(index + 1)), .int(Int64(Date().timeIntervalSince1970))])
        try db.execute("COMMIT")
      } catch {
        try? db.execute("ROLLBACK")
        throw error
      }
    }
  }

  static func microseconds(_ date: Date) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
  }

  // MARK: Writing

  public func append(_ record: EvaluationRecord) async throws -> StoredEvaluation {
    try await withCheckedThrowingContinuation { continuation in
      let schedule = self.pending.withLock { state -> Bool in
        state.items.append(Pending(record: record, continuation: continuation))
        if state.scheduled { return false }
        state.scheduled = true
        return true
      }
      if schedule { self.writeQueue.async { self.drain() } }
    }
  }

  /// Commits everything waiting, in batches, until the queue is empty.
  private func drain() {
    while true {
      let batch = self.pending.withLock { state -> [Pending] in
        let taken = Array(state.items.prefix(Self.maxBatch))
        state.items.removeFirst(taken.count)
        if taken.isEmpty { state.scheduled = false }
        return taken
      }
      if batch.isEmpty { return }
      let started = ContinuousClock.now
      do {
        let results = try self.commit(batch.map(\.record))
        self.observeBatch(batch.count, ContinuousClock.now - started)
        for (item, result) in zip(batch, results) { item.continuation.resume(returning: result) }
      } catch {
        for item in batch { item.continuation.resume(throwing: error) }
      }
    }
  }

  private func commit(_ records: [EvaluationRecord]) throws -> [StoredEvaluation] {
    let db = self.writer
    try db.execute("BEGIN IMMEDIATE")
    do {
      let findRevision = try db.prepare(
        "SELECT revision FROM proposals WHERE id = ? AND content_hash = ?")
      let lastRevision = try db.prepare(
        "SELECT COALESCE(MAX(revision), 0) FROM proposals WHERE id = ?")
      let insertProposal = try db.prepare(
        "INSERT INTO proposals(id, revision, content_hash, data, received_at) VALUES (?, ?, ?, ?, ?)"
      )
      let insertVerdict = try db.prepare(
        "INSERT INTO verdicts(id, proposal_id, proposal_revision, framework_id, outcome, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
      )
      let updateVerdict = try db.prepare("UPDATE verdicts SET data = ? WHERE sequence = ?")
      var results: [StoredEvaluation] = []
      for record in records {
        let id = record.proposal.id
        var revision: Int64
        try findRevision.bind([.text(id), .text(record.proposalHash)])
        if try findRevision.step() {
          revision = findRevision.int(0)
        } else {
          try lastRevision.bind([.text(id)])
          revision = (try lastRevision.step() ? lastRevision.int(0) : 0) + 1
          try insertProposal.run([
            .text(id), .int(revision), .text(record.proposalHash),
            .blob(try record.proposal.serializedData()),
            .int(Self.microseconds(Date())),
          ])
        }
        var stored: [Policywatch_V1_Verdict] = []
        for var verdict in record.verdicts {
          verdict.id = UUID().uuidString.lowercased()
          verdict.proposalRevision = revision
          let created = verdict.hasCreatedAt ? verdict.createdAt.date : Date()
          try insertVerdict.run([
            .text(verdict.id), .text(id), .int(revision), .text(verdict.frameworkID),
            .int(Int64(verdict.outcome.rawValue)),
            .int(Self.microseconds(created)), .blob(Data()),
          ])
          verdict.sequence = db.lastInsertRowID
          try updateVerdict.run([.blob(try verdict.serializedData()), .int(verdict.sequence)])
          stored.append(verdict)
        }
        results.append(StoredEvaluation(proposalRevision: revision, verdicts: stored))
      }
      try db.execute("COMMIT")
      return results
    } catch {
      try? db.execute("ROLLBACK")
      throw error
    }
  }

  // MARK: Reading

  private func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
    self.readLock.lock()
    defer { self.readLock.unlock() }
    return try body(self.reader)
  }

  public func verdict(id: String) async throws -> Policywatch_V1_Verdict? {
    try self.read { db in
      let statement = try db.prepare("SELECT data FROM verdicts WHERE id = ?")
      try statement.bind([.text(id)])
      guard try statement.step() else { return nil }
      return try Policywatch_V1_Verdict(serializedBytes: statement.blob(0))
    }
  }

  public func verdicts(matching filter: VerdictFilter, pageSize: Int, before: Int64?) async throws
    -> [Policywatch_V1_Verdict]
  {
    var conditions: [String] = []
    var values: [SQLiteStatement.Value] = []
    if let before {
      conditions.append("sequence < ?")
      values.append(.int(before))
    }
    if !filter.proposalID.isEmpty {
      conditions.append("proposal_id = ?")
      values.append(.text(filter.proposalID))
    }
    if !filter.frameworkID.isEmpty {
      conditions.append("framework_id = ?")
      values.append(.text(filter.frameworkID))
    }
    if !filter.outcomes.isEmpty {
      conditions.append("outcome IN (\(filter.outcomes.map { _ in "?" }.joined(separator: ", ")))")
      values.append(contentsOf: filter.outcomes.map { .int(Int64($0.rawValue)) })
    }
    if let after = filter.createdAfter {
      conditions.append("created_at >= ?")
      values.append(.int(after))
    }
    if let beforeTime = filter.createdBefore {
      conditions.append("created_at < ?")
      values.append(.int(beforeTime))
    }
    let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    let sql = "SELECT data FROM verdicts \(whereClause) ORDER BY sequence DESC LIMIT ?"
    values.append(.int(Int64(pageSize)))
    return try self.read { db in
      let statement = try db.prepare(sql)
      try statement.bind(values)
      var verdicts: [Policywatch_V1_Verdict] = []
      while try statement.step() {
        verdicts.append(try Policywatch_V1_Verdict(serializedBytes: statement.blob(0)))
      }
      return verdicts
    }
  }

  public func proposal(id: String, revision: Int64) async throws -> Policywatch_V1_StoredProposal? {
    try self.read { db in
      let sql =
        revision > 0
        ? "SELECT data, revision, content_hash, received_at, (SELECT MAX(revision) FROM proposals WHERE id = ?1) FROM proposals WHERE id = ?1 AND revision = ?2"
        : "SELECT data, revision, content_hash, received_at, revision FROM proposals WHERE id = ?1 ORDER BY revision DESC LIMIT 1"
      let statement = try db.prepare(sql)
      try statement.bind(revision > 0 ? [.text(id), .int(revision)] : [.text(id)])
      guard try statement.step() else { return nil }
      return try Self.storedProposal(statement)
    }
  }

  public func proposals(pageSize: Int, after afterID: String?) async throws
    -> [Policywatch_V1_StoredProposal]
  {
    try self.read { db in
      let statement = try db.prepare(
        """
        SELECT p.data, p.revision, p.content_hash, p.received_at, p.revision FROM proposals p
        WHERE p.revision = (SELECT MAX(revision) FROM proposals q WHERE q.id = p.id) AND p.id > ?
        ORDER BY p.id LIMIT ?
        """)
      try statement.bind([.text(afterID ?? ""), .int(Int64(pageSize))])
      var proposals: [Policywatch_V1_StoredProposal] = []
      while try statement.step() { proposals.append(try Self.storedProposal(statement)) }
      return proposals
    }
  }

  static func storedProposal(_ statement: SQLiteStatement) throws -> Policywatch_V1_StoredProposal {
    var stored = Policywatch_V1_StoredProposal()
    stored.proposal = try Policywatch_V1_Proposal(serializedBytes: statement.blob(0))
    stored.revision = statement.int(1)
    stored.contentHash = statement.text(2)
    stored.receivedAt = Google_Protobuf_Timestamp(
      date: Date(timeIntervalSince1970: Double(statement.int(3)) / 1_000_000))
    stored.revisionCount = statement.int(4)
    return stored
  }
}
