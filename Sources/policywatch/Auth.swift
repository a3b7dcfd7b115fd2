import ArgumentParser
import Foundation
import PolicyWatchService

/// `policywatch auth ...`: helpers for the callers file of `serve --auth-config`.
struct Auth: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Make tokens for the callers file of `serve --auth-config`.",
    subcommands: [Token.self]
  )

  /// `policywatch auth token`
  struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a random bearer token, or hash one read from standard input.",
      discussion: """
        Prints the token (give it to the caller, keep it secret) and a `tokens:` entry with its \
        SHA-256 for the callers file: the server stores only the hash.

        Examples:
          policywatch auth token --name ci-pipeline --role evaluator
          printf %s "$EXISTING_TOKEN" | policywatch auth token --name dashboard --role reader --stdin
        """
    )

    @Option(help: "The principal's name, recorded as requested_by on its verdicts.")
    var name: String

    @Option(help: "reader, evaluator or admin.")
    var role: String

    @Flag(help: "Hash the token read from standard input instead of making one.")
    var stdin = false

    func validate() throws {
      guard Role(rawValue: self.role) != nil else {
        throw ValidationError("--role '\(self.role)': expected reader, evaluator or admin")
      }
    }

    func run() throws {
      let token: String
      if self.stdin {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        token = String(decoding: data, as: UTF8.self).trimmingCharacters(
          in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
          printError("policywatch: no token on standard input")
          throw ExitCode(2)
        }
      } else {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        token = "pw_" + bytes.map { String(format: "%02x", $0) }.joined()
        print("token: \(token)")
      }
      print(
        """
        tokens:
          - name: \(self.name)
            sha256: \(AccessPolicy.digest(ofToken: token))
            role: \(self.role)
        """)
    }
  }
}
