import GRPCCore
import Synchronization
import Testing

@testable import PolicyWatchService

@Suite struct AbuseLimitsTests {
  @Test func theBucketAllowsABurstThenTheRate() {
    let limiter = RateLimiter(rate: 10, burst: 3)
    let start = ContinuousClock.now
    #expect((0..<3).allSatisfy { _ in limiter.take("a", now: start) == nil })
    let wait = limiter.take("a", now: start)
    #expect(wait == .milliseconds(100))
    // Another principal has its own bucket.
    #expect(limiter.take("b", now: start) == nil)
    // A token is back after 1/rate seconds.
    #expect(limiter.take("a", now: start + .milliseconds(101)) == nil)
    #expect(limiter.take("a", now: start + .milliseconds(102)) != nil)
  }

  @Test func peersAreNamedByTheirHost() {
    #expect(AbuseLimitsInterceptor.host(of: "ipv4:127.0.0.1:51234") == "ipv4:127.0.0.1")
    #expect(AbuseLimitsInterceptor.host(of: "ipv6:[::1]:51234") == "ipv6:[::1]")
  }

  /// A unary call without a deadline is ended at the default; one with a deadline, or a
  /// stream, is left to run.
  @Test func unaryCallsWithoutADeadlineGetTheDefault() async throws {
    var limits = AbuseLimits()
    limits.defaultDeadline = .milliseconds(50)
    let interceptor = AbuseLimitsInterceptor(limits: limits)
    let handlerCancelled = Mutex(false)
    let slow:
      @Sendable (StreamingServerRequest<Int>, ServerContext) async throws ->
        StreamingServerResponse<Int> = { _, _ in
          do {
            try await Task.sleep(for: .seconds(30))
          } catch {
            handlerCancelled.withLock { $0 = true }
            throw error
          }
          return StreamingServerResponse(error: RPCError(code: .unknown, message: "finished"))
        }
    let fast:
      @Sendable (StreamingServerRequest<Int>, ServerContext) async throws ->
        StreamingServerResponse<Int> = { _, _ in
          StreamingServerResponse(error: RPCError(code: .aborted, message: "fast"))
        }
    let parts = ["policywatch.v1.Verdicts", "GetVerdict"]
    let context = await withServerContextRPCCancellationHandle { handle in
      ServerContext(
        descriptor: MethodDescriptor(fullyQualifiedService: parts[0], method: parts[1]),
        remotePeer: "ipv4:127.0.0.1:1", localPeer: "ipv4:127.0.0.1:2", cancellation: handle)
    }
    let request = StreamingServerRequest<Int>(single: ServerRequest(metadata: [:], message: 1))
    // Ended by the default deadline (not by the handler's 30 s), and the handler cancelled.
    await #expect {
      _ = try await interceptor.intercept(request: request, context: context, next: slow)
    } throws: { error in
      (error as? RPCError)?.code == .deadlineExceeded
    }
    #expect(handlerCancelled.withLock { $0 })
    let answered = try await interceptor.intercept(
      request: request, context: context, next: fast)
    if case .failure(let error) = answered.accepted { #expect(error.code == RPCError.Code.aborted) }
    var withDeadline = request
    withDeadline.metadata.addString("1S", forKey: "grpc-timeout")
    let streaming = Task {
      try await interceptor.intercept(
        request: withDeadline, context: context, next: slow)
    }
    try await Task.sleep(for: .milliseconds(200))
    streaming.cancel()
    await #expect(throws: CancellationError.self) { _ = try await streaming.value }
  }
}
