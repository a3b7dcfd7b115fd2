import GRPCCore
import PolicyWatchAPI
import Testing

@testable import PolicyWatchService

@Suite struct AccessTests {
  /// Every method of the API has the role the security model gives it (docs/SECURITY.md).
  @Test func eachMethodNeedsItsRole() {
    let methods =
      Policywatch_V1_Evaluator.Method.descriptors + Policywatch_V1_Verdicts.Method.descriptors
      + Policywatch_V1_Proposals.Method.descriptors + Policywatch_V1_Frameworks.Method.descriptors
    var byRole: [Role: Set<String>] = [:]
    for method in methods {
      if let role = Role.required(for: method, reflectionOpen: true) {
        byRole[role, default: []].insert(method.method)
      }
    }
    #expect(
      byRole[.reader]
        == [
          "GetVerdict", "ListVerdicts", "WatchVerdicts", "GetProposal", "ListProposals",
          "ListFrameworks", "GetFramework", "GetRuleStatus",
        ])
    #expect(byRole[.evaluator] == ["Evaluate", "EvaluateStream"])
    #expect(byRole[.admin] == ["Reevaluate", "ReloadRules", "ValidateRules"])
    #expect(
      Role.required(for: Grpc_Health_V1_Health.Method.Check.descriptor, reflectionOpen: false)
        == nil)
    let reflection = Grpc_Reflection_V1_ServerReflection.Method.ServerReflectionInfo.descriptor
    #expect(Role.required(for: reflection, reflectionOpen: true) == nil)
    #expect(Role.required(for: reflection, reflectionOpen: false) == .reader)
    #expect(Role.reader < .evaluator && .evaluator < .admin)
  }

  @Test func tokensMatchOnlyTheirOwnDigest() {
    let policy = AccessPolicy(tokens: [
      .init(
        name: "a", digest: AccessPolicy.bytes(hex: AccessPolicy.digest(ofToken: "tok-a"))!,
        role: .reader),
      .init(
        name: "b", digest: AccessPolicy.bytes(hex: AccessPolicy.digest(ofToken: "tok-b"))!,
        role: .admin),
    ])
    #expect(policy.principal(forToken: "tok-b")?.name == "b")
    #expect(policy.principal(forToken: "tok-b")?.role == .admin)
    #expect(policy.principal(forToken: "tok-c") == nil)
    #expect(policy.principal(forToken: "") == nil)
  }
}
