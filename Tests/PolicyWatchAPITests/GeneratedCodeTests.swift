import Foundation
import PolicyWatchAPI
import SwiftProtobuf
import Testing

/// The package root, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct GeneratedCodeTests {
  /// `proto/` must not change without `scripts/generate-proto.sh` being run again.
  @Test func generatedCodeMatchesProtoDirectory() throws {
    let recorded = try String(
      contentsOf: packageRoot.appendingPathComponent(
        "Sources/PolicyWatchAPI/Generated/proto.sha256"),
      encoding: .utf8
    ).trimmingCharacters(in: .whitespacesAndNewlines)

    let process = Process()
    process.executableURL = packageRoot.appendingPathComponent("scripts/proto-hash.sh")
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let current = String(decoding: output, as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)

    #expect(current.count == 64)
    #expect(
      current == recorded,
      "proto/ changed since the code was generated: run scripts/generate-proto.sh and commit"
    )
  }

  @Test func descriptorSetHoldsEveryServiceWithSourceInfo() throws {
    let data = try #require(
      Data(base64Encoded: PolicyWatchDescriptors.base64, options: .ignoreUnknownCharacters)
    )
    let set = try Google_Protobuf_FileDescriptorSet(serializedBytes: data)
    let services = set.file.flatMap { file in file.service.map { file.package + "." + $0.name } }
    #expect(
      Set(services).isSuperset(of: [
        "policywatch.v1.Evaluator", "policywatch.v1.Verdicts", "policywatch.v1.Proposals",
        "policywatch.v1.Frameworks", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
      ])
    )
    // Imports are included, so that a reflection client can resolve every type.
    let names = Set(set.file.map(\.name))
    #expect(names.contains("google/protobuf/struct.proto"))
    #expect(names.contains("google/protobuf/timestamp.proto"))
    // Comments survive, for clients that show them.
    let evaluator = try #require(set.file.first { $0.name == "policywatch/v1/evaluator.proto" })
    #expect(evaluator.sourceCodeInfo.location.contains { !$0.leadingComments.isEmpty })
  }

  @Test func proposalRoundTripsThroughJSONMapping() throws {
    var proposal = Policywatch_V1_Proposal()
    proposal.id = "P01"
    proposal.title = "Shared AI Skills and Compute Partnership"
    var participant = Policywatch_V1_Participant()
    participant.name = "Kenya"
    participant.kind = .state
    participant.globalSouth = true
    proposal.participants = [participant]
    var commitment = Policywatch_V1_Commitment()
    commitment.kind = .training
    commitment.amountUsd = 24_000_000
    proposal.commitments = [commitment]
    proposal.attributes = try Google_Protobuf_Struct(jsonString: #"{"risk_tier": "high"}"#)

    let json = try proposal.jsonString()
    #expect(json.contains("\"KIND_STATE\""))
    #expect(json.contains("\"amountUsd\":\"24000000\""))
    let decoded = try Policywatch_V1_Proposal(jsonString: json)
    #expect(decoded == proposal)
    #expect(decoded.participants[0].hasGlobalSouth)
  }
}
