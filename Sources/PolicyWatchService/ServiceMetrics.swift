import Foundation
import GRPCCore
import Prometheus
import Synchronization

/// The server's Prometheus metrics: requests by method and code, latencies, verdicts by outcome,
/// store commit batch sizes and latency, and the live rule book revision.
public final class ServiceMetrics: Sendable {
  /// The registry `/metrics` renders.
  public let registry = PrometheusCollectorRegistry()
  private let revision = Mutex<String?>(nil)

  static let latencyBuckets: [Duration] = [
    .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
    .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
    .milliseconds(500), .seconds(1), .seconds(5),
  ]

  /// Creates the metrics.
  public init() {}

  private func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(namespace: "policywatch", metricName: name, unitName: unit, helpText: help)
  }

  /// One finished RPC.
  func requestFinished(method: String, code: String, duration: Duration) {
    self.registry.makeCounter(
      descriptor: self.descriptor(
        "rpc_requests", "total", "RPCs handled, by method and status code."),
      labels: [("method", method), ("code", code)]
    ).increment()
    self.registry.makeDurationHistogram(
      descriptor: self.descriptor("rpc_duration", "seconds", "RPC latency, by method."),
      labels: [("method", method)], buckets: Self.latencyBuckets
    ).record(duration)
  }

  /// Verdicts made (stored or dry run).
  func verdictMade(framework: String, outcome: String, stored: Bool) {
    self.registry.makeCounter(
      descriptor: self.descriptor(
        "verdicts", "total", "Verdicts made, by framework, outcome and whether stored."),
      labels: [
        ("framework", framework), ("outcome", outcome), ("stored", stored ? "true" : "false"),
      ]
    ).increment()
  }

  /// One commit of the store.
  public func commit(batchSize: Int, duration: Duration) {
    self.registry.makeValueHistogram(
      descriptor: self.descriptor(
        "store_commit_batch", "size", "Evaluations committed together in one transaction."),
      labels: [], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    ).record(Double(batchSize))
    self.registry.makeDurationHistogram(
      descriptor: self.descriptor(
        "store_commit_duration", "seconds", "Time of one store commit, sync included."),
      labels: [], buckets: Self.latencyBuckets
    ).record(duration)
  }

  /// The live rule book; the previous revision's series is set to 0.
  func ruleBook(revision: String, frameworks: Int) {
    let previous = self.revision.withLock { state -> String? in
      defer { state = revision }
      return state
    }
    let info = self.descriptor(
      "rulebook", "info", "The live rule book revision (1) and earlier ones (0).")
    if let previous, previous != revision {
      self.registry.makeGauge(descriptor: info, labels: [("revision", previous)]).set(to: 0.0)
    }
    self.registry.makeGauge(descriptor: info, labels: [("revision", revision)]).set(to: 1.0)
    self.registry.makeGauge(
      descriptor: self.descriptor(
        "rulebook_frameworks", "count", "Frameworks in the live rule book."), labels: []
    ).set(to: Double(frameworks))
  }

  /// Proposal × framework pairs re-evaluated in the background, and how many changed outcome.
  func reevaluated(pairs: Int, changed: Int) {
    self.registry.makeCounter(
      descriptor: self.descriptor(
        "reevaluated_pairs", "total",
        "Proposal and framework pairs re-evaluated after rule changes."),
      labels: []
    ).increment(by: Int64(pairs))
    self.registry.makeCounter(
      descriptor: self.descriptor(
        "reevaluation_changed", "total", "Re-evaluated verdicts whose outcome changed."),
      labels: []
    ).increment(by: Int64(changed))
  }

  /// The number of connected watchers.
  func watchers(_ count: Int) {
    self.registry.makeGauge(
      descriptor: self.descriptor("watchers", "count", "Connected WatchVerdicts streams."),
      labels: []
    ).set(to: Double(count))
  }

  /// A watcher ended by the server, by reason (`slow`, `shutdown`).
  func watcherEnded(reason: String) {
    self.registry.makeCounter(
      descriptor: self.descriptor(
        "watchers_ended", "total", "WatchVerdicts streams ended by the server, by reason."),
      labels: [("reason", reason)]
    ).increment()
  }

  /// A reload attempt.
  func reloadAttempted(succeeded: Bool) {
    self.registry.makeCounter(
      descriptor: self.descriptor("rule_reloads", "total", "Rule reload attempts, by result."),
      labels: [("result", succeeded ? "ok" : "error")]
    ).increment()
  }
}
