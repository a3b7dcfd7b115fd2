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

struct EvaluatorService: Policywatch_V1_Evaluator.SimpleServiceProtocol {
  func evaluate(
    request: Policywatch_V1_EvaluateRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_EvaluateResponse {
    throw unimplemented(context.descriptor)
  }

  func evaluateStream(
    request: RPCAsyncSequence<Policywatch_V1_EvaluateRequest, any Error>,
    response: RPCWriter<Policywatch_V1_EvaluateResponse>,
    context: ServerContext
  ) async throws {
    throw unimplemented(context.descriptor)
  }

  func reevaluate(
    request: Policywatch_V1_ReevaluateRequest,
    response: RPCWriter<Policywatch_V1_ReevaluateProgress>,
    context: ServerContext
  ) async throws {
    throw unimplemented(context.descriptor)
  }
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

struct FrameworksService: Policywatch_V1_Frameworks.SimpleServiceProtocol {
  func listFrameworks(
    request: Policywatch_V1_ListFrameworksRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ListFrameworksResponse {
    throw unimplemented(context.descriptor)
  }

  func getFramework(
    request: Policywatch_V1_GetFrameworkRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_Framework {
    throw unimplemented(context.descriptor)
  }

  func validateRules(
    request: Policywatch_V1_ValidateRulesRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ValidateRulesResponse {
    throw unimplemented(context.descriptor)
  }

  func reloadRules(
    request: Policywatch_V1_ReloadRulesRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ReloadRulesResponse {
    throw unimplemented(context.descriptor)
  }

  func getRuleStatus(
    request: Policywatch_V1_GetRuleStatusRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_RuleStatus {
    throw unimplemented(context.descriptor)
  }
}
