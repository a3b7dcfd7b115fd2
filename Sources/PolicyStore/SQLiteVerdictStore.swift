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
  /// The latest sequence committed; read and written on `writeQueue` only.
  private var writerSequence: Int64 = 0
  private struct Pending {
    var record: EvaluationRecord
    var continuation: CheckedContinuation<StoredEvaluation, any Error>
  }
  private let pending = Mutex<(items: [Pending], scheduled: Bool)>(([], false))
  private let observeBatch: @Sendable (Int, Duration) -> Void
  private let publish: @Sendable ([Policywatch_V1_VerdictEvent], Int64) -> Void

  /// Opens (and creates or migrates) the database at `path`. After each commit, on one serial
  /// queue and so in sequence order, `publish` receives the events committed and the latest
  /// sequence, before any caller of the batch is answered.
  public init(
    path: String,
    durability: Durability = .full,
    observeBatch: @escaping @Sendable (Int, Duration) -> Void = { _, _ in },
    publish: @escaping @Sendable ([Policywatch_V1_VerdictEvent], Int64) -> Void = { _, _ in }
  ) throws {
    self.writer = try SQLiteConnection(path: path)
    try self.writer.execute("PRAGMA journal_mode=WAL")
    try self.writer.execute("PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL")")
    try Self.migrate(self.writer)
    self.reader = try SQLiteConnection(path: path)
    let latest = try self.writer.prepare("SELECT COALESCE(MAX(sequence), 0) FROM verdicts")
    try latest.bind([])
    self.writerSequence = try latest.step() ? latest.int(0) : 0
    self.observeBatch = observeBatch
    self.publish = publish
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
    """,
    // 2: events for watchers (1 created, 2 changed, 0 none: a re-evaluation that changed
    // nothing), the rule book revision of each verdict, re-evaluation jobs and metadata.
    """
    ALTER TABLE verdicts ADD COLUMN event INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE verdicts ADD COLUMN previous_outcome INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE verdicts ADD COLUMN rulebook_revision TEXT NOT NULL DEFAULT '';
    CREATE INDEX verdicts_by_proposal_framework ON verdicts(proposal_id, framework_id, sequence);
    CREATE TABLE reevaluation_jobs(
      id TEXT PRIMARY KEY, rulebook_revision TEXT NOT NULL, framework_ids TEXT NOT NULL,
      only_stale INTEGER NOT NULL, state TEXT NOT NULL, cursor TEXT NOT NULL, done INTEGER NOT NULL,
      total INTEGER NOT NULL, changed INTEGER NOT NULL, started_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL);
    CREATE TABLE metadata(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
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
        self.publish(results.flatMap(\.events), self.writerSequence)
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
        "INSERT INTO verdicts(sequence, id, proposal_id, proposal_revision, framework_id, outcome, created_at, data, event, previous_outcome, rulebook_revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
      )
      // The writer is the only one: the next sequences are known, so each verdict is written
      // once, with its sequence inside its data (committed only if the whole batch is).
      var sequence = self.writerSequence
      let latestOutcome = try db.prepare(
        "SELECT outcome FROM verdicts WHERE proposal_id = ? AND framework_id = ? ORDER BY sequence DESC LIMIT 1"
      )
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
        var events: [Policywatch_V1_VerdictEvent] = []
        for var verdict in record.verdicts {
          verdict.id = UUID().uuidString.lowercased()
          verdict.proposalRevision = revision
          let created = verdict.hasCreatedAt ? verdict.createdAt.date : Date()
          var event = Policywatch_V1_VerdictEvent()
          event.kind = .created
          if record.reevaluation {
            try latestOutcome.bind([.text(id), .text(verdict.frameworkID)])
            if try latestOutcome.step() {
              let previous =
                Policywatch_V1_Outcome(rawValue: Int(latestOutcome.int(0))) ?? .unspecified
              event.kind = previous == verdict.outcome ? .unspecified : .changed
              event.previousOutcome = previous
            }
          }
          sequence += 1
          verdict.sequence = sequence
          try insertVerdict.run([
            .int(sequence), .text(verdict.id), .text(id), .int(revision),
            .text(verdict.frameworkID),
            .int(Int64(verdict.outcome.rawValue)),
            .int(Self.microseconds(created)), .blob(try verdict.serializedData()),
            .int(Int64(event.kind.rawValue)), .int(Int64(event.previousOutcome.rawValue)),
            .text(verdict.rulebookRevision),
          ])
          stored.append(verdict)
          if event.kind != .unspecified {
            event.sequence = verdict.sequence
            event.verdict = verdict
            events.append(event)
          }
        }
        results.append(
          StoredEvaluation(proposalRevision: revision, verdicts: stored, events: events))
      }
      try db.execute("COMMIT")
      self.writerSequence = sequence
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

  public func events(after: Int64, matching filter: EventFilter, limit: Int) async throws
    -> [Policywatch_V1_VerdictEvent]
  {
    var conditions = ["sequence > ?", "event != 0"]
    var values: [SQLiteStatement.Value] = [.int(after)]
    func oneOf(_ column: String, _ items: [SQLiteStatement.Value]) {
      guard !items.isEmpty else { return }
      conditions.append("\(column) IN (\(items.map { _ in "?" }.joined(separator: ", ")))")
      values.append(contentsOf: items)
    }
    oneOf("framework_id", filter.frameworkIDs.sorted().map { .text($0) })
    oneOf("proposal_id", filter.proposalIDs.sorted().map { .text($0) })
    oneOf("outcome", filter.outcomes.map { .int(Int64($0.rawValue)) })
    values.append(.int(Int64(limit)))
    let sql =
      "SELECT data, event, previous_outcome, sequence FROM verdicts WHERE \(conditions.joined(separator: " AND ")) ORDER BY sequence LIMIT ?"
    return try self.read { db in
      let statement = try db.prepare(sql)
      try statement.bind(values)
      var events: [Policywatch_V1_VerdictEvent] = []
      while try statement.step() {
        var event = Policywatch_V1_VerdictEvent()
        event.verdict = try Policywatch_V1_Verdict(serializedBytes: statement.blob(0))
        event.kind = Policywatch_V1_VerdictEvent.Kind(rawValue: Int(statement.int(1))) ?? .created
        event.previousOutcome =
          Policywatch_V1_Outcome(rawValue: Int(statement.int(2))) ?? .unspecified
        event.sequence = statement.int(3)
        events.append(event)
      }
      return events
    }
  }

  public func latestSequence() async throws -> Int64 {
    try self.read { db in try Self.scalar(db, "SELECT COALESCE(MAX(sequence), 0) FROM verdicts") }
  }

  public func proposalCount() async throws -> Int64 {
    try self.read { db in try Self.scalar(db, "SELECT COUNT(DISTINCT id) FROM proposals") }
  }

  static func scalar(_ db: SQLiteConnection, _ sql: String) throws -> Int64 {
    let statement = try db.prepare(sql)
    try statement.bind([])
    return try statement.step() ? statement.int(0) : 0
  }

  public func latestRulebookRevisions(proposalID: String) async throws -> [String: String] {
    try self.read { db in
      let statement = try db.prepare(
        """
        SELECT v.framework_id, v.rulebook_revision FROM verdicts v
        WHERE v.proposal_id = ?1 AND v.sequence = (
          SELECT MAX(sequence) FROM verdicts w WHERE w.proposal_id = ?1 AND w.framework_id = v.framework_id)
        """)
      try statement.bind([.text(proposalID)])
      var revisions: [String: String] = [:]
      while try statement.step() { revisions[statement.text(0)] = statement.text(1) }
      return revisions
    }
  }

  // MARK: Jobs and metadata

  /// Runs `body` on the writer connection, after the appends queued before it.
  private func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T)
    async throws -> T
  {
    try await withCheckedThrowingContinuation { continuation in
      self.writeQueue.async {
        continuation.resume(with: Result { try body(self.writer) })
      }
    }
  }

  public func saveJob(_ job: ReevaluationJobRecord) async throws {
    try await self.write { db in
      try db.prepare(
        """
        INSERT INTO reevaluation_jobs(id, rulebook_revision, framework_ids, only_stale, state, cursor,
          done, total, changed, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO UPDATE SET state = excluded.state, cursor = excluded.cursor,
          done = excluded.done, total = excluded.total, changed = excluded.changed,
          updated_at = excluded.updated_at, framework_ids = excluded.framework_ids,
          rulebook_revision = excluded.rulebook_revision
        """
      ).run([
        .text(job.id), .text(job.rulebookRevision), .text(job.frameworkIDs.joined(separator: ",")),
        .int(job.onlyStale ? 1 : 0), .text(job.state.rawValue), .text(job.cursor), .int(job.done),
        .int(job.total), .int(job.changed), .int(Self.microseconds(job.startedAt)),
        .int(Self.microseconds(job.updatedAt)),
      ])
    }
  }

  public func runningJobs() async throws -> [ReevaluationJobRecord] {
    try self.read { db in
      let statement = try db.prepare(
        """
        SELECT id, rulebook_revision, framework_ids, only_stale, state, cursor, done, total, changed,
          started_at, updated_at FROM reevaluation_jobs WHERE state = 'running' ORDER BY started_at
        """)
      try statement.bind([])
      var jobs: [ReevaluationJobRecord] = []
      func date(_ column: Int32) -> Date {
        Date(timeIntervalSince1970: Double(statement.int(column)) / 1_000_000)
      }
      while try statement.step() {
        jobs.append(
          ReevaluationJobRecord(
            id: statement.text(0), rulebookRevision: statement.text(1),
            frameworkIDs: statement.text(2).split(separator: ",").map(String.init),
            onlyStale: statement.int(3) != 0,
            state: ReevaluationJobRecord.State(rawValue: statement.text(4)) ?? .running,
            cursor: statement.text(5), done: statement.int(6), total: statement.int(7),
            changed: statement.int(8), startedAt: date(9), updatedAt: date(10)))
      }
      return jobs
    }
  }

  public func metadata(_ key: String) async throws -> String? {
    try self.read { db in
      let statement = try db.prepare("SELECT value FROM metadata WHERE key = ?")
      try statement.bind([.text(key)])
      return try statement.step() ? statement.text(0) : nil
    }
  }

  public func setMetadata(_ key: String, _ value: String) async throws {
    try await self.write { db in
      try db.prepare(
        "INSERT INTO metadata(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
      ).run([.text(key), .text(value)])
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
