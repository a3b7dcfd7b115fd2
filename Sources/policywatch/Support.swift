import ArgumentParser
import Foundation
import GRPCCore
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

/// How the CLI authenticates to a server: a bearer token, TLS with a CA to trust, and a client
/// certificate for mutual TLS.
struct ClientCredentials: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Bearer token sent with every call (also POLICYWATCH_TOKEN; prefer the variable: arguments show in `ps`).",
      valueName: "token"))
  var token: String? = ProcessEnvironment.value(of: "POLICYWATCH_TOKEN")

  @Option(
    help: ArgumentHelp(
      "Connect with TLS, trusting the server certificate's CA in this PEM file (also POLICYWATCH_TLS_CA).",
      valueName: "file"))
  var tlsCA: String? = ProcessEnvironment.value(of: "POLICYWATCH_TLS_CA")

  @Option(help: ArgumentHelp("Client certificate (PEM) for mutual TLS.", valueName: "file"))
  var tlsCert: String? = ProcessEnvironment.value(of: "POLICYWATCH_TLS_CERT")

  @Option(help: ArgumentHelp("The client certificate's private key (PEM).", valueName: "file"))
  var tlsKey: String? = ProcessEnvironment.value(of: "POLICYWATCH_TLS_KEY")

  func validate() throws {
    if (self.tlsCert == nil) != (self.tlsKey == nil) {
      throw ValidationError("--tls-cert and --tls-key go together")
    }
    if self.tlsCert != nil && self.tlsCA == nil {
      throw ValidationError("--tls-cert needs --tls-ca (the CA that signed the server certificate)")
    }
  }

  /// The interceptors every call goes through: the token, when there is one.
  var interceptors: [any ClientInterceptor] {
    self.token.map { [BearerTokenInterceptor(token: $0)] } ?? []
  }

  /// A transport to `address`: plaintext, or TLS when a CA is given.
  func transport(to address: ListenAddress) throws -> HTTP2ClientTransport.Posix {
    let target: any ResolvableTarget =
      address.isIPv6
      ? .ipv6(address: address.host, port: address.port)
      : address.host.first?.isNumber == true
        ? .ipv4(address: address.host, port: address.port)
        : .dns(host: address.host, port: address.port)
    guard let ca = self.tlsCA else {
      return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext)
    }
    let (certificate, key) = (self.tlsCert, self.tlsKey)
    let security: HTTP2ClientTransport.Posix.TransportSecurity
    if let certificate, let key {
      security = .mTLS(
        certificateChain: [.file(path: certificate, format: .pem)],
        privateKey: .file(path: key, format: .pem)
      ) { config in
        config.trustRoots = .certificates([.file(path: ca, format: .pem)])
      }
    } else {
      security = .tls { config in
        config.trustRoots = .certificates([.file(path: ca, format: .pem)])
      }
    }
    return try HTTP2ClientTransport.Posix(target: target, transportSecurity: security)
  }
}

/// Adds `authorization: Bearer <token>` to every call.
struct BearerTokenInterceptor: ClientInterceptor {
  let token: String

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<
      Output
    >
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.replaceOrAddString("Bearer \(self.token)", forKey: "authorization")
    return try await next(request, context)
  }
}

/// Writes a line to standard error.
func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}
