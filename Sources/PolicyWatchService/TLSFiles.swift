import Foundation
import GRPCNIOTransportHTTP2
import NIOCertificateReloading
import NIOSSL
import Synchronization

/// The server's TLS files: its certificate chain and key, and for mutual TLS the CA that client
/// certificates must be signed by.
public struct TLSFiles: Sendable {
  /// PEM certificate chain, leaf first.
  public var certificate: String
  /// PEM private key.
  public var key: String
  /// PEM CA certificates for client certificates; mutual TLS when set.
  public var clientCA: String?

  public init(certificate: String, key: String, clientCA: String? = nil) {
    self.certificate = certificate
    self.key = key
    self.clientCA = clientCA
  }

  /// The transport security, with a reloader that serves the files' current contents to each
  /// new connection (``CertificateFiles/reload()`` re-reads them; live connections keep theirs).
  func transportSecurity(reloader: CertificateFiles) -> HTTP2ServerTransport.Posix.TransportSecurity
  {
    .tls(
      certificateChain: [.file(path: self.certificate, format: .pem)],
      privateKey: .file(path: self.key, format: .pem)
    ) { config in
      config.certificateReloader = reloader
      if let clientCA = self.clientCA {
        // A client must present a certificate signed by this CA, or the handshake fails.
        config.clientCertificateVerification = .noHostnameVerification
        config.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
      }
    }
  }
}

/// The server certificate and key as last read from their files.
public final class CertificateFiles: CertificateReloader, Sendable {
  let files: TLSFiles
  private let current: Mutex<NIOSSLContextConfigurationOverride>

  /// Reads the files; throws with the file named when one does not load.
  public init(files: TLSFiles) throws {
    self.files = files
    self.current = Mutex(try Self.read(files))
  }

  public var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
    self.current.withLock { $0 }
  }

  /// Reads the files again; on error the previous certificate stays in use.
  public func reload() throws {
    let loaded = try Self.read(self.files)
    self.current.withLock { $0 = loaded }
  }

  static func read(_ files: TLSFiles) throws -> NIOSSLContextConfigurationOverride {
    var override = NIOSSLContextConfigurationOverride()
    do {
      let chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
      guard !chain.isEmpty else {
        throw ServerStartupError(description: "\(files.certificate): no PEM certificate in it")
      }
      override.certificateChain = chain.map { .certificate($0) }
    } catch let error as ServerStartupError {
      throw error
    } catch {
      throw ServerStartupError(
        description: "\(files.certificate): not a PEM certificate chain: \(error)")
    }
    do {
      override.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.key, format: .pem))
    } catch {
      throw ServerStartupError(description: "\(files.key): not a PEM private key: \(error)")
    }
    if let clientCA = files.clientCA {
      do {
        _ = try NIOSSLCertificate.fromPEMFile(clientCA)
      } catch {
        throw ServerStartupError(description: "\(clientCA): not a PEM CA certificate: \(error)")
      }
    }
    return override
  }
}
