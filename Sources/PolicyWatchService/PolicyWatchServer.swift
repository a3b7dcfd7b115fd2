import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOCore
import PolicyRules
import PolicyStore
import PolicyWatchAPI
import ServiceLifecycle
import UnixSignals

/// What `policywatch serve` is configured with.
public struct ServerConfiguration: Sendable {
  /// Where to listen. Default `127.0.0.1:50051`.
  public var listen: ListenAddress
  /// The directory of the database and other state; created when missing.
  public var dataDirectory: String
  /// The directory of rule files.
  public var rulesDirectory: String
  /// How commits reach the disk.
  public var durability: SQLiteVerdictStore.Durability = .full
  /// Where to serve Prometheus metrics (`GET /metrics`); none when nil.
  public var metricsListen: ListenAddress?
  /// What a client may send.
  public var limits = RequestLimits()
  /// Stream, deadline and rate limits against abuse.
  public var abuse = AbuseLimits()
  /// Watchers' buffers, limit and heartbeats.
  public var watch = WatchSettings()
  /// How often the rules directory is looked at for changes; nil: never (reload by
  /// `ReloadRules` or SIGHUP only).
  public var rulesPollInterval: Duration? = .milliseconds(500)
  /// How long a change must stay unchanged before it is loaded.
  public var rulesSettle: Duration = .milliseconds(500)
  /// Proposals re-evaluated at once by a background job.
  public var reevaluationConcurrency = 1
  /// Proposals a re-evaluation job commits together, saving its cursor after each batch.
  public var reevaluationBatch = 64
  /// Reload the rules on SIGHUP (`policywatch serve` sets it; an embedding program may not want
  /// its signals taken).
  public var reloadOnSIGHUP = false
  /// TLS on the gRPC port (mutual TLS when it names a client CA).
  public var tls: TLSFiles?
  /// Who may call what; nil: no authentication (every caller is `anonymous`).
  public var access: AccessPolicy?
  /// Whether server reflection stays open to callers without credentials.
  public var reflectionOpen = true
  /// Allows a non-loopback address without TLS and authentication.
  public var allowInsecure = false
  /// Where admin actions are recorded (JSON lines); `<data-dir>/audit.log` when nil.
  public var auditLogPath: String?

  /// Why this configuration must not start: a non-loopback address without TLS and
  /// authentication, unless `allowInsecure`.
  public var insecureReason: String? {
    guard !self.allowInsecure, !self.listen.isLoopback else { return nil }
    var missing: [String] = []
    if self.tls == nil { missing.append("TLS (--tls-cert, --tls-key)") }
    if self.access == nil { missing.append("authentication (--auth-config)") }
    guard !missing.isEmpty else { return nil }
    return
      "refusing to listen on \(self.listen) without \(missing.joined(separator: " and ")): anyone who can reach it could read verdicts and change rules; configure them, listen on a loopback address, or pass --insecure"
  }

  /// Creates a configuration; the defaults are those of `policywatch serve`.
  public init(
    listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 50051),
    dataDirectory: String = "./data",
    rulesDirectory: String = "./rules"
  ) {
    self.listen = listen
    self.dataDirectory = dataDirectory
    self.rulesDirectory = rulesDirectory
  }
}

/// An error that stops the server from starting, with what to do about it.
public struct ServerStartupError: Error, CustomStringConvertible {
  /// What went wrong and what to do.
  public var description: String
}

/// The PolicyWatch gRPC server: the `policywatch.v1` services, health and reflection, behind
/// the logging interceptor, on the HTTP/2 transport. It runs as a swift-service-lifecycle
/// `Service`: on graceful shutdown (SIGINT/SIGTERM in `policywatch serve`) it reports
/// `NOT_SERVING`, stops accepting calls and returns once the calls in flight have finished.
///
/// ```swift
/// let server = PolicyWatchServer(configuration: ServerConfiguration(), logger: logger)
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class PolicyWatchServer: Service {
  /// The fully qualified names of the PolicyWatch services.
  public static let policyServices: [String] = [
    Policywatch_V1_Evaluator.descriptor.fullyQualifiedService,
    Policywatch_V1_Verdicts.descriptor.fullyQualifiedService,
    Policywatch_V1_Proposals.descriptor.fullyQualifiedService,
    Policywatch_V1_Frameworks.descriptor.fullyQualifiedService,
  ]

  /// What the server was configured with.
  public let configuration: ServerConfiguration
  let logger: Logger
  /// The serving status reported by `grpc.health.v1.Health`.
  public let health: HealthStatusRegistry
  /// The live rule book.
  public let rules: RuleBookRegistry
  /// The Prometheus metrics.
  public let metrics = ServiceMetrics()
  private let boundAddress: AsyncStream<ListenAddress>
  private let boundAddressContinuation: AsyncStream<ListenAddress>.Continuation

  /// Creates a server and loads its rules; nothing listens until ``run()``. Throws the rule
  /// files' diagnostics when they do not load: the server does not start on broken rules.
  public init(configuration: ServerConfiguration, logger: Logger) throws(DiagnosticsError) {
    self.configuration = configuration
    self.logger = logger
    self.rules = try RuleBookRegistry(directory: configuration.rulesDirectory)
    self.health = HealthStatusRegistry(services: Self.policyServices)
    (self.boundAddress, self.boundAddressContinuation) = AsyncStream.makeStream(
      bufferingPolicy: .bufferingNewest(1)
    )
  }

  /// The address the server listens on once bound (with the real port when 0 was asked for),
  /// or `nil` when it stopped before binding.
  public func listeningAddress() async -> ListenAddress? {
    for await address in self.boundAddress { return address }
    return nil
  }

  /// Runs the server until graceful shutdown or cancellation.
  public func run() async throws {
    defer { self.boundAddressContinuation.finish() }
    if let reason = self.configuration.insecureReason {
      throw ServerStartupError(description: reason)
    }
    let certificates = try self.configuration.tls.map { try CertificateFiles(files: $0) }
    try FileManager.default.createDirectory(
      atPath: self.configuration.dataDirectory,
      withIntermediateDirectories: true
    )

    let databasePath = (self.configuration.dataDirectory as NSString).appendingPathComponent(
      "policywatch.sqlite")
    let metrics = self.metrics
    let hub = VerdictHub(latest: 0)
    let store = try SQLiteVerdictStore(
      path: databasePath, durability: self.configuration.durability,
      observeBatch: { size, duration in metrics.commit(batchSize: size, duration: duration) },
      publish: { events, latest in hub.publish(events, latest: latest) }
    )
    hub.publish([], latest: try await store.latestSequence())
    let reevaluator = Reevaluator(
      store: store, registry: self.rules, logger: self.logger, metrics: metrics,
      concurrency: self.configuration.reevaluationConcurrency,
      pageSize: self.configuration.reevaluationBatch)
    let reloader = RuleReloader(
      registry: self.rules, reevaluator: reevaluator, metrics: metrics, logger: self.logger)
    metrics.ruleBook(
      revision: self.rules.current.revision, frameworks: self.rules.current.frameworks.count)
    var metricsChannel: (any Channel)? = nil
    if let metricsAddress = self.configuration.metricsListen {
      let (channel, port) = try await MetricsEndpoint(registry: metrics.registry).start(
        host: metricsAddress.host == "localhost" ? "127.0.0.1" : metricsAddress.host,
        port: metricsAddress.port)
      metricsChannel = channel
      self.logger.info(
        "metrics listening",
        metadata: ["address": "\(ListenAddress(host: metricsAddress.host, port: port))"])
    }
    defer { metricsChannel?.close(promise: nil) }
    let services: [any RegistrableRPCService] = [
      EvaluatorService(
        registry: self.rules, limits: self.configuration.limits, store: store, metrics: metrics,
        reevaluator: reevaluator),
      VerdictsService(
        store: store, hub: hub, registry: self.rules, watch: self.configuration.watch,
        metrics: metrics),
      ProposalsService(store: store),
      FrameworksService(registry: self.rules, reloader: reloader),
      HealthService(registry: self.health),
      try ReflectionService(
        serviceNames: Self.policyServices + [
          Grpc_Health_V1_Health.descriptor.fullyQualifiedService,
          Grpc_Reflection_V1_ServerReflection.descriptor.fullyQualifiedService,
        ]
      ),
    ]
    var address = self.configuration.listen
    if address.host == "localhost" { address.host = "127.0.0.1" }
    let transport = HTTP2ServerTransport.Posix(
      address: address.isIPv6
        ? .ipv6(host: address.host, port: address.port)
        : .ipv4(host: address.host, port: address.port),
      transportSecurity: certificates.map { $0.files.transportSecurity(reloader: $0) }
        ?? .plaintext,
      config: .defaults { config in
        config.rpc.maxRequestPayloadSize = self.configuration.limits.maxRequestBytes
        config.http2.maxConcurrentStreams = self.configuration.abuse.maxStreamsPerConnection
      }
    )
    var interceptors: [any ServerInterceptor] = [
      LoggingInterceptor(logger: self.logger, metrics: metrics)
    ]
    if let access = self.configuration.access {
      let audit = try AuditLog(
        path: self.configuration.auditLogPath
          ?? (self.configuration.dataDirectory as NSString).appendingPathComponent("audit.log"))
      interceptors.append(
        AccessInterceptor(
          policy: access, reflectionOpen: self.configuration.reflectionOpen, audit: audit))
    }
    interceptors.append(AbuseLimitsInterceptor(limits: self.configuration.abuse))
    let server = GRPCServer(transport: transport, services: services, interceptors: interceptors)

    try await reevaluator.resumeAtStart()
    let heartbeat = self.configuration.watch.heartbeatInterval
    let watcher = self.configuration.rulesPollInterval.map {
      RulesDirectoryWatcher(
        directory: self.configuration.rulesDirectory, interval: $0,
        settle: self.configuration.rulesSettle)
    }
    let reloadOnSIGHUP = self.configuration.reloadOnSIGHUP
    try await withGracefulShutdownHandler {
      try await withThrowingTaskGroup(of: Void.self) { background in
        background.addTask {
          while (try? await Task.sleep(for: heartbeat)) != nil { hub.tick() }
        }
        if let watcher {
          background.addTask {
            await watcher.run { _ = await reloader.reload(trigger: "file change") }
          }
        }
        if reloadOnSIGHUP {
          background.addTask {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
              _ = await reloader.reload(trigger: "SIGHUP")
              if let certificates {
                do {
                  try certificates.reload()
                  self.logger.info("TLS certificate reloaded; live connections keep theirs")
                } catch {
                  self.logger.error(
                    "TLS certificate not reloaded; the old one stays in use",
                    metadata: ["error": "\(error)"])
                }
              }
            }
          }
        }
        try await withThrowingDiscardingTaskGroup { group in
          group.addTask { try await server.serve() }
          let bound = try await transport.listeningAddress
          let actual = ListenAddress(
            host: bound.ipv4?.host ?? bound.ipv6?.host ?? address.host,
            port: bound.ipv4?.port ?? bound.ipv6?.port ?? address.port
          )
          self.logger.info(
            "listening",
            metadata: [
              "address": "\(actual)",
              "data_dir": "\(self.configuration.dataDirectory)",
              "rules": "\(self.configuration.rulesDirectory)",
              "tls":
                "\(self.configuration.tls == nil ? "off" : self.configuration.tls?.clientCA == nil ? "on" : "mutual")",
              "auth": "\(self.configuration.access == nil ? "off" : "on")",
              "rulebook_revision": "\(self.rules.current.revision.prefix(12))",
              "frameworks": "\(self.rules.current.frameworks.map(\.id).joined(separator: ","))",
            ]
          )
          self.boundAddressContinuation.yield(actual)
        }
        // The calls are over: stop what ran beside them.
        background.cancelAll()
      }
    } onGracefulShutdown: {
      self.logger.info("draining: no new calls; waiting for calls in flight")
      self.health.setAll(.notServing)
      self.health.finishWatchers()
      hub.close()
      server.beginGracefulShutdown()
      Task { await reevaluator.shutdown() }
    }
    await reevaluator.shutdown()
    self.logger.info("stopped")
  }
}
