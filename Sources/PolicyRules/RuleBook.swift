import CEL
import Crypto
import Foundation
import PolicyWatchAPI

/// A rule, compiled. A class, so that the engine's loops over rules do not copy its fields.
public final class CompiledRule: Sendable {
  public let id: String
  public let title: String
  public let severity: RuleSeverity
  public let remediation: String
  public let references: [String]
  /// The CEL sources, as written.
  public let expression: String
  public let appliesWhenExpression: String
  /// Whether the rule reads the proposal's structure (participants, commitments, dates...):
  /// such a rule is not applicable to a text-only proposal, and structure is what a principle
  /// needs to pass (text alone never proves a commitment).
  public let isStructural: Bool
  /// The message template, as written.
  public let messageTemplate: String
  let program: CELProgram
  let appliesWhen: CELProgram?
  let message: [MessagePart]
  /// The phrases the rule's text functions look for; their matches are its evidence.
  let evidencePhrases: [String]
  /// The structural fields the rule reads, cited as evidence.
  let structuralFieldsRead: [String]

  init(
    id: String, title: String, severity: RuleSeverity, remediation: String, references: [String],
    expression: String, appliesWhenExpression: String, isStructural: Bool, messageTemplate: String,
    program: CELProgram, appliesWhen: CELProgram?, message: [MessagePart],
    evidencePhrases: [String],
    structuralFieldsRead: [String]
  ) {
    self.id = id
    self.title = title
    self.severity = severity
    self.remediation = remediation
    self.references = references
    self.expression = expression
    self.appliesWhenExpression = appliesWhenExpression
    self.isStructural = isStructural
    self.messageTemplate = messageTemplate
    self.program = program
    self.appliesWhen = appliesWhen
    self.message = message
    self.evidencePhrases = evidencePhrases
    self.structuralFieldsRead = structuralFieldsRead
  }
}

enum MessagePart: Sendable {
  case text(String)
  case value(CELProgram)
}

/// A principle of a framework, compiled.
public struct CompiledPrinciple: Sendable {
  public let id: String
  public let name: String
  public let description: String
  public let weight: Double
  public let rules: [CompiledRule]
  /// Whether the principle passes only when one of its structural rules passes.
  public let requiresStructure: Bool
}

/// A framework, compiled: its metadata, principles, scoring and the values of its lists.
public struct CompiledFramework: Sendable {
  public let id: String
  public let name: String
  public let version: String
  public let description: String
  public let sources: [(title: String, year: Int32, address: String)]
  public let principles: [CompiledPrinciple]
  public let scoring: Scoring
  /// The file it was loaded from, as given.
  public let file: String
  /// Hex SHA-256 of the framework's canonical content.
  public let contentHash: String
  /// The phrase lists by name.
  public let lists: [String: [String]]
  let environment: CELEnvironment
  let listsValue: CELValue

  /// How many rules it has.
  public var ruleCount: Int { self.principles.reduce(0) { $0 + $1.rules.count } }
}

/// The phrase lists of one framework as a CEL object: `lists.global_south_states`.
final class ListsObject: CELObject {
  let objectType: CELObjectType
  let values: [CELValue]

  init(type: CELObjectType, lists: [(name: String, phrases: [String])]) {
    self.objectType = type
    self.values = lists.map { .list($0.phrases.map { .string($0) }) }
  }

  func value(ofField index: Int) -> CELValue { self.values[index] }
  func hasValue(ofField index: Int) -> Bool { true }
}

/// Every framework of a rules directory, compiled, checked and immutable: safe to share between
/// any number of concurrent evaluations, and swapped whole when the rules change.
public struct RuleBook: Sendable {
  /// The frameworks, ordered by id.
  public let frameworks: [CompiledFramework]
  /// Hex SHA-256 over the frameworks' content hashes: changes when any rule changes, not when
  /// only comments or layout do.
  public let revision: String
  /// All phrases of all lists and text functions, in one automaton.
  public let matcher: PhraseMatcher
  /// Warnings found while loading.
  public let warnings: [Diagnostic]

  /// The framework with this id.
  public func framework(_ id: String) -> CompiledFramework? {
    self.frameworks.first { $0.id == id }
  }
}

/// Loads rule files into a ``RuleBook``, reporting every problem of every file at once.
public enum RuleBookLoader {
  /// The cost budget of one rule evaluation; a rule whose static estimate exceeds it is an
  /// error at load time.
  public static let ruleCostBudget = 10_000_000

  /// Loads every `*.yaml`/`*.yml` file of `directory` except `*.test.yaml` files.
  public static func load(directory: String) throws(DiagnosticsError) -> RuleBook {
    let files: [String]
    do {
      files = try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter {
          ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.hasSuffix(".test.yaml")
            && !$0.hasSuffix(".test.yml")
        }
        .sorted()
    } catch {
      throw DiagnosticsError([
        Diagnostic(
          file: directory, line: 0, column: 0,
          message: "cannot read the rules directory: \(error.localizedDescription)")
      ])
    }
    var inputs: [(path: String, text: String)] = []
    var diagnostics: [Diagnostic] = []
    for file in files {
      let path = (directory as NSString).appendingPathComponent(file)
      do {
        inputs.append((path, try String(contentsOfFile: path, encoding: .utf8)))
      } catch {
        diagnostics.append(
          Diagnostic(
            file: path, line: 0, column: 0,
            message: "cannot read the file: \(error.localizedDescription)"))
      }
    }
    if inputs.isEmpty && diagnostics.isEmpty {
      diagnostics.append(
        Diagnostic(
          file: directory, line: 0, column: 0, message: "no rule files (*.yaml) in the directory"))
    }
    if !diagnostics.isEmpty { throw DiagnosticsError(diagnostics) }
    return try self.load(files: inputs)
  }

  /// Loads rule files given as text (`path` names them in diagnostics).
  public static func load(files: [(path: String, text: String)]) throws(DiagnosticsError)
    -> RuleBook
  {
    var diagnostics: [Diagnostic] = []
    var models: [RuleFileModel] = []
    for file in files {
      let (model, problems) = RuleFileParser.parse(path: file.path, text: file.text)
      diagnostics.append(contentsOf: problems)
      if let model { models.append(model) }
    }
    var seen: [String: String] = [:]
    var seenRules: [String: (String, String)] = [:]
    for model in models where !model.id.isEmpty {
      if let other = seen[model.id] {
        diagnostics.append(
          Diagnostic(
            file: model.path, line: 1, column: 1,
            message: "framework id '\(model.id)' is also defined in \(other)"))
      }
      seen[model.id] = model.path
      for principle in model.principles {
        for rule in principle.rules where !rule.id.isEmpty {
          if let (otherFile, otherFramework) = seenRules[rule.id], otherFramework != model.id {
            diagnostics.append(
              Diagnostic(
                file: model.path, line: rule.line, column: rule.column,
                message:
                  "rule id '\(rule.id)' is also used in \(otherFile); rule ids must be unique in a rule book"
              ))
          }
          seenRules[rule.id] = (model.path, model.id)
        }
      }
    }

    // Every phrase of every list, and every literal phrase of a text function, in one matcher.
    var phrases: [String] = []
    for model in models {
      for list in model.lists { phrases.append(contentsOf: list.phrases) }
    }
    let compiled = models.compactMap { model -> (RuleFileModel, [String])? in
      (model, [])
    }
    var literalPhrases: [String] = []
    for (model, _) in compiled {
      for principle in model.principles {
        for rule in principle.rules {
          literalPhrases.append(contentsOf: literalPhraseArguments(rule.expr.text))
          if let applies = rule.appliesWhen {
            literalPhrases.append(contentsOf: literalPhraseArguments(applies.text))
          }
        }
      }
    }
    let matcher = PhraseMatcher(phrases: phrases + literalPhrases)

    var frameworks: [CompiledFramework] = []
    for model in models {
      let (framework, problems) = self.compile(model, matcher: matcher)
      diagnostics.append(contentsOf: problems)
      if let framework { frameworks.append(framework) }
    }
    let errors = diagnostics.filter { $0.severity == .error }
    if !errors.isEmpty {
      throw DiagnosticsError(
        diagnostics.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) })
    }
    frameworks.sort { $0.id < $1.id }
    let revision = sha256Hex(
      frameworks.map { "\($0.id):\($0.contentHash)" }.joined(separator: "\n"))
    return RuleBook(
      frameworks: frameworks, revision: revision, matcher: matcher, warnings: diagnostics)
  }

  /// String literals passed directly to the text functions (`proposal.mentions('x')`,
  /// `proposal.mentions(['a', 'b'])`), found by parsing.
  static func literalPhraseArguments(_ source: String) -> [String] {
    guard let parsed = try? CELParser.parse(source) else { return [] }
    var phrases: [String] = []
    func visit(_ expr: CELExpr) {
      switch expr.kind {
      case .call(let function, let target, let args):
        if TextFunctions.names.contains(function), target != nil {
          for arg in args {
            switch arg.kind {
            case .literal(.string(let s)): phrases.append(s)
            case .list(let elements):
              for element in elements {
                if case .literal(.string(let s)) = element.kind { phrases.append(s) }
              }
            default: break
            }
          }
        }
        if let target { visit(target) }
        args.forEach(visit)
      case .select(let operand, _, _): visit(operand)
      case .list(let elements): elements.forEach(visit)
      case .map(let entries):
        for entry in entries {
          visit(entry.key)
          visit(entry.value)
        }
      case .object(_, let fields):
        for field in fields { visit(field.value) }
      case .comprehension(let c):
        [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].forEach(visit)
      case .literal, .ident: break
      }
    }
    visit(parsed.expr)
    return phrases
  }

  static func environment(lists: [(name: String, phrases: [String])], matcher: PhraseMatcher) -> (
    CELEnvironment, CELValue
  ) {
    var env = CELEnvironment()
    env.declareObjectType(ProposalSchema.participant)
    env.declareObjectType(ProposalSchema.commitment)
    env.declareObjectType(ProposalSchema.proposal)
    env.declareVariable("proposal", type: .object(ProposalSchema.proposal.name))
    let listsType = CELObjectType(name: "lists", fields: lists.map { ($0.name, .list(.string)) })
    env.declareObjectType(listsType)
    env.declareVariable("lists", type: .object("lists"))
    env.costBudget = ruleCostBudget
    env.sizeHints = ProposalSchema.sizeHints
    for list in lists { env.sizeHints["lists.\(list.name)"] = list.phrases.count }
    TextFunctions.declare(in: &env, matcher: matcher)
    return (env, .object(ListsObject(type: listsType, lists: lists)))
  }

  static func compile(_ model: RuleFileModel, matcher: PhraseMatcher) -> (
    CompiledFramework?, [Diagnostic]
  ) {
    var diagnostics: [Diagnostic] = []
    let (env, listsValue) = self.environment(
      lists: model.lists.map { ($0.name, $0.phrases) }, matcher: matcher)
    var listNames: [String: [String]] = [:]
    for list in model.lists {
      if listNames[list.name] != nil {
        diagnostics.append(
          Diagnostic(
            file: model.path, line: list.line, column: list.column,
            message: "duplicate list '\(list.name)'"))
      }
      listNames[list.name] = list.phrases
    }

    func compileExpression(_ source: SourceText, ruleID: String, role: String) -> CELProgram? {
      func reject(_ message: String) -> CELProgram? {
        let (line, column) = source.position.filePosition(line: 1, column: 1)
        diagnostics.append(
          Diagnostic(
            file: model.path, line: line, column: column,
            message: "\(role) of rule '\(ruleID)' \(message)"))
        return nil
      }
      do {
        let program = try env.compile(source.text, name: ruleID)
        if program.resultType != .bool && program.resultType != .dyn {
          return reject("must be a bool expression, but it is \(program.resultType)")
        }
        if program.costEstimate.maximum > ruleCostBudget {
          return reject(
            "may cost up to \(program.costEstimate.maximum), more than the budget of \(ruleCostBudget); avoid nesting comprehensions over large lists"
          )
        }
        return program
      } catch let error as CELCompileError {
        for issue in error.issues {
          let (line, column) = source.position.filePosition(
            line: issue.location.line, column: issue.location.column)
          diagnostics.append(
            Diagnostic(
              file: model.path, line: line, column: column,
              message: "\(role) of rule '\(ruleID)': \(describe(issue.message))"))
        }
      } catch {
        diagnostics.append(
          Diagnostic(
            file: model.path, line: source.position.line, column: source.position.column,
            message: "\(error)"))
      }
      return nil
    }

    var principles: [CompiledPrinciple] = []
    var canonical = "framework \(model.id)\nname \(model.name)\nversion \(model.version)\n"
    canonical +=
      "scoring \(model.scoring.severityWeights.sorted { $0.key < $1.key }) \(model.scoring.principlePass) \(model.scoring.principlePartial) \(model.scoring.aligned) \(model.scoring.notAlignedBelow)\n"
    for list in model.lists.sorted(by: { $0.name < $1.name }) {
      canonical += "list \(list.name) \(list.phrases.joined(separator: "\u{1F}"))\n"
    }
    for principle in model.principles {
      canonical +=
        "principle \(principle.id) \(principle.name) \(principle.weight) \(principle.evidence ?? "")\n"
      var rules: [CompiledRule] = []
      for rule in principle.rules {
        canonical +=
          "rule \(rule.id) \(rule.severity.rawValue) \(rule.appliesWhen?.text ?? "")\u{1F}\(rule.expr.text)\u{1F}\(rule.message?.text ?? "")\u{1F}\(rule.remediation)\u{1F}\(rule.title)\n"
        let program = compileExpression(rule.expr, ruleID: rule.id, role: "expr")
        let applies = rule.appliesWhen.flatMap {
          compileExpression($0, ruleID: rule.id, role: "applies_when")
        }
        let message = self.compileMessage(
          rule.message, env: env, ruleID: rule.id, file: model.path, diagnostics: &diagnostics)
        guard let program, rule.appliesWhen == nil || applies != nil else { continue }
        let analysis = RuleAnalysis(program.parsed.expr, lists: listNames)
        let appliesAnalysis = applies.map { RuleAnalysis($0.parsed.expr, lists: listNames) }
        rules.append(
          CompiledRule(
            id: rule.id, title: rule.title, severity: rule.severity, remediation: rule.remediation,
            references: rule.references, expression: rule.expr.text,
            appliesWhenExpression: rule.appliesWhen?.text ?? "",
            isStructural: analysis.isStructural || (appliesAnalysis?.isStructural ?? false),
            messageTemplate: rule.message?.text ?? "", program: program, appliesWhen: applies,
            message: message,
            evidencePhrases: analysis.phrases, structuralFieldsRead: analysis.structuralFields))
      }
      let hasStructural = rules.contains { $0.isStructural }
      principles.append(
        CompiledPrinciple(
          id: principle.id, name: principle.name, description: principle.description,
          weight: principle.weight,
          rules: rules,
          requiresStructure: (principle.evidence ?? "structural") == "structural" && hasStructural))
    }
    if diagnostics.contains(where: { $0.severity == .error }) { return (nil, diagnostics) }
    return (
      CompiledFramework(
        id: model.id, name: model.name, version: model.version, description: model.description,
        sources: model.sources.map { ($0.title, $0.year, $0.address) }, principles: principles,
        scoring: model.scoring,
        file: model.path, contentHash: sha256Hex(canonical), lists: listNames, environment: env,
        listsValue: listsValue),
      diagnostics
    )
  }

  /// `Only {{ size(proposal.states) }} states take part`: literal text and CEL parts.
  static func compileMessage(
    _ source: SourceText?,
    env: CELEnvironment,
    ruleID: String,
    file: String,
    diagnostics: inout [Diagnostic]
  ) -> [MessagePart] {
    guard let source else { return [] }
    var parts: [MessagePart] = []
    var rest = Substring(source.text)
    var consumed = ""
    while let open = rest.range(of: "{{") {
      parts.append(.text(String(rest[..<open.lowerBound])))
      consumed += rest[..<open.upperBound]
      guard let close = rest[open.upperBound...].range(of: "}}") else {
        let (line, column) = source.position.filePosition(line: 1, column: 1)
        diagnostics.append(
          Diagnostic(
            file: file, line: line, column: column,
            message: "message of rule '\(ruleID)' has '{{' without '}}'"))
        return parts
      }
      let expression = String(rest[open.upperBound..<close.lowerBound])
      do {
        parts.append(.value(try env.compile(expression, name: ruleID)))
      } catch let error as CELCompileError {
        let lines = consumed.split(separator: "\n", omittingEmptySubsequences: false)
        for issue in error.issues {
          let innerLine = lines.count + issue.location.line - 1
          let innerColumn =
            issue.location.line == 1
            ? (lines.last?.count ?? 0) + issue.location.column : issue.location.column
          let (line, column) = source.position.filePosition(line: innerLine, column: innerColumn)
          diagnostics.append(
            Diagnostic(
              file: file, line: line, column: column,
              message: "message of rule '\(ruleID)': \(describe(issue.message))"))
        }
      } catch {}
      consumed += rest[open.upperBound..<close.upperBound]
      rest = rest[close.upperBound...]
    }
    parts.append(.text(String(rest)))
    return parts
  }

  /// Rewords the checker's messages in the terms of rule files.
  static func describe(_ message: String) -> String {
    if message.hasPrefix("no field '"), message.contains("' on lists") {
      return message.replacingOccurrences(of: "no field", with: "unknown list")
        .replacingOccurrences(of: " on lists", with: "")
    }
    return message.replacingOccurrences(of: "on Proposal;", with: "on Proposal;")
  }
}

/// What a rule's expression reads: structural fields, and the phrases of its text functions.
struct RuleAnalysis {
  var isStructural = false
  var structuralFields: [String] = []
  var phrases: [String] = []

  init(_ expr: CELExpr, lists: [String: [String]]) {
    self.visit(expr, lists: lists)
  }

  private mutating func visit(_ expr: CELExpr, lists: [String: [String]]) {
    switch expr.kind {
    case .select(let operand, let field, _):
      if case .ident("proposal") = operand.kind, ProposalSchema.structuralFields.contains(field) {
        self.isStructural = true
        if !self.structuralFields.contains(field) { self.structuralFields.append(field) }
      }
      self.visit(operand, lists: lists)
    case .call(let function, let target, let args):
      if TextFunctions.names.contains(function), let target, case .ident("proposal") = target.kind {
        for arg in args { self.collectPhrases(arg, lists: lists) }
      }
      if let target { self.visit(target, lists: lists) }
      for arg in args { self.visit(arg, lists: lists) }
    case .list(let elements):
      for element in elements { self.visit(element, lists: lists) }
    case .map(let entries):
      for entry in entries {
        self.visit(entry.key, lists: lists)
        self.visit(entry.value, lists: lists)
      }
    case .object(_, let fields):
      for field in fields { self.visit(field.value, lists: lists) }
    case .comprehension(let c):
      for part in [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result] {
        self.visit(part, lists: lists)
      }
    case .literal, .ident:
      break
    }
  }

  private mutating func collectPhrases(_ arg: CELExpr, lists: [String: [String]]) {
    switch arg.kind {
    case .literal(.string(let s)): self.phrases.append(s)
    case .list(let elements):
      for element in elements {
        if case .literal(.string(let s)) = element.kind { self.phrases.append(s) }
      }
    case .select(let operand, let name, false):
      if case .ident("lists") = operand.kind, let phrases = lists[name] {
        self.phrases.append(contentsOf: phrases)
      }
    case .call("_+_", nil, let args):
      for inner in args { self.collectPhrases(inner, lists: lists) }
    default:
      break
    }
  }
}

func sha256Hex(_ text: String) -> String { sha256Hex(Data(text.utf8)) }

func sha256Hex(_ data: Data) -> String {
  SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}
