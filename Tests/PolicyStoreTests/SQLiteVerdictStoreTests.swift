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
