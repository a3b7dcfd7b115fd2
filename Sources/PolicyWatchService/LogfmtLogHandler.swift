import Foundation
import Logging
import Synchronization

/// A swift-log handler that writes one `logfmt` line per event to standard error, e.g.
///
/// ```
/// ts=2026-11-29T03:20:00.123Z level=info logger=rpc msg=rpc method=policywatch.v1.Evaluator/Evaluate status=ok duration_ms=0.42
/// ```
///
/// Standard error is unbuffered, so lines appear at once even when redirected to a file; and
/// logfmt is read by people and by log shippers alike. `--log-format json` selects JSON lines.
public struct LogfmtLogHandler: LogHandler {
  /// How a line is written.
  public enum Format: String, Sendable, CaseIterable {
    /// `key=value` pairs.
    case logfmt
    /// One JSON object per line.
    case json
  }

  private static let lock = Mutex(())
  private static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

  public var metadata: Logger.Metadata = [:]
  public var logLevel: Logger.Level
  let label: String
  let format: Format

  /// Creates a handler for the logger `label`.
  public init(label: String, level: Logger.Level, format: Format) {
    self.label = label
    self.logLevel = level
    self.format = format
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { self.metadata[key] }
    set { self.metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var fields: [(String, String)] = [
      ("ts", Date().formatted(Self.timestampStyle)),
      ("level", event.level.rawValue),
      ("logger", self.label),
      ("msg", event.message.description),
    ]
    let merged = self.metadata.merging(event.metadata ?? [:]) { _, new in new }
    for key in merged.keys.sorted() {
      fields.append((key, merged[key].map { "\($0)" } ?? ""))
    }
    let line: String
    switch self.format {
    case .logfmt:
      line = fields.map { "\($0.0)=\(Self.logfmtValue($0.1))" }.joined(separator: " ")
    case .json:
      line =
        "{"
        + fields.map { "\(Self.jsonString($0.0)):\(Self.jsonString($0.1))" }.joined(separator: ",")
        + "}"
    }
    let data = Data((line + "\n").utf8)
    Self.lock.withLock { _ in FileHandle.standardError.write(data) }
  }

  static func logfmtValue(_ value: String) -> String {
    let needsQuotes =
      value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
    guard needsQuotes else { return value }
    return jsonString(value)
  }

  static func jsonString(_ value: String) -> String {
    var out = "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
