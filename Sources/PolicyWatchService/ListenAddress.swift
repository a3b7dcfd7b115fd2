/// A `host:port` address to listen on or connect to: `127.0.0.1:50051`, `[::1]:50051`,
/// `localhost:50051`, `0.0.0.0:8080`. Port 0 asks the system for a free port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
  /// The host: an IPv4 or IPv6 literal (without brackets) or a name.
  public var host: String
  /// The TCP port.
  public var port: Int

  /// Creates an address from its parts.
  public init(host: String, port: Int) {
    self.host = host
    self.port = port
  }

  /// Parses `host:port` or `[v6]:port`; `nil` when it is not of that form.
  public init?(_ text: String) {
    let host: Substring
    let portText: Substring
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]"),
        text[text.index(after: close)...].hasPrefix(":")
      else { return nil }
      host = text[text.index(after: text.startIndex)..<close]
      portText = text[text.index(close, offsetBy: 2)...]
    } else {
      guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
      host = text[..<colon]
      portText = text[text.index(after: colon)...]
    }
    guard !host.isEmpty, let port = Int(portText), (0...65_535).contains(port) else { return nil }
    self.host = String(host)
    self.port = port
  }

  /// Whether the host is a loopback address (`127.0.0.0/8`, `::1` or `localhost`), on which
  /// the server may run without TLS.
  public var isLoopback: Bool {
    self.host == "localhost" || self.host == "::1" || self.host.hasPrefix("127.")
  }

  /// Whether the host is an IPv6 literal.
  public var isIPv6: Bool { self.host.contains(":") }

  public var description: String {
    self.isIPv6 ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
  }
}
