import Foundation
import PolicyWatchAPI
import Yams

/// How much a failing rule matters, and its weight in scores.
public enum RuleSeverity: String, Sendable, CaseIterable {
  case critical, major, minor, info

  public var api: Policywatch_V1_Severity {
    switch self {
    case .critical: return .critical
    case .major: return .major
    case .minor: return .minor
    case .info: return .info
    }
  }
}

/// CEL source text from a rule file, with where it stands in the file.
struct SourceText: Sendable {
  var text: String
  var position: ScalarPosition
}

/// A rule file as written, before compilation.
struct RuleFileModel {
  struct Source: Sendable {
    var title: String
    var year: Int32
    var address: String
  }

  struct Rule {
    var id: String
    var title: String
    var severity: RuleSeverity
    var appliesWhen: SourceText?
    var expr: SourceText
    var message: SourceText?
    var remediation: String
    var references: [String]
    var line: Int
    var column: Int
  }

  struct Principle {
    var id: String
    var name: String
    var description: String
    var weight: Double
    /// `structural` (default when the principle has structural rules): it passes only when one
    /// of its structural rules passes. `any`: text evidence may suffice.
    var evidence: String?
    var rules: [Rule]
    var line: Int
    var column: Int
  }

  var path: String
  var id: String
  var name: String
  var version: String
  var description: String
  var sources: [Source]
  var lists: [(name: String, phrases: [String], line: Int, column: Int)]
  var scoring: Scoring
  var principles: [Principle]
}

/// How rule results roll up into scores and outcomes; every field has a default.
public struct Scoring: Sendable, Hashable {
  /// Weight of a rule in its principle's score, by severity.
  public var severityWeights: [String: Double] = ["critical": 5, "major": 3, "minor": 1, "info": 0]
  /// A principle passes at or above this score (and partially at or above `principlePartial`).
  public var principlePass: Double = 80
  public var principlePartial: Double = 25
  /// The framework is aligned at or above this score (with every principle passing), and not
  /// aligned below `notAlignedBelow` (or when a critical rule fails).
  public var aligned: Double = 80
  public var notAlignedBelow: Double = 40

  /// The defaults.
  public init() {}
}

/// Parses one rule file into a model, reporting every problem.
struct RuleFileParser {
  static let topKeys = ["framework", "lists", "principles", "scoring"]
  static let frameworkKeys = ["id", "name", "version", "description", "sources"]
  static let sourceKeys = ["title", "year", "address"]
  static let principleKeys = ["id", "name", "description", "weight", "evidence", "rules"]
  static let ruleKeys = [
    "id", "title", "severity", "applies_when", "expr", "message", "remediation", "references",
  ]
  static let scoringKeys = ["severity_weights", "principle", "framework"]

  static func parse(path: String, text: String) -> (RuleFileModel?, [Diagnostic]) {
    var reader = YAMLReader(path: path, text: text)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let root = reader.root() else { return (nil, reader.diagnostics) }
    guard
      let top = reader.mapping(
        root, "the rule file", allowed: topKeys, required: ["framework", "principles"])
    else {
      return (nil, reader.diagnostics)
    }
    var model = RuleFileModel(
      path: path, id: "", name: "", version: "", description: "", sources: [], lists: [],
      scoring: Scoring(),
      principles: [])

    if let frameworkNode = top["framework"],
      let framework = reader.mapping(
        frameworkNode, "framework", allowed: frameworkKeys, required: ["id", "name", "version"])
    {
      model.id = reader.nonEmptyString(framework["id"], "framework.id") ?? ""
      if let idNode = framework["id"], !model.id.isEmpty, !isIdentifier(model.id) {
        reader.error(
          "framework.id '\(model.id)' may hold only letters, digits, '-', '_' and '.'", at: idNode)
      }
      model.name = reader.nonEmptyString(framework["name"], "framework.name") ?? ""
      model.version = reader.nonEmptyString(framework["version"], "framework.version") ?? ""
      model.description = reader.string(framework["description"], "framework.description") ?? ""
      for (index, node) in (reader.sequence(framework["sources"], "framework.sources") ?? [])
        .enumerated()
      {
        guard
          let source = reader.mapping(
            node, "framework.sources[\(index)]", allowed: sourceKeys, required: ["title"])
        else {
          continue
        }
        model.sources.append(
          RuleFileModel.Source(
            title: reader.string(source["title"], "source title") ?? "",
            year: Int32(reader.integer(source["year"], "source year") ?? 0),
            address: reader.string(source["address"], "source address") ?? ""))
      }
    }

    if let listsNode = top["lists"] {
      if case .mapping(let mapping) = listsNode {
        for (key, value) in mapping {
          guard let name = reader.string(key, "a list name") else { continue }
          if !isCELIdentifier(name) {
            reader.error(
              "list name '\(name)' must be a CEL identifier (letters, digits, '_'; not starting with a digit)",
              at: key)
          }
          let phrases = reader.strings(value, "lists.\(name)") ?? []
          if phrases.isEmpty { reader.warning("lists.\(name) is empty", at: key) }
          model.lists.append((name, phrases, key.mark?.line ?? 0, key.mark?.column ?? 0))
        }
      } else {
        reader.error("lists must be a mapping of list names to lists of phrases", at: listsNode)
      }
    }

    if let scoringNode = top["scoring"] {
      model.scoring = self.scoring(scoringNode, &reader)
    }

    var principleIDs: [String: Node] = [:]
    var ruleIDs: [String: Node] = [:]
    for (index, node) in (reader.sequence(top["principles"], "principles") ?? []).enumerated() {
      let what = "principles[\(index)]"
      guard
        let fields = reader.mapping(
          node, what, allowed: principleKeys, required: ["id", "name", "rules"])
      else { continue }
      var principle = RuleFileModel.Principle(
        id: reader.nonEmptyString(fields["id"], "\(what).id") ?? "",
        name: reader.nonEmptyString(fields["name"], "\(what).name") ?? "",
        description: reader.string(fields["description"], "\(what).description") ?? "",
        weight: reader.number(fields["weight"], "\(what).weight") ?? 1,
        evidence: reader.string(fields["evidence"], "\(what).evidence"),
        rules: [], line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
      if let idNode = fields["id"], !principle.id.isEmpty {
        if let previous = principleIDs[principle.id] {
          reader.error(
            "duplicate principle id '\(principle.id)' (first at line \(previous.mark?.line ?? 0))",
            at: idNode)
        }
        principleIDs[principle.id] = idNode
      }
      if let weightNode = fields["weight"], principle.weight < 0 {
        reader.error("\(what).weight must not be negative", at: weightNode)
      }
      if let evidence = principle.evidence, evidence != "structural", evidence != "any",
        let node = fields["evidence"]
      {
        reader.error("\(what).evidence must be 'structural' or 'any', not '\(evidence)'", at: node)
      }
      let ruleNodes = reader.sequence(fields["rules"], "\(what).rules") ?? []
      if ruleNodes.isEmpty, let rulesNode = fields["rules"] {
        reader.error("principle '\(principle.id)' has no rules", at: rulesNode)
      }
      for (ruleIndex, ruleNode) in ruleNodes.enumerated() {
        let ruleWhat = "rule \(ruleIndex + 1) of principle '\(principle.id)'"
        guard
          let rule = reader.mapping(
            ruleNode, ruleWhat, allowed: ruleKeys, required: ["id", "title", "expr"])
        else {
          continue
        }
        let id = reader.nonEmptyString(rule["id"], "\(ruleWhat): id") ?? ""
        if let idNode = rule["id"], !id.isEmpty {
          if let previous = ruleIDs[id] {
            reader.error(
              "duplicate rule id '\(id)' (first at line \(previous.mark?.line ?? 0))", at: idNode)
          } else if !isIdentifier(id) {
            reader.error(
              "rule id '\(id)' may hold only letters, digits, '-', '_' and '.'", at: idNode)
          }
          ruleIDs[id] = idNode
        }
        var severity = RuleSeverity.major
        if let severityNode = rule["severity"], let text = reader.string(severityNode, "severity") {
          if let parsed = RuleSeverity(rawValue: text) {
            severity = parsed
          } else {
            reader.error(
              "severity of rule '\(id)' is '\(text)'; expected one of: critical, major, minor, info",
              at: severityNode)
          }
        }
        guard let exprNode = rule["expr"],
          let exprText = reader.nonEmptyString(exprNode, "expr of rule '\(id)'")
        else {
          continue
        }
        principle.rules.append(
          RuleFileModel.Rule(
            id: id,
            title: reader.nonEmptyString(rule["title"], "title of rule '\(id)'") ?? "",
            severity: severity,
            appliesWhen: rule["applies_when"].flatMap { node in
              reader.nonEmptyString(node, "applies_when of rule '\(id)'").map {
                SourceText(text: $0, position: ScalarPosition(node: node, fileLines: lines))
              }
            },
            expr: SourceText(
              text: exprText, position: ScalarPosition(node: exprNode, fileLines: lines)),
            message: rule["message"].flatMap { node in
              reader.string(node, "message of rule '\(id)'").map {
                SourceText(text: $0, position: ScalarPosition(node: node, fileLines: lines))
              }
            },
            remediation: reader.string(rule["remediation"], "remediation of rule '\(id)'") ?? "",
            references: reader.strings(rule["references"], "references of rule '\(id)'") ?? [],
            line: ruleNode.mark?.line ?? 0, column: ruleNode.mark?.column ?? 0))
      }
      model.principles.append(principle)
    }
    return (model, reader.diagnostics)
  }

  static func scoring(_ node: Node, _ reader: inout YAMLReader) -> Scoring {
    var scoring = Scoring()
    guard let fields = reader.mapping(node, "scoring", allowed: scoringKeys) else { return scoring }
    if let weightsNode = fields["severity_weights"],
      let weights = reader.mapping(
        weightsNode, "scoring.severity_weights", allowed: RuleSeverity.allCases.map(\.rawValue))
    {
      for (name, value) in weights {
        if let weight = reader.number(value, "scoring.severity_weights.\(name)") {
          scoring.severityWeights[name] = weight
        }
      }
    }
    if let principleNode = fields["principle"],
      let thresholds = reader.mapping(
        principleNode, "scoring.principle", allowed: ["pass", "partial"])
    {
      scoring.principlePass =
        reader.number(thresholds["pass"], "scoring.principle.pass") ?? scoring.principlePass
      scoring.principlePartial =
        reader.number(thresholds["partial"], "scoring.principle.partial")
        ?? scoring.principlePartial
    }
    if let frameworkNode = fields["framework"],
      let thresholds = reader.mapping(
        frameworkNode, "scoring.framework", allowed: ["aligned", "not_aligned_below"])
    {
      scoring.aligned =
        reader.number(thresholds["aligned"], "scoring.framework.aligned") ?? scoring.aligned
      scoring.notAlignedBelow =
        reader.number(thresholds["not_aligned_below"], "scoring.framework.not_aligned_below")
        ?? scoring.notAlignedBelow
    }
    if scoring.principlePartial > scoring.principlePass || scoring.notAlignedBelow > scoring.aligned
    {
      reader.error("scoring thresholds are out of order (partial must not exceed pass)", at: node)
    }
    return scoring
  }

  static func isIdentifier(_ text: String) -> Bool {
    !text.isEmpty
      && text.unicodeScalars.allSatisfy {
        $0.isASCII
          && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
            || "-_.".unicodeScalars.contains($0))
      }
  }

  static func isCELIdentifier(_ text: String) -> Bool {
    guard let first = text.unicodeScalars.first,
      first == "_" || (first.isASCII && first.properties.isAlphabetic)
    else {
      return false
    }
    return text.unicodeScalars.allSatisfy {
      $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
    }
  }
}
