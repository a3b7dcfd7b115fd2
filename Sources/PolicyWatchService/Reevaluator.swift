import Foundation
import Logging
import PolicyRules
import PolicyStore
import PolicyWatchAPI
import Synchronization

/// Re-evaluates stored proposals in the background after the rules changed: the latest
/// revision of every stored proposal, against the frameworks named, with bounded concurrency.
/// The new verdicts are appended like any other (a `changed` event for each outcome that moved).
/// One job runs at a time; a newer request that the running job does not cover supersedes it
/// with a job for both. Jobs are stored with a cursor, so a restart resumes them.
public actor Reevaluator {
  /// A job's progress, as `Evaluator.Reevaluate` streams it.
  public struct Progress: Sendable, Equatable {
    public var done: Int64 = 0
    public var total: Int64 = 0
    public var changed: Int64 = 0
    public var finished = false
    /// Set when a newer job took over.
    public var supersededBy: String?
    /// Set when the server stopped with the job unfinished; it resumes at the next start.
    public var interrupted = false
    public var failure: String?
  }

  /// A running or finished job.
  public final class Job: Sendable {
    public let id: String
    /// The frameworks re-evaluated, in the rule book's order.
    public let frameworkIDs: [String]
    public let onlyStale: Bool
    /// The rule book it evaluates with.
    public let book: RuleBook
    private let state: Mutex<Progress>

    init(id: String, frameworkIDs: [String], onlyStale: Bool, book: RuleBook, progress: Progress) {
      self.id = id
      self.frameworkIDs = frameworkIDs
      self.onlyStale = onlyStale
      self.book = book
      self.state = Mutex(progress)
    }

    /// The progress now.
    public var progress: Progress { self.state.withLock { $0 } }

    func update(_ body: (inout Progress) -> Void) { self.state.withLock { body(&$0) } }

    var isOver: Bool {
      self.state.withLock { $0.finished || $0.supersededBy != nil || $0.failure != nil }
    }

    /// Whether this job, still running, does everything a request for `frameworkIDs` would.
    func covers(_ frameworkIDs: [String], onlyStale: Bool, revision: String) -> Bool {
      !self.isOver && self.book.revision == revision && (!self.onlyStale || onlyStale)
        && Set(frameworkIDs).isSubset(of: self.frameworkIDs)
    }
  }

  /// Who re-evaluation verdicts are requested by.
  public static let principal = "system:reevaluation"
  /// The metadata key of the framework content hashes the stored verdicts are brought to.
  static let hashesKey = "framework_content_hashes"

  let store: any VerdictStore
  let registry: RuleBookRegistry
  let logger: Logger
  let metrics: ServiceMetrics
  let concurrency: Int
  let pageSize: Int
  private var current: Job?
  private var task: Task<Void, Never>?
  private var closed = false

  /// Creates the re-evaluator; `concurrency` proposals are evaluated at once.
  public init(
    store: any VerdictStore, registry: RuleBookRegistry, logger: Logger, metrics: ServiceMetrics,
    concurrency: Int = 1, pageSize: Int = 64
  ) {
    self.store = store
    self.registry = registry
    self.logger = logger
    self.metrics = metrics
    self.concurrency = max(1, concurrency)
    self.pageSize = max(1, pageSize)
  }

  /// The running job, if any.
  public var runningJob: Job? { self.current.flatMap { $0.isOver ? nil : $0 } }

  /// Starts a job for `frameworkIDs` (all when empty) with the live rule book, or returns the
  /// running job when it covers them.
  public func start(frameworkIDs: [String], onlyStale: Bool) async throws -> Job {
    let book = self.registry.current
    let requested = frameworkIDs.isEmpty ? book.frameworks.map(\.id) : frameworkIDs
    if let current = self.current,
      current.covers(requested, onlyStale: onlyStale, revision: book.revision)
    {
      return current
    }
    var wanted = Set(requested)
    var stale = onlyStale
    if let current = self.current, !current.isOver {
      wanted.formUnion(current.frameworkIDs)
      stale = stale && current.onlyStale
    }
    let record = ReevaluationJobRecord(
      id: UUID().uuidString.lowercased(), rulebookRevision: book.revision,
      frameworkIDs: book.frameworks.map(\.id).filter { wanted.contains($0) }, onlyStale: stale)
    return try await self.launch(record, book: book)
  }

  /// At server start: resumes the job a stop interrupted, and starts one for the frameworks
  /// whose content changed while the server was down.
  public func resumeAtStart() async throws {
    let book = self.registry.current
    let hashes = Self.hashes(of: book)
    let saved = try await self.store.metadata(Self.hashesKey)
    var changed: [String] = []
    if let saved {
      let old = Self.parseHashes(saved)
      changed = book.frameworks.filter { old[$0.id] != $0.contentHash }.map(\.id)
    }
    let running = try await self.store.runningJobs()
    for stale in running.dropLast() {
      var record = stale
      record.state = .superseded
      record.updatedAt = Date()
      try await self.store.saveJob(record)
    }
    if var record = running.last {
      let known = Set(book.frameworks.map(\.id))
      let wanted = Set(record.frameworkIDs).union(changed).intersection(known)
      if Set(record.frameworkIDs) == wanted || changed.isEmpty {
        record.frameworkIDs = book.frameworks.map(\.id).filter { wanted.contains($0) }
        record.rulebookRevision = book.revision
        self.logger.info(
          "resuming re-evaluation",
          metadata: ["job": "\(record.id)", "done": "\(record.done)", "total": "\(record.total)"])
        _ = try await self.launch(record, book: book)
      } else {
        record.state = .superseded
        try await self.store.saveJob(record)
        _ = try await self.start(frameworkIDs: Array(wanted), onlyStale: false)
      }
    } else if !changed.isEmpty {
      self.logger.info(
        "rules changed while the server was down",
        metadata: ["frameworks": "\(changed.joined(separator: ","))"])
      _ = try await self.start(frameworkIDs: changed, onlyStale: false)
    }
    try await self.store.setMetadata(Self.hashesKey, hashes)
  }

  /// After a successful reload: re-evaluates the frameworks that changed (and are still in
  /// the book). Returns the job, or nil when nothing is to be done.
  public func rulesChanged(_ frameworkIDs: [String]) async throws -> Job? {
    let book = self.registry.current
    let live = frameworkIDs.filter { book.framework($0) != nil }
    try await self.store.setMetadata(Self.hashesKey, Self.hashes(of: book))
    guard !live.isEmpty else { return nil }
    return try await self.start(frameworkIDs: live, onlyStale: false)
  }

  /// Stops the running job (server shutdown); it stays stored as running and resumes at the
  /// next start.
  public func shutdown() async {
    self.closed = true
    self.current?.update { if !$0.finished { $0.interrupted = true } }
    self.task?.cancel()
    await self.task?.value
  }

  private func launch(_ record: ReevaluationJobRecord, book: RuleBook) async throws -> Job {
    if let previous = self.current, !previous.isOver {
      previous.update { $0.supersededBy = record.id }
      self.task?.cancel()
      await self.task?.value
      try await self.store.saveJob(
        ReevaluationJobRecord(
          id: previous.id, rulebookRevision: previous.book.revision,
          frameworkIDs: previous.frameworkIDs, onlyStale: previous.onlyStale, state: .superseded,
          cursor: "", done: previous.progress.done, total: previous.progress.total,
          changed: previous.progress.changed))
    }
    var record = record
    if record.total == 0 {
      record.total = try await self.store.proposalCount() * Int64(record.frameworkIDs.count)
    }
    try await self.store.saveJob(record)
    let job = Job(
      id: record.id, frameworkIDs: record.frameworkIDs, onlyStale: record.onlyStale, book: book,
      progress: Progress(done: record.done, total: record.total, changed: record.changed))
    self.current = job
    if self.closed {
      job.update { $0.interrupted = true }
      return job
    }
    self.logger.info(
      "re-evaluation started",
      metadata: [
        "job": "\(job.id)", "frameworks": "\(job.frameworkIDs.joined(separator: ","))",
        "total": "\(record.total)", "rulebook_revision": "\(book.revision.prefix(12))",
      ])
    let (store, logger, metrics, concurrency, pageSize) = (
      self.store, self.logger, self.metrics, self.concurrency, self.pageSize
    )
    self.task = Task {
      await Self.run(
        job, record: record, store: store, logger: logger, metrics: metrics,
        concurrency: concurrency, pageSize: pageSize)
    }
    return job
  }

  /// Works through the stored proposals after the record's cursor, page by page, saving the
  /// cursor after each page.
  private static func run(
    _ job: Job, record: ReevaluationJobRecord, store: any VerdictStore, logger: Logger,
    metrics: ServiceMetrics, concurrency: Int, pageSize: Int
  ) async {
    var record = record
    let started = ContinuousClock.now
    do {
      while !Task.isCancelled {
        let page = try await store.proposals(pageSize: pageSize, after: record.cursor)
        guard let last = page.last else { break }
        let changed = try await Self.reevaluate(
          page.map(\.proposal), job: job, store: store, concurrency: concurrency)
        if Task.isCancelled { break }
        record.cursor = last.proposal.id
        record.done += Int64(page.count * job.frameworkIDs.count)
        record.changed += changed
        record.total = max(record.total, record.done)
        record.updatedAt = Date()
        try await store.saveJob(record)
        job.update {
          $0.done = record.done
          $0.total = record.total
          $0.changed = record.changed
        }
        metrics.reevaluated(pairs: page.count * job.frameworkIDs.count, changed: Int(changed))
      }
      if Task.isCancelled { return }
      record.state = .finished
      record.total = record.done
      record.updatedAt = Date()
      try await store.saveJob(record)
      job.update {
        $0.total = record.done
        $0.finished = true
      }
      logger.info(
        "re-evaluation finished",
        metadata: [
          "job": "\(job.id)", "done": "\(record.done)", "changed": "\(record.changed)",
          "duration": "\(ContinuousClock.now - started)",
        ])
    } catch {
      if Task.isCancelled { return }
      logger.error(
        "re-evaluation failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
      record.state = .failed
      try? await store.saveJob(record)
      job.update { $0.failure = "\(error)" }
    }
  }

  /// Re-evaluates one page: `concurrency` workers evaluate a share each, and the page's
  /// appends go to the store together (so they share commits). Returns how many verdicts
  /// changed outcome.
  private static func reevaluate(
    _ proposals: [Policywatch_V1_Proposal], job: Job, store: any VerdictStore, concurrency: Int
  ) async throws -> Int64 {
    let shares = (0..<concurrency).map { worker in
      stride(from: worker, to: proposals.count, by: concurrency).map { proposals[$0] }
    }
    return try await withThrowingTaskGroup(of: Int64.self) { group in
      for share in shares where !share.isEmpty {
        group.addTask {
          var records: [EvaluationRecord] = []
          for proposal in share {
            try Task.checkCancellation()
            records.append(try await Self.record(for: proposal, job: job, store: store))
            await Task.yield()
          }
          return try await withThrowingTaskGroup(of: Int64.self) { appends in
            for record in records where !record.verdicts.isEmpty {
              appends.addTask {
                let stored = try await store.append(record)
                return Int64(stored.events.filter { $0.kind == .changed }.count)
              }
            }
            return try await appends.reduce(0, +)
          }
        }
      }
      return try await group.reduce(0, +)
    }
  }

  private static func record(
    for proposal: Policywatch_V1_Proposal, job: Job, store: any VerdictStore
  ) async throws -> EvaluationRecord {
    var frameworkIDs = job.frameworkIDs
    if job.onlyStale {
      let revisions = try await store.latestRulebookRevisions(proposalID: proposal.id)
      frameworkIDs = frameworkIDs.filter { revisions[$0] != job.book.revision }
    }
    var verdicts =
      frameworkIDs.isEmpty
      ? [] : try PolicyEngine.evaluate(proposal, book: job.book, frameworkIDs: frameworkIDs)
    for index in verdicts.indices { verdicts[index].requestedBy = Self.principal }
    // The engine has hashed the proposal for its verdicts already.
    return EvaluationRecord(
      proposal: proposal,
      proposalHash: verdicts.first?.proposalHash ?? PolicyEngine.proposalHash(proposal),
      verdicts: verdicts, reevaluation: true)
  }

  static func hashes(of book: RuleBook) -> String {
    book.frameworks.map { "\($0.id)=\($0.contentHash)" }.joined(separator: "\n")
  }

  static func parseHashes(_ text: String) -> [String: String] {
    var hashes: [String: String] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: "=", maxSplits: 1)
      if parts.count == 2 { hashes[String(parts[0])] = String(parts[1]) }
    }
    return hashes
  }
}

/// Reloads the rules directory, one reload at a time, whatever asked for it (a file change,
/// `SIGHUP`, `Frameworks.ReloadRules`): logs and counts the outcome, and starts the
/// re-evaluation of what changed.
public actor RuleReloader {
  /// What a reload did.
  public struct Outcome: Sendable {
    public var reload: RuleBookRegistry.ReloadOutcome
    public var job: Reevaluator.Job?
  }

  let registry: RuleBookRegistry
  let reevaluator: Reevaluator
  let metrics: ServiceMetrics
  let logger: Logger

  init(
    registry: RuleBookRegistry, reevaluator: Reevaluator, metrics: ServiceMetrics, logger: Logger
  ) {
    self.registry = registry
    self.reevaluator = reevaluator
    self.metrics = metrics
    self.logger = logger
  }

  /// Loads the directory; swaps the book in when it has no errors.
  public func reload(trigger: String) async -> Outcome {
    let outcome = self.registry.reload()
    self.metrics.reloadAttempted(succeeded: outcome.diagnostics.isEmpty)
    self.metrics.ruleBook(
      revision: outcome.book.revision, frameworks: outcome.book.frameworks.count)
    guard outcome.diagnostics.isEmpty else {
      self.logger.error(
        "rules not reloaded: the old rules stay live",
        metadata: [
          "trigger": "\(trigger)", "errors": "\(outcome.diagnostics.count)",
          "first_error": "\(outcome.diagnostics.first?.description ?? "")",
        ])
      return Outcome(reload: outcome, job: nil)
    }
    guard outcome.reloaded else {
      self.logger.info("rules unchanged", metadata: ["trigger": "\(trigger)"])
      return Outcome(reload: outcome, job: nil)
    }
    self.logger.info(
      "rules reloaded",
      metadata: [
        "trigger": "\(trigger)", "rulebook_revision": "\(outcome.book.revision.prefix(12))",
        "changed": "\(outcome.changedFrameworks.joined(separator: ","))",
      ])
    var job: Reevaluator.Job? = nil
    do {
      job = try await self.reevaluator.rulesChanged(outcome.changedFrameworks)
    } catch {
      self.logger.error(
        "re-evaluation could not start", metadata: ["error": "\(error)"])
    }
    return Outcome(reload: outcome, job: job)
  }
}

/// Watches the rules directory by polling its files' contents, and reloads once a change has
/// settled: a file being written (an editor saving, a copy in progress) is loaded only after
/// it stopped changing for `settle`.
struct RulesDirectoryWatcher {
  let directory: String
  let interval: Duration
  let settle: Duration

  /// The directory's files and their contents; nil entries for unreadable files.
  func snapshot() -> [String: Data] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: self.directory)) ?? []
    var files: [String: Data] = [:]
    for name in names {
      let path = (self.directory as NSString).appendingPathComponent(name)
      files[name] = FileManager.default.contents(atPath: path) ?? Data()
    }
    return files
  }

  /// Polls until cancelled, calling `reload` after each settled change.
  func run(reload: @Sendable () async -> Void) async {
    var loaded = self.snapshot()
    var pending: (files: [String: Data], since: ContinuousClock.Instant)?
    while !Task.isCancelled {
      do { try await Task.sleep(for: self.interval) } catch { return }
      let files = self.snapshot()
      if files == loaded {
        pending = nil
        continue
      }
      if let waiting = pending, waiting.files == files {
        if ContinuousClock.now - waiting.since >= self.settle {
          loaded = files
          pending = nil
          await reload()
        }
      } else {
        pending = (files, ContinuousClock.now)
      }
    }
  }
}
