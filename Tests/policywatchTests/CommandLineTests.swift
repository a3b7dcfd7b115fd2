import Foundation
import Testing

/// The result of running the built `policywatch` executable.
struct CommandResult {
  var status: Int32
  var standardOutput: String
  var standardError: String
}

/// Runs the built `policywatch` (beside the test bundle) with `arguments`.
func runPolicyWatch(
  _ arguments: [String], environment: [String: String] = [:], input: String? = nil
) throws
  -> CommandResult
{
  let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("policywatch")
  let process = Process()
  process.executableURL = binary
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let output = Pipe()
  let error = Pipe()
  process.standardOutput = output
  process.standardError = error
  let inputPipe = Pipe()
  process.standardInput = inputPipe
  try process.run()
  inputPipe.fileHandleForWriting.write(Data((input ?? "").utf8))
  try inputPipe.fileHandleForWriting.close()
  let outData = output.fileHandleForReading.readDataToEndOfFile()
  let errData = error.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return CommandResult(
    status: process.terminationStatus,
    standardOutput: String(decoding: outData, as: UTF8.self),
    standardError: String(decoding: errData, as: UTF8.self)
  )
}

@Suite struct CommandLineTests {
  @Test func helpListsTheCommands() throws {
    let result = try runPolicyWatch(["--help"])
    #expect(result.status == 0)
    #expect(result.standardOutput.contains("serve"))
    #expect(result.standardOutput.contains("health"))
  }

  @Test func serveRejectsAMalformedListenAddress() throws {
    let result = try runPolicyWatch(["serve", "--listen", "nonsense"])
    #expect(result.status == 64)
    #expect(result.standardError.contains("--listen 'nonsense' is not host:port"))
  }

  @Test func healthSaysWhichAddressItCouldNotReach() throws {
    // Port 1 on loopback: nothing listens there.
    let result = try runPolicyWatch(["health", "--server", "127.0.0.1:1", "--timeout", "2"])
    #expect(result.status == 3)
    #expect(result.standardError.contains("cannot reach a server at 127.0.0.1:1"))
    #expect(result.standardError.contains("policywatch serve"))
  }
}

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent()
  .deletingLastPathComponent()
let shippedRules = packageRoot.appendingPathComponent("rules").path

@Suite struct RulesCommandTests {
  @Test func lintPassesOnTheShippedRules() throws {
    let result = try runPolicyWatch(["rules", "lint", shippedRules])
    #expect(result.status == 0, "\(result.standardError)")
    #expect(result.standardOutput.contains("5 framework(s)"))
  }

  @Test func testPassesOnTheShippedRules() throws {
    let result = try runPolicyWatch(["rules", "test", shippedRules])
    #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
    #expect(result.standardOutput.contains(" passed, 0 failed"))
  }

  @Test func lintReportsABrokenCopyWithPositions() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "pw-lint-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let original = try String(contentsOfFile: "\(shippedRules)/nist-ai-rmf.yaml", encoding: .utf8)
    let broken = original.replacingOccurrences(
      of: "expr: proposal.coordinator != ''", with: "expr: proposal.coordinater != ''")
    try broken.write(
      to: directory.appendingPathComponent("nist-ai-rmf.yaml"), atomically: true, encoding: .utf8)
    let result = try runPolicyWatch(["rules", "lint", directory.path])
    #expect(result.status == 1)
    let line = try #require(
      result.standardError.split(separator: "\n").first { $0.contains("coordinater") })
    #expect(line.contains("nist-ai-rmf.yaml:"))
    #expect(
      line.contains(
        ": error: expr of rule 'NIST-GOV-1': no field 'coordinater' on Proposal; did you mean 'coordinator'?"
      ))
  }

  @Test func checkExplainsTheArticleWithQuotes() throws {
    let article = packageRoot.deletingLastPathComponent().appendingPathComponent(
      "shared/corpus/ai-governance-article.txt"
    ).path
    let result = try runPolicyWatch([
      "check", article, "--rules", shippedRules, "--explain", "--framework", "global-ai-governance",
    ])
    #expect(result.status == 0 || result.status == 1)
    #expect(result.standardOutput.contains("global-ai-governance 2026.1: PARTIALLY_ALIGNED"))
    #expect(result.standardOutput.contains("body: \""))
  }

  @Test func checkGivesJSONAndExitCodesForCI() throws {
    let p03 = "\(shippedRules)/proposals/P03.yaml"
    let result = try runPolicyWatch([
      "check", p03, "--rules", shippedRules, "--format", "json", "--framework",
      "global-ai-governance",
    ])
    #expect(result.status == 1)
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    let verdicts = try #require(json["verdicts"] as? [[String: Any]])
    #expect(verdicts.first?["outcome"] as? String == "OUTCOME_NOT_ALIGNED")
    let p01 = try runPolicyWatch([
      "check", "\(shippedRules)/proposals/P01.yaml", "--rules", shippedRules, "--framework",
      "global-ai-governance",
    ])
    #expect(p01.status == 0)
  }

  @Test func checkReportsMalformedProposalsWithFileLineColumn() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "pw-bad-\(UUID().uuidString).yaml")
    try "id: X\nparticipants:\n  - [Kenya, statee]\n".write(
      to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let result = try runPolicyWatch(["check", file.path, "--rules", shippedRules])
    #expect(result.status == 2)
    #expect(
      result.standardError.contains(
        "\(file.path):3:13: error: proposal.participants[0].kind is 'statee'"))
  }
}

/// A `policywatch serve` subprocess on a free loopback port.
final class ServerProcess {
  let process = Process()
  let address: String

  init() throws {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("policywatch")
    let data = FileManager.default.temporaryDirectory.appendingPathComponent(
      "pw-cli-\(UUID().uuidString)"
    ).path
    self.process.executableURL = binary
    self.process.arguments = [
      "serve", "--listen", "127.0.0.1:0", "--rules", shippedRules, "--data-dir", data,
    ]
    let pipe = Pipe()
    self.process.standardError = pipe
    try self.process.run()
    var buffer = ""
    let handle = pipe.fileHandleForReading
    while true {
      let chunk = handle.availableData
      if chunk.isEmpty { throw CocoaError(.fileReadUnknown) }
      buffer += String(decoding: chunk, as: UTF8.self)
      if let range = buffer.range(of: "msg=listening"),
        let addressRange = buffer[range.upperBound...].range(of: "address=")
      {
        let rest = buffer[addressRange.upperBound...]
        self.address = String(rest.prefix { !$0.isWhitespace })
        break
      }
    }
  }

  deinit {
    self.process.terminate()
    self.process.waitUntilExit()
  }
}

@Suite(.serialized) struct RemoteCommandTests {
  @Test func checkGivesTheSameVerdictsLocallyAndAgainstAServer() throws {
    let server = try ServerProcess()
    let p01 = "\(shippedRules)/proposals/P01.yaml"
    let local = try runPolicyWatch(["check", p01, "--rules", shippedRules, "--format", "json"])
    let remote = try runPolicyWatch(["check", p01, "--server", server.address, "--format", "json"])
    #expect(local.status == 0 && remote.status == 0, "\(remote.standardError)")
    func normalized(_ text: String) throws -> [[String: AnyHashable]] {
      let json = try #require(
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
      let verdicts = try #require(json["verdicts"] as? [[String: Any]])
      return verdicts.map { verdict in
        var copy = verdict
        copy.removeValue(forKey: "created_at")
        // The server records who asked ("anonymous" without authentication).
        copy.removeValue(forKey: "requested_by")
        return copy.compactMapValues { $0 as? AnyHashable }
      }
    }
    #expect(try normalized(local.standardOutput) == normalized(remote.standardOutput))
  }

  @Test func storedVerdictsCanBeListedAndShown() throws {
    let server = try ServerProcess()
    let p03 = "\(shippedRules)/proposals/P03.yaml"
    let stored = try runPolicyWatch([
      "check", p03, "--server", server.address, "--store", "--framework", "nist-ai-rmf",
    ])
    #expect(stored.status == 1 || stored.status == 0)
    let list = try runPolicyWatch([
      "verdicts", "list", "--server", server.address, "--format", "json",
    ])
    #expect(list.status == 0)
    let line = try #require(list.standardOutput.split(separator: "\n").first)
    let verdict = try #require(
      try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(verdict["proposal_id"] as? String == "P03")
    let id = try #require(verdict["id"] as? String)
    let show = try runPolicyWatch(["verdicts", "show", id, "--server", server.address])
    #expect(show.status == 0)
    #expect(show.standardOutput.contains("nist-ai-rmf"))
    let missing = try runPolicyWatch(["verdicts", "show", "no-such-id", "--server", server.address])
    #expect(missing.status == 2)
  }

  @Test func anUnreachableServerIsExitCodeThree() throws {
    let result = try runPolicyWatch([
      "check", "\(shippedRules)/proposals/P01.yaml", "--server", "127.0.0.1:1",
    ])
    #expect(result.status == 3)
    #expect(result.standardError.contains("cannot reach a server at 127.0.0.1:1"))
  }
}

@Suite struct AuthoringCommandTests {
  @Test func rulesNewWritesFilesThatLintAndTest() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "pw-new-\(UUID().uuidString)"
    ).path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let created = try runPolicyWatch(["rules", "new", "my-framework", "--rules", directory])
    #expect(created.status == 0, "\(created.standardError)")
    #expect(try runPolicyWatch(["rules", "lint", directory]).status == 0)
    let tested = try runPolicyWatch(["rules", "test", directory])
    #expect(tested.status == 0, "\(tested.standardOutput)")
    #expect(tested.standardOutput.contains("2 passed, 0 failed"))
    #expect(try runPolicyWatch(["rules", "new", "my-framework", "--rules", directory]).status == 2)
    #expect(try runPolicyWatch(["rules", "new", "bad id!", "--rules", directory]).status == 64)
  }

  @Test func rulesShowOutlinesAFramework() throws {
    let result = try runPolicyWatch([
      "rules", "show", "global-ai-governance", "--rules", shippedRules,
    ])
    #expect(result.status == 0)
    #expect(
      result.standardOutput.contains(
        "MUL-001 [critical, structural] At least three member states take part"))
    let unknown = try runPolicyWatch(["rules", "show", "nope", "--rules", shippedRules])
    #expect(unknown.status == 2)
    #expect(unknown.standardError.contains("known frameworks: eu-ai-act"))
  }

  @Test func yamlOutputAndNoColourWhenPiped() throws {
    let p01 = "\(shippedRules)/proposals/P01.yaml"
    let yaml = try runPolicyWatch([
      "check", p01, "--rules", shippedRules, "--format", "yaml", "--framework", "nist-ai-rmf",
    ])
    #expect(yaml.status == 0)
    #expect(yaml.standardOutput.contains("framework_id: nist-ai-rmf"))
    let table = try runPolicyWatch(["check", p01, "--rules", shippedRules])
    #expect(!table.standardOutput.contains("\u{1B}["))
    let stdin = try runPolicyWatch(
      ["check", "-", "--rules", shippedRules, "--framework", "nist-ai-rmf"],
      input: "id: S\ntitle: From stdin\n")
    #expect(stdin.standardOutput.contains("S: From stdin"))
  }
}
