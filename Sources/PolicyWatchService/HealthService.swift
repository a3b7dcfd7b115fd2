import GRPCCore
import PolicyWatchAPI
import Synchronization

/// The serving status of the server's services, shared by the health service and the server's
/// lifecycle (which marks everything `NOT_SERVING` while it drains).
///
/// ```swift
/// let health = HealthStatusRegistry(services: ["policywatch.v1.Evaluator"])
/// health.setAll(.notServing)
/// ```
public final class HealthStatusRegistry: Sendable {
  /// A service's status, as `grpc.health.v1` reports it.
  public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

  private struct State {
    var statuses: [String: Status]
    var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
    var nextWatcherID = 0
  }

  private let state: Mutex<State>

  /// Creates a registry in which the overall server (`""`) and each named service are `SERVING`.
  public init(services: [String]) {
    var statuses: [String: Status] = ["": .serving]
    for service in services { statuses[service] = .serving }
    self.state = Mutex(State(statuses: statuses))
  }

  /// The status of `service` (`""` for the whole server), or `nil` when the service is unknown.
  public func status(of service: String) -> Status? {
    self.state.withLock { $0.statuses[service] }
  }

  /// Sets one service's status and tells its watchers.
  public func set(_ status: Status, for service: String) {
    let toNotify = self.state.withLock { state in
      state.statuses[service] = status
      return state.watchers.values.filter { $0.service == service }.map(\.continuation)
    }
    for continuation in toNotify { continuation.yield(status) }
  }

  /// Sets every known service's status, the overall one included.
  public func setAll(_ status: Status) {
    let services = self.state.withLock { Array($0.statuses.keys) }
    for service in services { self.set(status, for: service) }
  }

  /// A stream of `service`'s status: the current one first, then every change.
  /// An unknown service reports `SERVICE_UNKNOWN` until it becomes known.
  func watch(_ service: String) -> AsyncStream<Status> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: Status.self,
      bufferingPolicy: .bufferingNewest(1)
    )
    let id = self.state.withLock { state in
      let id = state.nextWatcherID
      state.nextWatcherID += 1
      state.watchers[id] = (service, continuation)
      continuation.yield(state.statuses[service] ?? .serviceUnknown)
      return id
    }
    continuation.onTermination = { [weak self] _ in
      _ = self?.state.withLock { $0.watchers.removeValue(forKey: id) }
    }
    return stream
  }

  /// Ends every watch stream (at shutdown, so that watchers do not hold the server open).
  public func finishWatchers() {
    let continuations = self.state.withLock { state in
      let all = state.watchers.values.map(\.continuation)
      state.watchers.removeAll()
      return all
    }
    for continuation in continuations { continuation.finish() }
  }
}

/// The standard `grpc.health.v1.Health` service over a ``HealthStatusRegistry``.
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
  let registry: HealthStatusRegistry

  func check(
    request: Grpc_Health_V1_HealthCheckRequest,
    context: ServerContext
  ) async throws -> Grpc_Health_V1_HealthCheckResponse {
    guard let status = self.registry.status(of: request.service) else {
      throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
    }
    var response = Grpc_Health_V1_HealthCheckResponse()
    response.status = status
    return response
  }

  func watch(
    request: Grpc_Health_V1_HealthCheckRequest,
    response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
    context: ServerContext
  ) async throws {
    for await status in self.registry.watch(request.service) {
      var message = Grpc_Health_V1_HealthCheckResponse()
      message.status = status
      try await response.write(message)
    }
  }
}
