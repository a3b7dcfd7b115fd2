// libFuzzer target: the request decoding path of Evaluate: protobuf bytes decoded as an
// EvaluateRequest, then evaluated against a small rule book with text rules, as the server
// would after validation.
import Foundation
import PolicyRules
import PolicyWatchAPI

let book: RuleBook = {
  let rules = """
    framework:
      id: fuzz
      name: Fuzz
      version: "1"
      description: Rules over fields and text.
      sources: [{title: "t", year: 2026, address: "https://example.org"}]
    lists:
      terms: [capacity building, open source, human oversight]
    principles:
      - id: p
        name: P
        description: d
        weight: 1
        rules:
          - {id: F-1, title: t, severity: major, expr: "proposal.mentions(lists.terms)", message: m, remediation: r}
          - {id: F-2, title: t, severity: minor, expr: "proposal.participants.size() >= 3", message: m, remediation: r}
          - {id: F-3, title: t, severity: minor, expr: "proposal.commitments.exists(c, c.amount_usd > 1000)", message: m, remediation: r}
    """
  return try! RuleBookLoader.load(files: [(path: "fuzz.yaml", text: rules)])
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvaluateRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  guard let request = try? Policywatch_V1_EvaluateRequest(serializedBytes: bytes) else { return 0 }
  _ = try? PolicyEngine.evaluate(request.proposal, book: book)
  _ = PolicyEngine.proposalHash(request.proposal)
  return 0
}
