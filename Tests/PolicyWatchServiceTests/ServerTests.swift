import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PolicyWatchAPI
import PolicyWatchService
import ServiceLifecycle
import SwiftProtobuf
import Testing

/// Starts a real server on a free loopback port, runs `body` with a client connected to it, and
/// shuts the server down gracefully.
func withRunningServer<Result: Sendable>(
  _ body: (PolicyWatchServer, GRPCClient<HTTP2ClientTransport.Posix>, ServiceGroup) async throws ->
    Result
) async throws -> Result {
  let dataDirectory = FileManager.default.temporaryDirectory
    .appendingPathComponent("policywatch-test-\(UInt64.random(in: 0...UInt64.max))").path
  defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
  let logger = Logger(label: "test")
  let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("rules").path
  let server = try PolicyWatchServer(
    configuration: ServerConfiguration(
      listen: ListenAddress(host: "127.0.0.1", port: 0),
      dataDirectory: dataDirectory,
      rulesDirectory: rules
    ),
    logger: logger
  )
  let group = ServiceGroup(services: [server], logger: logger)
  return try await withThrowingTaskGroup(of: Void.self) { tasks in
    tasks.addTask { try await group.run() }
    let address = try #require(await server.listeningAddress())
    let result = try await withGRPCClient(
      transport: try HTTP2ClientTransport.Posix(
        target: .ipv4(host: address.host, port: address.port),
        transportSecurity: .plaintext
      )
    ) { client in
      try await body(server, client, group)
    }
    await group.triggerGracefulShutdown()
    try await tasks.waitForAll()
    return result
  }
}

@Suite struct ServerTests {
  @Test func healthReportsServingForTheServerAndEachService() async throws {
    try await withRunningServer { _, client, _ in
      let health = Grpc_Health_V1_Health.Client(wrapping: client)
      for service in [""] + PolicyWatchServer.policyServices {
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        let response = try await health.check(request)
        #expect(response.status == .serving, "\(service)")
      }
      var unknown = Grpc_Health_V1_HealthCheckRequest()
      unknown.service = "no.such.Service"
      await #expect {
        try await health.check(unknown)
      } throws: { error in
        (error as? RPCError)?.code == .notFound
      }
    }
  }

  @Test func reflectionListsServicesAndResolvesSymbols() async throws {
    try await withRunningServer { _, client, _ in
      let reflection = Grpc_Reflection_V1_ServerReflection.Client(wrapping: client)
      let responses = try await reflection.serverReflectionInfo { writer in
        var list = Grpc_Reflection_V1_ServerReflectionRequest()
        list.listServices = ""
        try await writer.write(list)
        var symbol = Grpc_Reflection_V1_ServerReflectionRequest()
        symbol.fileContainingSymbol = "policywatch.v1.Evaluator.Evaluate"
        try await writer.write(symbol)
        var missing = Grpc_Reflection_V1_ServerReflectionRequest()
        missing.fileContainingSymbol = "policywatch.v1.Nothing"
        try await writer.write(missing)
      } onResponse: { response in
        try await response.messages.reduce(into: []) { $0.append($1) }
      }
      try #require(responses.count == 3)
      let names = responses[0].listServicesResponse.service.map(\.name)
      #expect(Set(PolicyWatchServer.policyServices).isSubset(of: names))
      #expect(names.contains("grpc.health.v1.Health"))

      let files = try responses[1].fileDescriptorResponse.fileDescriptorProto.map {
        try Google_Protobuf_FileDescriptorProto(serializedBytes: $0)
      }
      #expect(files.first?.name == "policywatch/v1/evaluator.proto")
      // Transitive imports come along, so a client can decode every message.
      #expect(files.contains { $0.name == "google/protobuf/struct.proto" })
      #expect(files.contains { $0.name == "policywatch/v1/verdict.proto" })

      #expect(responses[2].errorResponse.errorCode == Int32(RPCError.Code.notFound.rawValue))
    }
  }

  /// A watcher sees the verdicts of an evaluation, and a graceful shutdown ends its stream
  /// with UNAVAILABLE and where to resume, instead of holding the shutdown up.
  @Test func watchersSeeVerdictsAndAreEndedByShutdown() async throws {
    try await withRunningServer { server, client, group in
      let verdicts = Policywatch_V1_Verdicts.Client(wrapping: client)
      let evaluator = Policywatch_V1_Evaluator.Client(wrapping: client)
      var request = Policywatch_V1_WatchVerdictsRequest()
      request.afterSequence = 0
      var evaluate = Policywatch_V1_EvaluateRequest()
      evaluate.proposal.id = "W1"
      evaluate.proposal.title = "A shared compute programme"
      evaluate.proposal.body = "The members fund training in developing countries."
      let stored = try await evaluator.evaluate(evaluate)
      await #expect {
        try await verdicts.watchVerdicts(request) { response in
          var seen: [Int64] = []
          for try await event in response.messages where event.kind == .created {
            seen.append(event.sequence)
            if seen.count == stored.verdicts.count {
              #expect(seen == stored.verdicts.map(\.sequence))
              await group.triggerGracefulShutdown()
            }
          }
        }
      } throws: { error in
        let error = error as? RPCError
        return error?.code == .unavailable && error?.message.contains("after_sequence=") == true
      }
    }
  }

  @Test func gracefulShutdownReportsNotServingToWatchers() async throws {
    try await withRunningServer { _, client, group in
      let health = Grpc_Health_V1_Health.Client(wrapping: client)
      let statuses = try await health.watch(Grpc_Health_V1_HealthCheckRequest()) { response in
        var seen: [Grpc_Health_V1_HealthCheckResponse.ServingStatus] = []
        for try await message in response.messages {
          seen.append(message.status)
          if seen.count == 1 { await group.triggerGracefulShutdown() }
        }
        return seen
      }
      #expect(statuses == [.serving, .notServing])
    }
  }
}
