import Foundation
import Testing

/// The result of running the built `policywatch` executable.
struct CommandResult {
  var status: Int32
  var standardOutput: String
  var standardError: String
}

/// Runs the built `policywatch` (beside the test bundle) with `arguments`.
func runPolicyWatch(_ arguments: [String], environment: [String: String] = [:]) throws
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
  try process.run()
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
