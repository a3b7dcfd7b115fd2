import PolicyRules
import PolicyWatchAPI
import Testing

@Suite struct ProposalReaderTests {
  @Test func readsFriendlyYAML() throws {
    let proposal = try ProposalReader.read(
      """
      id: X1
      title: A test
      participants:
        - [Kenya, state, Africa, true]
        - [UNDP, un_body, Global, n/a, coordinator]
        - {name: Kestria, kind: STATE, region: Europe, global_south: false, role: observer}
      commitments:
        - {kind: training, amount_usd: 1_000_000, count: 40, beneficiaries: officials}
      review_date: 2027-06-30
      attributes: {risk_tier: high, budget: 3}
      """, path: "x.yaml")
    #expect(proposal.participants.count == 3)
    #expect(proposal.participants[0].kind == .state && proposal.participants[0].globalSouth)
    #expect(
      !proposal.participants[1].hasGlobalSouth && proposal.participants[1].role == .coordinator)
    #expect(proposal.participants[2].role == .observer && proposal.participants[2].hasGlobalSouth)
    #expect(proposal.commitments[0].amountUsd == 1_000_000)
    #expect(proposal.reviewDate == "2027-06-30")
    #expect(proposal.attributes.fields["risk_tier"]?.stringValue == "high")
  }

  @Test func readsTheJSONMapping() throws {
    let proposal = try ProposalReader.read(
      #"{"id": "J1", "participants": [{"name": "Peru", "kind": "KIND_STATE", "globalSouth": true}], "reviewDate": "2028-01-01"}"#,
      path: "j.json")
    #expect(proposal.participants.first?.kind == .state)
    #expect(proposal.reviewDate == "2028-01-01")
  }

  @Test func reportsEveryProblemWithPositionAndFieldPath() throws {
    let error = try #require(throws: DiagnosticsError.self) {
      try ProposalReader.read(
        """
        id: X2
        titel: typo
        participants:
          - [Kenya, statee, Africa, true]
        commitments:
          - {kind: training, count: many}
        review_date: 30/06/2027
        """, path: "bad.yaml")
    }
    let lines = error.diagnostics.map(\.description)
    #expect(
      lines.contains {
        $0.hasPrefix(
          "bad.yaml:2:1: error: unknown key 'titel' in the proposal; did you mean 'title'?")
      })
    #expect(
      lines.contains {
        $0.hasPrefix(
          "bad.yaml:4:13: error: proposal.participants[0].kind is 'statee'; expected one of: state,"
        )
      })
    #expect(
      lines.contains {
        $0.hasPrefix("bad.yaml:6:29: error: proposal.commitments[0].count must be a whole number")
      })
    #expect(
      lines.contains {
        $0.hasPrefix("bad.yaml:7:14: error: proposal.review_date must be a date written YYYY-MM-DD")
      })
  }

  @Test func textFilesAreTextOnlyProposals() throws {
    let proposal = try ProposalReader.read("# A Title\n\nSome body text.\n", path: "notes/plan.md")
    #expect(proposal.id == "plan")
    #expect(proposal.title == "A Title")
    #expect(proposal.body == "Some body text.")
  }
}
