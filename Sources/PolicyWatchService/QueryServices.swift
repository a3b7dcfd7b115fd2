import Foundation
import GRPCCore
import GRPCProtobuf
import PolicyRules
import PolicyStore
import PolicyWatchAPI
import SwiftProtobuf

/// Page sizes and opaque page tokens of the list methods.
enum Paging {
  static let defaultSize = 50
  static let maxSize = 1000

  static func size(_ requested: Int32) throws -> Int {
    if requested < 0 {
      throw APIErrors.badRequest([.init(field: "page_size", description: "must not be negative")])
    }
    return requested == 0 ? defaultSize : min(Int(requested), maxSize)
  }

  /// A token is base64 of `kind:value`, so that clients treat it as opaque.
  static func token(_ kind: String, _ value: String) -> String {
    Data("\(kind):\(value)".utf8).base64EncodedString()
  }

  static func value(of token: String, kind: String) throws -> String? {
    guard !token.isEmpty else { return nil }
    guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
      text.hasPrefix(kind + ":")
    else {
      throw APIErrors.badRequest([
        .init(field: "page_token", description: "not a token this method gave")
      ])
    }
    return String(text.dropFirst(kind.count + 1))
  }
}

/// `policywatch.v1.Verdicts`: look-ups and lists of stored verdicts.
struct VerdictsService: Policywatch_V1_Verdicts.SimpleServiceProtocol {
  let store: any VerdictStore
  let hub: VerdictHub
  let registry: RuleBookRegistry
  let watch: WatchSettings
  let metrics: ServiceMetrics

  func getVerdict(request: Policywatch_V1_GetVerdictRequest, context: ServerContext) async throws
    -> Policywatch_V1_Verdict
  {
    guard !request.id.isEmpty else {
      throw APIErrors.required("id")
    }
    guard let verdict = try await self.store.verdict(id: request.id) else {
      throw RPCError(code: .notFound, message: "no verdict with id '\(request.id)'")
    }
    return verdict
  }

  func listVerdicts(
    request: Policywatch_V1_ListVerdictsRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ListVerdictsResponse {
    let pageSize = try Paging.size(request.pageSize)
    var before: Int64? = nil
    if let value = try Paging.value(of: request.pageToken, kind: "verdicts") {
      guard let sequence = Int64(value) else {
        throw APIErrors.badRequest([
          .init(field: "page_token", description: "not a token this method gave")
        ])
      }
      before = sequence
    }
    var filter = VerdictFilter()
    filter.proposalID = request.proposalID
    filter.frameworkID = request.frameworkID
    filter.outcomes = request.outcomes
    if request.hasCreatedAfter {
      filter.createdAfter = Int64(
        (request.createdAfter.date.timeIntervalSince1970 * 1_000_000).rounded())
    }
    if request.hasCreatedBefore {
      filter.createdBefore = Int64(
        (request.createdBefore.date.timeIntervalSince1970 * 1_000_000).rounded())
    }
    // One more than asked, to know whether another page exists.
    let page = try await self.store.verdicts(
      matching: filter, pageSize: pageSize + 1, before: before)
    var response = Policywatch_V1_ListVerdictsResponse()
    response.verdicts = Array(page.prefix(pageSize))
    if page.count > pageSize, let last = response.verdicts.last {
      response.nextPageToken = Paging.token("verdicts", String(last.sequence))
    }
    return response
  }

  /// Replays stored events after `after_sequence` (when set), then streams live ones from the
  /// hub. The subscription is made before the replay reads the store, and events are passed on
  /// only above the last sequence sent, so nothing is missed or repeated across the switch. A
  /// queue that overflows during the replay means the replay was slower than the live traffic:
  /// the watcher subscribes again and goes on replaying from the store. Once caught up, an
  /// overflow means the client reads too slowly: the stream ends with RESOURCE_EXHAUSTED.
  func watchVerdicts(
    request: Policywatch_V1_WatchVerdictsRequest,
    response: RPCWriter<Policywatch_V1_VerdictEvent>,
    context: ServerContext
  ) async throws {
    let filter = try self.watchFilter(request)
    var last: Int64? = request.hasAfterSequence ? request.afterSequence : nil
    while true {
      guard
        let subscription = self.hub.subscribe(
          filter: filter, capacity: self.watch.bufferSize, limit: self.watch.maxWatchers)
      else {
        throw RPCError(
          code: .resourceExhausted,
          message:
            "this server already has \(self.watch.maxWatchers) watchers (or is shutting down); try again later"
        )
      }
      self.metrics.watchers(self.hub.watcherCount)
      defer {
        self.hub.unsubscribe(subscription)
        self.metrics.watchers(self.hub.watcherCount)
      }
      if var sequence = last {
        while true {
          let page = try await self.store.events(
            after: sequence, matching: filter, limit: Self.replayPage)
          for event in page {
            try await response.write(event)
            sequence = event.sequence
          }
          last = sequence
          if page.count < Self.replayPage { break }
        }
      } else {
        last = subscription.startSequence
      }
      live: while true {
        switch await subscription.next() {
        case .event(let event):
          guard event.sequence > last ?? 0 else { continue }
          try await response.write(event)
          last = event.sequence
        case .heartbeat(let latest):
          var heartbeat = Policywatch_V1_VerdictEvent()
          heartbeat.kind = .heartbeat
          heartbeat.sequence = max(latest, last ?? 0)
          try await response.write(heartbeat)
        case .overflow(let caughtUp):
          if !caughtUp { break live }
          self.metrics.watcherEnded(reason: "slow")
          throw RPCError(
            code: .resourceExhausted,
            message:
              "this watcher fell more than \(self.watch.bufferSize) events behind; resume with after_sequence=\(last ?? 0)"
          )
        case .closed:
          if Task.isCancelled { throw CancellationError() }
          self.metrics.watcherEnded(reason: "shutdown")
          throw RPCError(
            code: .unavailable,
            message: "the server is shutting down; resume with after_sequence=\(last ?? 0)")
        }
      }
    }
  }

  static let replayPage = 256

  private func watchFilter(_ request: Policywatch_V1_WatchVerdictsRequest) throws -> EventFilter {
    var violations: [ErrorDetails.BadRequest.FieldViolation] = []
    for (index, outcome) in request.outcomes.enumerated() {
      switch outcome {
      case .aligned, .partiallyAligned, .notAligned: continue
      default:
        violations.append(
          .init(
            field: "outcomes[\(index)]",
            description: "must be OUTCOME_ALIGNED, OUTCOME_PARTIALLY_ALIGNED or OUTCOME_NOT_ALIGNED"
          ))
      }
    }
    if request.hasAfterSequence && request.afterSequence < 0 {
      violations.append(.init(field: "after_sequence", description: "must not be negative"))
    }
    for (index, id) in request.proposalIds.enumerated() where id.isEmpty {
      violations.append(.init(field: "proposal_ids[\(index)]", description: "must not be empty"))
    }
    if !violations.isEmpty { throw APIErrors.badRequest(violations) }
    try APIErrors.checkFrameworks(
      request.frameworkIds, field: "framework_ids", in: self.registry.current)
    var filter = EventFilter()
    filter.frameworkIDs = Set(request.frameworkIds)
    filter.proposalIDs = Set(request.proposalIds)
    filter.outcomes = Set(request.outcomes)
    return filter
  }
}

/// Settings of `Verdicts.WatchVerdicts` (flags of `policywatch serve`).
public struct WatchSettings: Sendable {
  /// Events a watcher may have waiting before it is cut off.
  public var bufferSize = 1024
  /// Watchers at once.
  public var maxWatchers = 1000
  /// An idle stream gets a heartbeat after about this long.
  public var heartbeatInterval: Duration = .seconds(15)

  /// The defaults.
  public init() {}
}

/// `policywatch.v1.Proposals`: stored proposals and their revisions.
struct ProposalsService: Policywatch_V1_Proposals.SimpleServiceProtocol {
  let store: any VerdictStore

  func getProposal(
    request: Policywatch_V1_GetProposalRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_StoredProposal {
    guard !request.id.isEmpty else {
      throw APIErrors.required("id")
    }
    guard let stored = try await self.store.proposal(id: request.id, revision: request.revision)
    else {
      let which = request.revision > 0 ? " at revision \(request.revision)" : ""
      throw RPCError(code: .notFound, message: "no proposal with id '\(request.id)'\(which)")
    }
    return stored
  }

  func listProposals(
    request: Policywatch_V1_ListProposalsRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ListProposalsResponse {
    let pageSize = try Paging.size(request.pageSize)
    let after = try Paging.value(of: request.pageToken, kind: "proposals")
    let page = try await self.store.proposals(pageSize: pageSize + 1, after: after)
    var response = Policywatch_V1_ListProposalsResponse()
    response.proposals = Array(page.prefix(pageSize))
    if page.count > pageSize, let last = response.proposals.last {
      response.nextPageToken = Paging.token("proposals", last.proposal.id)
    }
    return response
  }
}
