import Foundation
import PolicyStore
import PolicyWatchAPI
import Synchronization
import Testing

func temporaryDatabase() -> String {
  FileManager.default.temporaryDirectory.appendingPathComponent(
    "pw-store-\(UUID().uuidString).sqlite"
  ).path
}

func record(_ id: String, title: String = "T", frameworks: [String] = ["f1", "f2"])
  -> EvaluationRecord
{
  var proposal = Policywatch_V1_Proposal()
  proposal.id = id
  proposal.title = title
  let verdicts = frameworks.map { framework -> Policywatch_V1_Verdict in
    var verdict = Policywatch_V1_Verdict()
    verdict.proposalID = id
    verdict.frameworkID = framework
    verdict.outcome = framework == "f1" ? .aligned : .notAligned
    return verdict
  }
  return EvaluationRecord(proposal: proposal, proposalHash: "\(id)-\(title)", verdicts: verdicts)
}

@Suite struct SQLiteVerdictStoreTests {
  @Test func assignsIdsSequencesAndRevisions() async throws {
    let path = temporaryDatabase()
    let store = try SQLiteVerdictStore(path: path)
    let first = try await store.append(record("A"))
    #expect(first.proposalRevision == 1)
    #expect(first.verdicts.map(\.sequence) == [1, 2])
    #expect(first.verdicts.allSatisfy { !$0.id.isEmpty })
    let same = try await store.append(record("A"))
    #expect(same.proposalRevision == 1)
    let changed = try await store.append(record("A", title: "T2"))
    #expect(changed.proposalRevision == 2)
    #expect(try await store.proposal(id: "A", revision: 0)?.revisionCount == 2)
    #expect(try await store.proposal(id: "A", revision: 1)?.proposal.title == "T")
    #expect(try await store.verdict(id: first.verdicts[0].id) == first.verdicts[0])

    // Reopened: still there, and the migrations are not applied twice.
    let reopened = try SQLiteVerdictStore(path: path)
    #expect(
      try await reopened.verdicts(matching: VerdictFilter(), pageSize: 100, before: nil).count == 6)
  }

  @Test func filtersAndPagesNewestFirst() async throws {
    let store = try SQLiteVerdictStore(path: temporaryDatabase())
    for index in 0..<10 { _ = try await store.append(record("P\(index)")) }
    var filter = VerdictFilter()
    filter.frameworkID = "f1"
    let firstPage = try await store.verdicts(matching: filter, pageSize: 4, before: nil)
    #expect(firstPage.map(\.proposalID) == ["P9", "P8", "P7", "P6"])
    let secondPage = try await store.verdicts(
      matching: filter, pageSize: 4, before: firstPage.last?.sequence)
    #expect(secondPage.map(\.proposalID) == ["P5", "P4", "P3", "P2"])
    filter = VerdictFilter()
    filter.outcomes = [.notAligned]
    filter.proposalID = "P3"
    #expect(
      try await store.verdicts(matching: filter, pageSize: 10, before: nil).map(\.frameworkID) == [
        "f2"
      ])
    #expect(
      try await store.proposals(pageSize: 3, after: "P4").map(\.proposal.id) == ["P5", "P6", "P7"])
  }

  @Test func concurrentAppendsShareCommits() async throws {
    let batches = Mutex<[Int]>([])
    let store = try SQLiteVerdictStore(path: temporaryDatabase(), durability: .full) { size, _ in
      batches.withLock { $0.append(size) }
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for index in 0..<200 {
        group.addTask { _ = try await store.append(record("C\(index)")) }
      }
      try await group.waitForAll()
    }
    let sizes = batches.withLock { $0 }
    #expect(sizes.reduce(0, +) == 200)
    // Group commit: fewer transactions than calls.
    #expect(sizes.count < 200)
    let all = try await store.verdicts(matching: VerdictFilter(), pageSize: 1000, before: nil)
    #expect(Set(all.map(\.sequence)).count == 400)
  }
}

@Suite struct StoreEventTests {
  /// A re-evaluation verdict is a `changed` event only when its outcome moved, no event when it
  /// did not, and a `created` one when the framework had no verdict for the proposal.
  @Test func reevaluationsMakeChangedEventsOnlyWhenTheOutcomeMoved() async throws {
    let published = Mutex<[Policywatch_V1_VerdictEvent]>([])
    let store = try SQLiteVerdictStore(path: temporaryDatabase()) { _, _ in
    } publish: { events, _ in
      published.withLock { $0.append(contentsOf: events) }
    }
    _ = try await store.append(record("A"))  // f1 aligned, f2 not aligned
    var again = record("A", frameworks: ["f1", "f2", "f3"])
    again.reevaluation = true
    again.verdicts[0].outcome = .notAligned  // f1 moves
    again.verdicts[1].outcome = .notAligned  // f2 stays
    let stored = try await store.append(again)
    #expect(stored.events.map(\.kind) == [.changed, .created])
    #expect(stored.events[0].previousOutcome == .aligned)
    #expect(stored.events[0].verdict.frameworkID == "f1")
    #expect(stored.events[1].verdict.frameworkID == "f3")
    #expect(published.withLock { $0.map(\.sequence) } == [1, 2, 3, 5])

    let replay = try await store.events(after: 0, matching: EventFilter(), limit: 100)
    #expect(replay.map(\.sequence) == [1, 2, 3, 5])
    #expect(replay.map(\.kind) == [.created, .created, .changed, .created])
    #expect(replay[2].previousOutcome == .aligned)
    var filter = EventFilter()
    filter.frameworkIDs = ["f1"]
    filter.outcomes = [.notAligned]
    #expect(try await store.events(after: 0, matching: filter, limit: 100).map(\.sequence) == [3])
    #expect(
      try await store.events(after: 3, matching: EventFilter(), limit: 100).map(\.sequence) == [5])
    #expect(try await store.events(after: 0, matching: EventFilter(), limit: 2).count == 2)
    #expect(try await store.latestSequence() == 5)
  }

  @Test func jobsAndMetadataSurviveReopening() async throws {
    let path = temporaryDatabase()
    do {
      let store = try SQLiteVerdictStore(path: path)
      var job = ReevaluationJobRecord(
        id: "j1", rulebookRevision: "r1", frameworkIDs: ["a", "b"], onlyStale: false, total: 10)
      try await store.saveJob(job)
      job.cursor = "P05"
      job.done = 4
      try await store.saveJob(job)
      try await store.saveJob(
        ReevaluationJobRecord(
          id: "j0", rulebookRevision: "r0", frameworkIDs: ["a"], onlyStale: true,
          state: .finished))
      try await store.setMetadata("k", "v1")
      try await store.setMetadata("k", "v2")
    }
    let store = try SQLiteVerdictStore(path: path)
    let running = try await store.runningJobs()
    #expect(running.map(\.id) == ["j1"])
    #expect(running.first?.cursor == "P05")
    #expect(running.first?.done == 4)
    #expect(running.first?.frameworkIDs == ["a", "b"])
    #expect(try await store.metadata("k") == "v2")
    #expect(try await store.metadata("missing") == nil)
  }
}
