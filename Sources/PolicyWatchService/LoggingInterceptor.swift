import GRPCCore
import Logging

/// Logs one structured line per RPC when it ends: the method, the status code, the duration and
/// the peer. Streaming calls are logged when their response stream ends.
public struct LoggingInterceptor: ServerInterceptor {
  let logger: Logger
  let metrics: ServiceMetrics?

  /// Creates an interceptor that logs through `logger` and counts in `metrics`.
  public init(logger: Logger, metrics: ServiceMetrics? = nil) {
    self.logger = logger
    self.metrics = metrics
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let start = ContinuousClock.now
    let method = context.descriptor.fullyQualifiedMethod
    let response: StreamingServerResponse<Output>
    do {
      response = try await next(request, context)
    } catch {
      self.log(method: method, peer: context.remotePeer, start: start, error: error)
      throw error
    }
    switch response.accepted {
    case .failure(let error):
      self.log(method: method, peer: context.remotePeer, start: start, error: error)
      return response
    case .success(var contents):
      let producer = contents.producer
      contents.producer = { writer in
        do {
          let trailers = try await producer(writer)
          self.log(method: method, peer: context.remotePeer, start: start, error: nil)
          return trailers
        } catch {
          self.log(method: method, peer: context.remotePeer, start: start, error: error)
          throw error
        }
      }
      return StreamingServerResponse(accepted: .success(contents))
    }
  }

  private func log(
    method: String, peer: String, start: ContinuousClock.Instant, error: (any Error)?
  ) {
    let elapsed = ContinuousClock.now - start
    let micros =
      elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
    let code: String
    var metadata: Logger.Metadata = [
      "method": "\(method)",
      "duration_ms": "\(Double(micros) / 1000)",
      "peer": "\(peer)",
    ]
    if let error {
      let rpcError: RPCError? =
        if let error = error as? RPCError {
          error
        } else if let convertible = error as? any RPCErrorConvertible {
          RPCError(convertible)
        } else {
          nil
        }
      code = rpcError.map { Self.canonicalName($0.code) } ?? "UNKNOWN"
      metadata["error"] = "\(rpcError?.message ?? String(describing: error))"
    } else {
      code = "OK"
    }
    metadata["status"] = "\(code)"
    self.logger.info("rpc", metadata: metadata)
    self.metrics?.requestFinished(method: method, code: code, duration: elapsed)
  }

  /// The code's canonical gRPC name, e.g. `NOT_FOUND`.
  static func canonicalName(_ code: RPCError.Code) -> String {
    var name = ""
    for character in "\(code)" {
      if character.isUppercase { name += "_" }
      name += character.uppercased()
    }
    return name
  }
}
