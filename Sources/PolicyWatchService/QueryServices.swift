import Foundation
import GRPCCore
import GRPCProtobuf
import PolicyStore
import PolicyWatchAPI
import SwiftProtobuf

/// Page sizes and opaque page tokens of the list methods.
enum Paging {
  static let defaultSize = 50
  static let maxSize = 1000

  static func size(_ requested: Int32) throws -> Int {
    if requested < 0 {
      throw GoogleRPCStatus(
        code: .invalidArgument, message: "page_size: must not be negative",
        details: [
          .badRequest(violations: [.init(field: "page_size", description: "must not be negative")])
        ])
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
      throw GoogleRPCStatus(
        code: .invalidArgument, message: "page_token: not a token this method gave",
        details: [
          .badRequest(violations: [
            .init(field: "page_token", description: "not a token this method gave")
          ])
        ])
    }
    return String(text.dropFirst(kind.count + 1))
  }
}

/// `policywatch.v1.Verdicts`: look-ups and lists of stored verdicts.
struct VerdictsService: Policywatch_V1_Verdicts.SimpleServiceProtocol {
  let store: any VerdictStore

  func getVerdict(request: Policywatch_V1_GetVerdictRequest, context: ServerContext) async throws
    -> Policywatch_V1_Verdict
  {
    guard !request.id.isEmpty else {
      throw GoogleRPCStatus(
        code: .invalidArgument, message: "id: required",
        details: [.badRequest(violations: [.init(field: "id", description: "required")])])
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
        throw RPCError(code: .invalidArgument, message: "page_token: malformed")
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

  func watchVerdicts(
    request: Policywatch_V1_WatchVerdictsRequest,
    response: RPCWriter<Policywatch_V1_VerdictEvent>,
    context: ServerContext
  ) async throws {
    throw RPCError(
      code: .unimplemented,
      message: "\(context.descriptor.fullyQualifiedMethod) is not implemented by this server yet")
  }
}

/// `policywatch.v1.Proposals`: stored proposals and their revisions.
struct ProposalsService: Policywatch_V1_Proposals.SimpleServiceProtocol {
  let store: any VerdictStore

  func getProposal(
    request: Policywatch_V1_GetProposalRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_StoredProposal {
    guard !request.id.isEmpty else {
      throw GoogleRPCStatus(
        code: .invalidArgument, message: "id: required",
        details: [.badRequest(violations: [.init(field: "id", description: "required")])])
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
