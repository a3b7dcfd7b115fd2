import ArgumentParser
import Foundation
import PolicyRules

/// `policywatch rules ...`: commands for rule authors.
struct Rules: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check and test rule files; reload a server's rules.",
    subcommands: [Lint.self, Test.self, Show.self, New.self, Reload.self, Status.self]
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

  /// `policywatch rules show FRAMEWORK`
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print a framework's principles and rules as a readable outline.",
      discussion: """
        Example:
          policywatch rules show global-ai-governance --rules rules/

        Exit codes: 0 shown; 1 the rules do not load; 2 unknown framework or bad usage.
        """
    )

    @Argument(help: "The framework id.")
    var framework: String

    @Option(help: "The rules directory.")
    var rules: String = "rules"

    func run() throws {
      let book: RuleBook
      do {
        book = try RuleBookLoader.load(directory: self.rules)
      } catch {
        for diagnostic in error.diagnostics { printError(diagnostic.description) }
        throw ExitCode(1)
      }
      guard let framework = book.framework(self.framework) else {
        printError(
          "policywatch: unknown framework '\(self.framework)'; known frameworks: \(book.frameworks.map(\.id).joined(separator: ", "))"
        )
        throw ExitCode(2)
      }
      var lines = [
        "\(framework.name) (\(framework.id) \(framework.version), \(framework.ruleCount) rules, \((framework.file as NSString).lastPathComponent))"
      ]
      if !framework.description.isEmpty {
        lines.append("  " + framework.description.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      for source in framework.sources {
        lines.append("  source: \(source.title) (\(source.year)) \(source.address)")
      }
      for principle in framework.principles {
        lines.append("")
        lines.append(
          "\(principle.id): \(principle.name) (weight \(principle.weight)\(principle.requiresStructure ? ", needs structure" : ""))"
        )
        for rule in principle.rules {
          lines.append(
            "  \(rule.id) [\(rule.severity.rawValue)\(rule.isStructural ? ", structural" : "")] \(rule.title)"
          )
          if !rule.appliesWhenExpression.isEmpty {
            lines.append(
              "      when: \(rule.appliesWhenExpression.split(separator: "\n").joined(separator: " "))"
            )
          }
          lines.append(
            "      expr: \(rule.expression.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " "))"
          )
        }
      }
      print(lines.joined(separator: "\n"))
    }
  }

  /// `policywatch rules new ID`
  struct New: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a commented starter rule file and its test file.",
      discussion: """
        Creates <dir>/<id>.yaml and <dir>/<id>.test.yaml, which lint and test cleanly; edit them \
        from there (see rules/README.md).

        Example:
          policywatch rules new my-framework --rules rules/

        Exit codes: 0 written; 2 bad id, or the files exist.
        """
    )

    @Argument(help: "The new framework's id (letters, digits, '-', '_', '.').")
    var id: String

    @Option(help: "The rules directory.")
    var rules: String = "rules"

    func validate() throws {
      guard !self.id.isEmpty,
        self.id.unicodeScalars.allSatisfy({
          $0.isASCII
            && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
              || "-_.".unicodeScalars.contains($0))
        })
      else {
        throw ValidationError(
          "'\(self.id)' is not a valid framework id: use letters, digits, '-', '_' and '.'")
      }
    }

    func run() throws {
      let rulePath = (self.rules as NSString).appendingPathComponent("\(self.id).yaml")
      let testPath = (self.rules as NSString).appendingPathComponent("\(self.id).test.yaml")
      for path in [rulePath, testPath] where FileManager.default.fileExists(atPath: path) {
        printError("policywatch: \(path) exists; choose another id or edit it")
        throw ExitCode(2)
      }
      try FileManager.default.createDirectory(atPath: self.rules, withIntermediateDirectories: true)
      try RuleTemplates.ruleFile(id: self.id).write(
        toFile: rulePath, atomically: true, encoding: .utf8)
      try RuleTemplates.testFile(id: self.id).write(
        toFile: testPath, atomically: true, encoding: .utf8)
      print(
        "wrote \(rulePath) and \(testPath)\nnext: policywatch rules lint \(self.rules) && policywatch rules test \(self.rules)"
      )
    }
  }
}

/// The starter files of `rules new`.
enum RuleTemplates {
  static func ruleFile(id: String) -> String {
    """
    # \(id): a new framework. The guide to every key and function is rules/README.md.
    framework:
      id: \(id)
      name: "\(id) (rename me)"
      version: "0.1"          # bump it whenever a rule changes: verdicts record it
      description: What the framework asks of a proposal.
      sources:
        - {title: "The document this framework is written from", year: 2026, address: "https://example.org"}

    # Phrase lists that rules share: lists.<name> in CEL. Matching ignores case and accents, on
    # whole words, and does not count negated or aspirational mentions.
    lists:
      oversight_terms: [human review, human oversight, can override]

    principles:
      - id: oversight
        name: Human oversight
        description: People keep the final say.
        weight: 1
        rules:
          - id: \(id.uppercased().prefix(6))-001
            title: A human reviews the system's outputs
            severity: major      # critical | major | minor | info
            expr: proposal.mentions(lists.oversight_terms)
            message: No mechanism for people to review the outputs
            remediation: Have a named person review outputs that affect individuals.
            references: []
          - id: \(id.uppercased().prefix(6))-002
            title: Someone is accountable
            severity: minor
            expr: proposal.coordinator != ''
            message: "No coordinator is named"
            remediation: Name the body accountable for the proposal.

    """
  }

  static func testFile(id: String) -> String {
    """
    # Tests of \(id).yaml: run with `policywatch rules test <dir>`.
    framework: \(id)
    cases:
      - name: a proposal with oversight and a coordinator passes
        proposal:
          id: T1
          title: A pilot with oversight
          coordinator: A named ministry
          body: A named official performs a human review of every output.
        expect:
          outcome: aligned
          pass: [\(id.uppercased().prefix(6))-001, \(id.uppercased().prefix(6))-002]
      - name: a proposal without oversight fails the rule
        proposal:
          id: T2
          title: A pilot
          body: The system decides automatically.
        expect:
          fail: [\(id.uppercased().prefix(6))-001]

    """
  }
}
