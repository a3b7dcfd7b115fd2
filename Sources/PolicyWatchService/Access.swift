import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import PolicyWatchAPI
import Synchronization
import X509
import Yams

/// What a caller may do. Each role includes the ones before it.
public enum Role: String, Sendable, Comparable, CaseIterable {
  /// Get, List and Watch.
  case reader
  /// A reader that may also `Evaluate` and `EvaluateStream`.
  case evaluator
  /// Everything, including `ReloadRules`, `Reevaluate` and `ValidateRules`.
  case admin

  public static func < (lhs: Role, rhs: Role) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }

  /// The least role a method needs; nil for methods open to everyone (health, reflection).
  static func required(for method: MethodDescriptor, reflectionOpen: Bool) -> Role? {
    if method.service.fullyQualifiedService.hasPrefix("grpc.health.v1.") { return nil }
    if method.service.fullyQualifiedService.hasPrefix("grpc.reflection.") {
      return reflectionOpen ? nil : .reader
    }
    // ReloadRules, Reevaluate, ValidateRules, and anything added later until it is listed.
    return self.leastRoles[method] ?? .admin
  }

  /// The methods open to readers and evaluators, from the generated descriptors.
  static let leastRoles: [MethodDescriptor: Role] = {
    var roles: [MethodDescriptor: Role] = [:]
    for method in [
      Policywatch_V1_Verdicts.Method.GetVerdict.descriptor,
      Policywatch_V1_Verdicts.Method.ListVerdicts.descriptor,
      Policywatch_V1_Verdicts.Method.WatchVerdicts.descriptor,
      Policywatch_V1_Proposals.Method.GetProposal.descriptor,
      Policywatch_V1_Proposals.Method.ListProposals.descriptor,
      Policywatch_V1_Frameworks.Method.ListFrameworks.descriptor,
      Policywatch_V1_Frameworks.Method.GetFramework.descriptor,
      Policywatch_V1_Frameworks.Method.GetRuleStatus.descriptor,
    ] {
      roles[method] = .reader
    }
    roles[Policywatch_V1_Evaluator.Method.Evaluate.descriptor] = .evaluator
    roles[Policywatch_V1_Evaluator.Method.EvaluateStream.descriptor] = .evaluator
    return roles
  }()
}

/// The caller of the RPC being handled, set by ``AccessInterceptor`` for the handler's task.
public enum CallPrincipal {
  /// The principal's name, recorded as a verdict's `requested_by`.
  @TaskLocal public static var name = "anonymous"
}

/// Who may call: bearer tokens (only their SHA-256 is stored) and mTLS certificate subjects,
/// each mapped to a named principal with a role. Read from a YAML file:
///
/// ```yaml
/// tokens:
///   - name: ci-pipeline
///     sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
///     role: evaluator
/// certificates:
///   - subject: CN=dashboard,O=Example
///     role: reader
/// ```
public struct AccessPolicy: Sendable {
  public struct TokenEntry: Sendable {
    public var name: String
    /// SHA-256 of the token.
    public var digest: [UInt8]
    public var role: Role
  }
  public struct CertificateEntry: Sendable {
    /// The subject's distinguished name, as RFC 4514 writes it (`CN=dashboard,O=Example`).
    public var subject: String
    public var name: String
    public var role: Role
  }

  public var tokens: [TokenEntry] = []
  public var certificates: [CertificateEntry] = []

  public init(tokens: [TokenEntry] = [], certificates: [CertificateEntry] = []) {
    self.tokens = tokens
    self.certificates = certificates
  }

  /// The hex SHA-256 of a token, as the file stores it (`policywatch auth hash-token`).
  public static func digest(ofToken token: String) -> String {
    SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
  }

  /// Reads the policy file; errors name the file, line and column of the problem.
  public static func load(path: String) throws -> AccessPolicy {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ServerStartupError(description: "\(path): cannot read: \(error.localizedDescription)")
    }
    func fail(_ node: Node?, _ message: String) -> ServerStartupError {
      let mark = node?.mark
      return ServerStartupError(
        description: "\(path):\(mark?.line ?? 1):\(mark?.column ?? 1): error: \(message)")
    }
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch {
      throw ServerStartupError(description: "\(path): not YAML: \(error)")
    }
    guard let mapping = root?.mapping else {
      throw fail(root, "expected a mapping with `tokens` and/or `certificates`")
    }
    var policy = AccessPolicy()
    var names = Set<String>()
    for (key, value) in mapping {
      switch key.string {
      case "tokens":
        guard let items = value.sequence else { throw fail(value, "`tokens` must be a list") }
        for item in items {
          guard let entry = item.mapping,
            let name = entry["name"]?.string, !name.isEmpty,
            let hex = entry["sha256"]?.string
          else { throw fail(item, "a token needs `name`, `sha256` and `role`") }
          guard let digest = Self.bytes(hex: hex), digest.count == 32 else {
            throw fail(
              entry["sha256"],
              "`sha256` must be 64 hex digits: the SHA-256 of the token, never the token itself")
          }
          let role = try Self.role(entry["role"], fail)
          guard names.insert(name).inserted else { throw fail(item, "duplicate name '\(name)'") }
          policy.tokens.append(TokenEntry(name: name, digest: digest, role: role))
        }
      case "certificates":
        guard let items = value.sequence else {
          throw fail(value, "`certificates` must be a list")
        }
        for item in items {
          guard let entry = item.mapping, let subject = entry["subject"]?.string, !subject.isEmpty
          else { throw fail(item, "a certificate needs `subject` and `role`") }
          let role = try Self.role(entry["role"], fail)
          let name = entry["name"]?.string ?? subject
          policy.certificates.append(CertificateEntry(subject: subject, name: name, role: role))
        }
      default:
        throw fail(key, "unknown key '\(key.string ?? "")'; expected `tokens` or `certificates`")
      }
    }
    return policy
  }

  private static func role(
    _ node: Node?, _ fail: (Node?, String) -> ServerStartupError
  ) throws -> Role {
    guard let text = node?.string, let role = Role(rawValue: text) else {
      throw fail(node, "`role` must be reader, evaluator or admin")
    }
    return role
  }

  static func bytes(hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    for index in stride(from: 0, to: digits.count, by: 2) {
      guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)
      else { return nil }
      bytes.append(byte)
    }
    return bytes
  }

  /// The entry whose digest equals the token's. Every entry is compared, each in constant
  /// time, so the time taken tells nothing about which bytes matched.
  func principal(forToken token: String) -> (name: String, role: Role)? {
    let digest = Array(SHA256.hash(data: Data(token.utf8)))
    var found: TokenEntry? = nil
    for entry in self.tokens {
      var difference: UInt8 = 0
      for (a, b) in zip(entry.digest, digest) { difference |= a ^ b }
      if difference == 0 && found == nil { found = entry }
    }
    return found.map { ($0.name, $0.role) }
  }

  func principal(forSubject subject: String) -> (name: String, role: Role)? {
    self.certificates.first { $0.subject == subject }.map { ($0.name, $0.role) }
  }
}

/// Authenticates every call (a bearer token, or the mTLS client certificate's subject), checks
/// the principal's role against the method, and runs the handler with ``CallPrincipal/name``
/// set. `UNAUTHENTICATED` without valid credentials, `PERMISSION_DENIED` when the role does not
/// allow the method. Tokens are never logged. Admin actions are appended to an audit log.
public struct AccessInterceptor: ServerInterceptor {
  let policy: AccessPolicy
  let reflectionOpen: Bool
  let audit: AuditLog?

  public init(policy: AccessPolicy, reflectionOpen: Bool, audit: AuditLog?) {
    self.policy = policy
    self.reflectionOpen = reflectionOpen
    self.audit = audit
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next:
      @Sendable (StreamingServerRequest<Input>, ServerContext) async throws ->
      StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let method = context.descriptor.fullyQualifiedMethod
    guard let required = Role.required(for: context.descriptor, reflectionOpen: self.reflectionOpen)
    else {
      return try await next(request, context)
    }
    var principal: (name: String, role: Role)? = nil
    if let header = request.metadata[stringValues: "authorization"].first(where: { _ in true }) {
      let parts = header.split(separator: " ", maxSplits: 1)
      guard parts.count == 2, parts[0].lowercased() == "bearer" else {
        throw RPCError(
          code: .unauthenticated, message: "authorization: expected 'Bearer <token>'")
      }
      principal = self.policy.principal(forToken: String(parts[1]))
      if principal == nil {
        throw RPCError(code: .unauthenticated, message: "the bearer token is not valid")
      }
    } else if let subject = Self.certificateSubject(context) {
      principal = self.policy.principal(forSubject: subject)
      if principal == nil {
        throw RPCError(
          code: .unauthenticated,
          message: "the client certificate '\(subject)' is not mapped to a principal")
      }
    }
    guard let principal else {
      throw RPCError(
        code: .unauthenticated,
        message:
          "credentials required: send 'authorization: Bearer <token>' or a client certificate")
    }
    guard principal.role >= required else {
      self.audit?.record(
        principal: principal.name, method: method, peer: context.remotePeer,
        outcome: "PERMISSION_DENIED", required: required)
      throw RPCError(
        code: .permissionDenied,
        message:
          "\(principal.name) has the role \(principal.role.rawValue); \(method) needs \(required.rawValue)"
      )
    }
    let name = principal.name
    var response = try await CallPrincipal.$name.withValue(name) {
      try await next(request, context)
    }
    guard case .success(var contents) = response.accepted else { return response }
    let producer = contents.producer
    let audit = required == .admin ? self.audit : nil
    contents.producer = { writer in
      do {
        let trailers = try await CallPrincipal.$name.withValue(name) { try await producer(writer) }
        audit?.record(
          principal: name, method: method, peer: context.remotePeer, outcome: "OK",
          required: required)
        return trailers
      } catch {
        audit?.record(
          principal: name, method: method, peer: context.remotePeer,
          outcome: "\((error as? RPCError)?.code ?? .unknown)", required: required)
        throw error
      }
    }
    response.accepted = .success(contents)
    return response
  }

  static func certificateSubject(_ context: ServerContext) -> String? {
    guard let posix = context.transportSpecific as? HTTP2ServerTransport.Posix.Context,
      let certificate = posix.peerCertificate
    else { return nil }
    return certificate.subject.description
  }
}

/// Appends one JSON line per admin action (and per refused call) to a file.
public final class AuditLog: Sendable {
  private let handle: Mutex<FileHandle>

  /// Opens (creating) the log at `path`, for appending.
  public init(path: String) throws {
    if !FileManager.default.fileExists(atPath: path) {
      _ = FileManager.default.createFile(
        atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
    }
    guard let handle = FileHandle(forWritingAtPath: path) else {
      throw ServerStartupError(description: "\(path): cannot open the audit log for writing")
    }
    handle.seekToEndOfFile()
    self.handle = Mutex(handle)
  }

  func record(principal: String, method: String, peer: String, outcome: String, required: Role) {
    let entry: [String: String] = [
      "time": Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
      "principal": principal, "method": method, "peer": peer, "outcome": outcome,
      "required_role": required.rawValue,
    ]
    guard var line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys])
    else { return }
    line.append(UInt8(ascii: "\n"))
    self.handle.withLock { $0.write(line) }
  }
}
