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
