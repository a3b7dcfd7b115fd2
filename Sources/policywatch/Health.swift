import ArgumentParser
import GRPCCore
import GRPCNIOTransportHTTP2
import PolicyWatchAPI
import PolicyWatchService

/// `policywatch health`: asks a server's `grpc.health.v1.Health/Check`; for container health
/// checks and scripts.
struct Health: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check that a PolicyWatch server is serving.",
    discussion: """
      Calls grpc.health.v1.Health/Check on the server and prints its status.

      Exit codes: 0 SERVING; 1 the server answered, but not SERVING (e.g. draining); \
      3 the server could not be reached.

      Examples:
        policywatch health
        policywatch health --server 10.0.0.5:50051 --service policywatch.v1.Evaluator
      """
  )

  @Option(
    help: ArgumentHelp(
      "Server address (also POLICYWATCH_SERVER).",
      valueName: "host:port"
    )
  )
  var server: String = ProcessEnvironment.value(of: "POLICYWATCH_SERVER") ?? "127.0.0.1:50051"

  @OptionGroup var credentials: ClientCredentials

  @Option(help: "Service to ask about; empty for the whole server.")
  var service: String = ""

  @Option(help: "Seconds to wait for an answer.")
  var timeout: Double = 5

  func validate() throws {
    guard ListenAddress(self.server) != nil else {
      throw ValidationError("--server '\(self.server)' is not host:port (e.g. 127.0.0.1:50051)")
    }
  }

  func run() async throws {
    guard let address = ListenAddress(self.server) else { throw ExitCode.validationFailure }
    var request = Grpc_Health_V1_HealthCheckRequest()
    request.service = self.service
    var options = CallOptions.defaults
    options.timeout = .milliseconds(Int64(self.timeout * 1000))
    let status: Grpc_Health_V1_HealthCheckResponse.ServingStatus
    do {
      status = try await withGRPCClient(
        transport: try self.credentials.transport(to: address),
        interceptors: self.credentials.interceptors
      ) {
        client in
        try await Grpc_Health_V1_Health.Client(wrapping: client).check(request, options: options)
          .status
      }
    } catch let error as RPCError
      where error.code != .unavailable && error.code != .deadlineExceeded
    {
      print("\(address): \(error.code): \(error.message)")
      throw ExitCode(1)
    } catch {
      printError(
        "policywatch: cannot reach a server at \(address): \(error). "
          + "Start one with `policywatch serve --listen \(address)`."
      )
      throw ExitCode(3)
    }
    print("\(address): \(status == .serving ? "SERVING" : "\(status)")")
    if status != .serving { throw ExitCode(1) }
  }
}
