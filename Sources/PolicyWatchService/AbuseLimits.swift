import Foundation
import GRPCCore
import GRPCProtobuf
import PolicyWatchAPI
import Synchronization

/// Limits against abusive callers (flags of `policywatch serve`).
public struct AbuseLimits: Sendable {
  /// Concurrent streams one HTTP/2 connection may open.
  public var maxStreamsPerConnection = 100
  /// How long a unary call that set no deadline may run; nil: unbounded.
  public var defaultDeadline: Duration? = .seconds(60)
  /// Calls per second each principal may make, on average; nil: unlimited.
  public var ratePerSecond: Double?
  /// How many calls a principal may make at once above the rate.
  public var burst: Double = 50

  /// The defaults.
  public init() {}
}

/// A token bucket per principal: each call takes a token; tokens come back at `rate` per
/// second up to `burst`.
final class RateLimiter: Sendable {
  private struct Bucket {
    var tokens: Double
    var updated: ContinuousClock.Instant
  }
  let rate: Double
  let burst: Double
  private let buckets = Mutex<[String: Bucket]>([:])

  init(rate: Double, burst: Double) {
    self.rate = rate
    self.burst = max(1, burst)
  }

  /// Takes a token for `principal`; when none is left, how long until one is.
  func take(_ principal: String, now: ContinuousClock.Instant = .now) -> Duration? {
    self.buckets.withLock { buckets in
      var bucket = buckets[principal] ?? Bucket(tokens: self.burst, updated: now)
      let elapsed = now - bucket.updated
      let seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      bucket.tokens = min(self.burst, bucket.tokens + seconds * self.rate)
      bucket.updated = now
      defer { buckets[principal] = bucket }
      if bucket.tokens >= 1 {
        bucket.tokens -= 1
        return nil
      }
      return .milliseconds(Int(((1 - bucket.tokens) / self.rate * 1000).rounded(.up)))
    }
  }
}

/// Applies the per-principal rate limit (after ``AccessInterceptor``, which names the
/// principal) and the default deadline of unary calls that set none.
struct AbuseLimitsInterceptor: ServerInterceptor {
  let limiter: RateLimiter?
  let defaultDeadline: Duration?

  init(limits: AbuseLimits) {
    self.limiter = limits.ratePerSecond.map { RateLimiter(rate: $0, burst: limits.burst) }
    self.defaultDeadline = limits.defaultDeadline
  }

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let method = context.descriptor.fullyQualifiedMethod
    if let limiter = self.limiter, !method.hasPrefix("grpc.health.v1.") {
      let principal =
        CallPrincipal.name == "anonymous"
        ? "peer:" + Self.host(of: context.remotePeer) : CallPrincipal.name
      if let wait = limiter.take(principal) {
        throw GoogleRPCStatus(
          code: .resourceExhausted,
          message:
            "rate limit: \(principal) may make \(limiter.rate) calls per second (bursts of \(Int(limiter.burst))); retry in \(wait)",
          details: [.retryInfo(ErrorDetails.RetryInfo(delay: wait))])
      }
    }
    guard let deadline = self.defaultDeadline, !context.descriptor.isStreaming,
      request.metadata[stringValues: "grpc-timeout"].first(where: { _ in true }) == nil
    else {
      return try await next(request, context)
    }
    // The unary handler runs inside `next`; its response is a single message written after.
    return try await withoutActuallyEscaping(next) { next in
      try await withThrowingTaskGroup(of: StreamingServerResponse<Output>?.self) { group in
        group.addTask { try await next(request, context) }
        group.addTask {
          try await Task.sleep(for: deadline)
          return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let response = first else {
          throw RPCError(
            code: .deadlineExceeded,
            message:
              "the call set no deadline and ran past the server's default of \(deadline); set one to wait longer"
          )
        }
        return response
      }
    }
  }

  /// The host of a peer like `ipv4:127.0.0.1:51234`.
  static func host(of peer: String) -> String {
    guard let colon = peer.lastIndex(of: ":") else { return peer }
    return String(peer[..<colon])
  }
}

extension MethodDescriptor {
  /// Whether this server's method streams (streams are meant to last: no default deadline).
  var isStreaming: Bool { Self.streaming.contains(self) }

  static let streaming: Set<MethodDescriptor> = [
    Policywatch_V1_Evaluator.Method.EvaluateStream.descriptor,
    Policywatch_V1_Evaluator.Method.Reevaluate.descriptor,
    Policywatch_V1_Verdicts.Method.WatchVerdicts.descriptor,
    Grpc_Health_V1_Health.Method.Watch.descriptor,
    Grpc_Reflection_V1_ServerReflection.Method.ServerReflectionInfo.descriptor,
    MethodDescriptor(
      fullyQualifiedService: "grpc.reflection.v1alpha.ServerReflection",
      method: "ServerReflectionInfo"),
  ]
}
