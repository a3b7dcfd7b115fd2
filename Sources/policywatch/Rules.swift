import ArgumentParser
import Foundation
import PolicyRules

/// `policywatch rules ...`: commands for rule authors.
struct Rules: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check and test rule files.",
    subcommands: [Lint.self, Test.self]
  )

  /// `policywatch rules lint DIR`
  struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Load and check every rule file of a directory.",
      discussion: """
        Reports every problem of every file at once, one per line as \
        file:line:col: severity: message (unknown keys, missing fields, duplicate ids, CEL syntax \
        and type errors, non-bool expressions, unknown lists, rules over the cost budget).

        Exit codes: 0 no errors (warnings allowed); 1 errors found; 2 bad usage.

        Example:
          policywatch rules lint rules/
        """
    )

    @Argument(help: "The rules directory.")
    var directory: String = "rules"

    func run() throws {
      do {
        let book = try RuleBookLoader.load(directory: self.directory)
        for warning in book.warnings { printError(warning.description) }
        let rules = book.frameworks.reduce(0) { $0 + $1.ruleCount }
        print(
          "\(self.directory): \(book.frameworks.count) framework(s), \(rules) rule(s), revision \(book.revision.prefix(12)): OK"
        )
      } catch {
        for diagnostic in error.diagnostics { printError(diagnostic.description) }
        let errors = error.diagnostics.filter { $0.severity == .error }.count
        printError("\(errors) error(s)")
        throw ExitCode(1)
      }
    }
  }

  /// `policywatch rules test DIR`
  struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the rule files' tests (<framework>.test.yaml).",
      discussion: """
        Loads the rules of the directory, evaluates each test case's proposal and compares the \
        verdict with what the case expects: the framework outcome, principle outcomes, and rule \
        ids that pass, fail or do not apply. Failures are printed with the rule results and the \
        evidence behind them.

        Exit codes: 0 all cases pass; 1 a case failed or a file has errors; 2 bad usage.

        Example:
          policywatch rules test rules/
        """
    )

    @Argument(help: "The rules directory.")
    var directory: String = "rules"

    func run() throws {
      let book: RuleBook
      do {
        book = try RuleBookLoader.load(directory: self.directory)
      } catch {
        for diagnostic in error.diagnostics { printError(diagnostic.description) }
        throw ExitCode(1)
      }
      let report = RuleTestRunner.run(directory: self.directory, book: book)
      for diagnostic in report.diagnostics { printError(diagnostic.description) }
      for result in report.cases {
        if result.passed {
          print("PASS \(result.framework): \(result.name)")
          continue
        }
        print(
          "FAIL \(result.framework): \(result.name) (\(result.file):\(result.line):\(result.column))"
        )
        for failure in result.failures { print("  - \(failure)") }
        if let verdict = result.verdict {
          for principle in verdict.principles {
            print(
              "    \(principle.principleID): \(RuleTestRunner.name(of: principle.outcome)) (\(principle.score))"
            )
            for rule in principle.rules {
              print(
                "      \(rule.ruleID) \(RuleTestRunner.name(of: rule.outcome))\(rule.message.isEmpty ? "" : ": \(rule.message)")"
              )
              for evidence in rule.evidence where !evidence.quote.isEmpty {
                print(
                  "        \(evidence.negated ? "(not counted) " : "")\(evidence.fieldPath): \"\(evidence.quote)\""
                )
              }
            }
          }
        }
      }
      let failed = report.cases.filter { !$0.passed }.count
      print("\(report.cases.count - failed) passed, \(failed) failed")
      if !report.passed { throw ExitCode(1) }
    }
  }
}
