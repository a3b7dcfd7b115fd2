import Foundation
import GRPCNIOTransportHTTP2
import PolicyWatchService

/// Reads the process environment.
enum ProcessEnvironment {
  /// The value of an environment variable, or `nil` when unset or empty.
  static func value(of name: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
  }
}

/// Builds client transports to a PolicyWatch server.
enum ClientTransportFactory {
  /// A plaintext HTTP/2 transport to `address`.
  static func plaintext(_ address: ListenAddress) throws -> HTTP2ClientTransport.Posix {
    let target: any ResolvableTarget =
      address.isIPv6
      ? .ipv6(host: address.host, port: address.port)
      : address.host.first?.isNumber == true
        ? .ipv4(host: address.host, port: address.port)
        : .dns(host: address.host, port: address.port)
    return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext)
  }
}

/// Writes a line to standard error.
func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}
