import ArgumentParser
import Logging
import PolicyStore
import PolicyWatchService
import ServiceLifecycle

/// `policywatch serve`: runs the gRPC server until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the PolicyWatch gRPC server.",
    discussion: """
      Serves the policywatch.v1 services (Evaluator, Verdicts, Proposals, Frameworks), the \
      standard grpc.health.v1 health service and grpc.reflection.v1 server reflection, over \
      HTTP/2.

      The rules directory is watched: a change is loaded once it has settled, and so on \
      SIGHUP or `policywatch rules reload`. A directory with any error is refused and the old \
      rules stay live (`policywatch rules status` shows why). After a change, the stored \
      proposals are re-evaluated in the background against the frameworks that changed, and \
      watchers get a `changed` event for each outcome that moved.

      On SIGINT or SIGTERM the server reports NOT_SERVING, stops accepting new calls, lets the \
      calls in flight finish and exits 0. One log line per RPC (method, status, duration) goes \
      to standard error.

      Examples:
        policywatch serve
        policywatch serve --listen 127.0.0.1:6000 --data-dir /var/lib/policywatch --rules /etc/policywatch/rules
      """
  )

  @Option(
    help: ArgumentHelp(
      "Address to listen on, as host:port ([::1]:port for IPv6; port 0 picks a free one).",
      valueName: "host:port"
    )
  )
  var listen: String = "127.0.0.1:50051"

  @Option(
    help: ArgumentHelp(
      "Directory of the database and other state; created if missing.", valueName: "dir"))
  var dataDir: String = "./data"

  @Option(help: ArgumentHelp("Directory of the rule files (*.yaml).", valueName: "dir"))
  var rules: String = "./rules"

  @Option(
    help:
      "full: every commit is synced to disk; normal: durable across crashes of the process, not of the machine."
  )
  var durability: SQLiteVerdictStore.Durability = .full

  @Option(
    help: ArgumentHelp(
      "Serve Prometheus metrics on http://host:port/metrics (off by default).",
      valueName: "host:port"))
  var metricsListen: String?

  @Option(help: "The largest request message, in bytes.")
  var maxRequestBytes: Int = 4 * 1024 * 1024

  @Option(help: "The longest proposal body, in characters.")
  var maxBodyChars: Int = 1_000_000

  @Option(
    help:
      "The most items in a proposal's lists (participants, commitments, sponsors, sectors, instruments)."
  )
  var maxListLength: Int = 1000

  @Option(help: "Events a watcher may have waiting before the server ends its stream.")
  var watchBuffer: Int = 1024

  @Option(help: "Watchers (WatchVerdicts streams) at once.")
  var maxWatchers: Int = 1000

  @Option(help: "Seconds of silence after which a watcher gets a heartbeat.")
  var watchHeartbeat: Double = 15

  @Option(
    help:
      "Seconds between looks at the rules directory for changes (0: never; reload with SIGHUP or `policywatch rules reload`)."
  )
  var rulesPoll: Double = 0.5

  @Option(help: "Seconds a changed rules directory must stay unchanged before it is loaded.")
  var rulesSettle: Double = 0.5

  @Option(help: "Proposals re-evaluated at once after a rule change.")
  var reevaluationConcurrency: Int = 1

  @Option(
    help:
      "Proposals a re-evaluation job commits together; its progress is saved after each batch.")
  var reevaluationBatch: Int = 64

  @Option(help: ArgumentHelp("TLS certificate chain (PEM) of the gRPC port.", valueName: "file"))
  var tlsCert: String?

  @Option(help: ArgumentHelp("The TLS certificate's private key (PEM).", valueName: "file"))
  var tlsKey: String?

  @Option(
    help: ArgumentHelp(
      "Mutual TLS: clients must present a certificate signed by this CA (PEM).",
      valueName: "file"))
  var tlsClientCa: String?

  @Option(
    help: ArgumentHelp(
      "Callers and roles (YAML: tokens by SHA-256, certificate subjects); see docs/SECURITY.md.",
      valueName: "file"))
  var authConfig: String?

  @Option(
    help: ArgumentHelp(
      "Audit log of admin actions (JSON lines); default <data-dir>/audit.log.", valueName: "file"))
  var auditLog: String?

  @Flag(help: "With --auth-config: server reflection needs a reader's credentials too.")
  var closeReflection = false

  @Flag(
    help:
      "Allow a non-loopback --listen address without TLS and authentication (never on a network you do not trust)."
  )
  var insecure = false

  @Option(help: "Concurrent streams one HTTP/2 connection may open.")
  var maxStreamsPerConnection: Int = 100

  @Option(help: "Seconds a unary call that set no deadline may run (0: unbounded).")
  var defaultDeadline: Double = 60

  @Option(
    help:
      "Calls per second each principal (or, without --auth-config, each client address) may make on average (0: unlimited)."
  )
  var rateLimit: Double = 0

  @Option(help: "Calls a principal may make at once above --rate-limit.")
  var rateBurst: Double = 50

  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if self.maxRequestBytes < 1024 || self.maxBodyChars < 1 || self.maxListLength < 1 {
      throw ValidationError(
        "--max-request-bytes must be at least 1024, --max-body-chars and --max-list-length at least 1"
      )
    }
    if self.watchBuffer < 1 || self.maxWatchers < 1 || self.reevaluationConcurrency < 1
      || self.reevaluationBatch < 1
    {
      throw ValidationError(
        "--watch-buffer, --max-watchers, --reevaluation-concurrency and --reevaluation-batch must be at least 1"
      )
    }
    if !(self.watchHeartbeat > 0) || !(self.rulesPoll >= 0) || !(self.rulesSettle >= 0) {
      throw ValidationError(
        "--watch-heartbeat must be positive, --rules-poll and --rules-settle not negative")
    }
    if self.maxStreamsPerConnection < 1 || !(self.defaultDeadline >= 0)
      || !(self.rateLimit >= 0) || !(self.rateBurst >= 1)
    {
      throw ValidationError(
        "--max-streams-per-connection and --rate-burst must be at least 1, --default-deadline and --rate-limit not negative"
      )
    }
    if (self.tlsCert == nil) != (self.tlsKey == nil) {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    if self.tlsClientCa != nil && self.tlsCert == nil {
      throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key")
    }
    if let metricsListen, ListenAddress(metricsListen) == nil {
      throw ValidationError(
        "--metrics-listen '\(metricsListen)' is not host:port (e.g. 127.0.0.1:9090)")
    }
    guard ListenAddress(self.listen) != nil else {
      throw ValidationError(
        "--listen '\(self.listen)' is not host:port (e.g. 127.0.0.1:50051 or [::1]:50051)"
      )
    }
  }

  func run() async throws {
    self.logging.bootstrap()
    let logger = Logger(label: "policywatch")
    guard let address = ListenAddress(self.listen) else { throw ExitCode.validationFailure }
    var access: AccessPolicy? = nil
    if let authConfig = self.authConfig {
      do {
        access = try AccessPolicy.load(path: authConfig)
      } catch {
        printError("\(error)")
        throw ExitCode.failure
      }
    }
    let server: PolicyWatchServer
    do {
      server = try PolicyWatchServer(
        configuration: {
          var configuration = ServerConfiguration(
            listen: address, dataDirectory: self.dataDir, rulesDirectory: self.rules)
          configuration.durability = self.durability
          configuration.metricsListen = self.metricsListen.flatMap(ListenAddress.init)
          configuration.limits.maxRequestBytes = self.maxRequestBytes
          configuration.limits.maxBodyCharacters = self.maxBodyChars
          configuration.limits.maxListLength = self.maxListLength
          configuration.watch.bufferSize = self.watchBuffer
          configuration.watch.maxWatchers = self.maxWatchers
          configuration.watch.heartbeatInterval = .milliseconds(Int(self.watchHeartbeat * 1000))
          configuration.rulesPollInterval =
            self.rulesPoll > 0 ? .milliseconds(Int(self.rulesPoll * 1000)) : nil
          configuration.rulesSettle = .milliseconds(Int(self.rulesSettle * 1000))
          configuration.reevaluationConcurrency = self.reevaluationConcurrency
          configuration.reevaluationBatch = self.reevaluationBatch
          configuration.reloadOnSIGHUP = true
          if let certificate = self.tlsCert, let key = self.tlsKey {
            configuration.tls = TLSFiles(
              certificate: certificate, key: key, clientCA: self.tlsClientCa)
          }
          configuration.access = access
          configuration.reflectionOpen = !self.closeReflection
          configuration.allowInsecure = self.insecure
          configuration.auditLogPath = self.auditLog
          configuration.abuse.maxStreamsPerConnection = self.maxStreamsPerConnection
          configuration.abuse.defaultDeadline =
            self.defaultDeadline > 0 ? .milliseconds(Int(self.defaultDeadline * 1000)) : nil
          configuration.abuse.ratePerSecond = self.rateLimit > 0 ? self.rateLimit : nil
          configuration.abuse.burst = self.rateBurst
          return configuration
        }(),
        logger: logger
      )
    } catch {
      for diagnostic in error.diagnostics { printError(diagnostic.description) }
      logger.error(
        "the rules in \(self.rules) do not load; the server is not started",
        metadata: ["errors": "\(error.diagnostics.count)"])
      throw ExitCode.failure
    }
    if let reason = server.configuration.insecureReason {
      printError("policywatch: \(reason)")
      throw ExitCode.failure
    }
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: [.init(service: server)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
      )
    )
    do {
      try await group.run()
    } catch {
      logger.error("server stopped with an error", metadata: ["error": "\(error)"])
      throw ExitCode.failure
    }
  }
}

extension SQLiteVerdictStore.Durability: ExpressibleByArgument {}
