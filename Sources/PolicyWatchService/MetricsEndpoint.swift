import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// A small HTTP/1.1 server answering `GET /metrics` with the Prometheus text format.
struct MetricsEndpoint {
  let registry: PrometheusCollectorRegistry

  /// Binds `address`; returns the channel (close it to stop) and the bound port.
  func start(host: String, port: Int) async throws -> (any Channel, Int) {
    let registry = self.registry
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        // Built on the channel's event loop, so the handler never crosses threads.
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(MetricsHandler(registry: registry))
        }
      }
      .bind(host: host, port: port).get()
    return (channel, channel.localAddress?.port ?? port)
  }
}

private final class MetricsHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let registry: PrometheusCollectorRegistry
  private var path = ""
  private var method = HTTPMethod.GET

  init(registry: PrometheusCollectorRegistry) {
    self.registry = registry
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch self.unwrapInboundIn(data) {
    case .head(let head):
      self.path = head.uri
      self.method = head.method
    case .body:
      break
    case .end:
      let found =
        self.method == .GET && (self.path == "/metrics" || self.path.hasPrefix("/metrics?"))
      let body: [UInt8] =
        found ? self.registry.emitToBuffer() : Array("not found: try /metrics\n".utf8)
      var headers = HTTPHeaders()
      headers.add(
        name: "Content-Type",
        value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
      headers.add(name: "Content-Length", value: String(body.count))
      context.write(
        self.wrapOutboundOut(
          .head(
            HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))),
        promise: nil)
      context.write(
        self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
        promise: nil)
      context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
    }
  }
}
