import GRPCCore
import PolicyWatchAPI

// Methods whose issue has not landed yet answer UNIMPLEMENTED, as gRPC clients expect, naming
// the method so that the caller knows what is missing.

private func unimplemented(_ method: MethodDescriptor) -> RPCError {
  RPCError(
    code: .unimplemented,
    message: "\(method.fullyQualifiedMethod) is not implemented by this server yet"
  )
}

struct VerdictsService: Policywatch_V1_Verdicts.SimpleServiceProtocol {
  func getVerdict(
    request: Policywatch_V1_GetVerdictRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_Verdict {
    throw unimplemented(context.descriptor)
  }

  func listVerdicts(
    request: Policywatch_V1_ListVerdictsRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ListVerdictsResponse {
    throw unimplemented(context.descriptor)
  }

  func watchVerdicts(
    request: Policywatch_V1_WatchVerdictsRequest,
    response: RPCWriter<Policywatch_V1_VerdictEvent>,
    context: ServerContext
  ) async throws {
    throw unimplemented(context.descriptor)
  }
}

struct ProposalsService: Policywatch_V1_Proposals.SimpleServiceProtocol {
  func getProposal(
    request: Policywatch_V1_GetProposalRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_StoredProposal {
    throw unimplemented(context.descriptor)
  }

  func listProposals(
    request: Policywatch_V1_ListProposalsRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ListProposalsResponse {
    throw unimplemented(context.descriptor)
  }
}
