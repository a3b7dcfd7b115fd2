import CEL
import Foundation
import PolicyWatchAPI
import SwiftProtobuf

/// Evaluates proposals against the frameworks of a rule book, and explains each verdict: every
/// rule's result, the message and remediation of those that failed, and the quotes and fields
/// behind each result.
///
/// ```swift
/// let verdicts = try PolicyEngine.evaluate(proposal, book: book)
/// ```
public enum PolicyEngine {
  /// The most quotes cited for one rule.
  static let maxEvidence = 3

  /// An unknown framework id.
  public struct UnknownFrameworkError: Error, Sendable, CustomStringConvertible {
    public var id: String
    public var known: [String]
    public var description: String {
      "unknown framework '\(self.id)'; known frameworks: \(self.known.joined(separator: ", "))"
    }
  }

  /// Evaluates `proposal` against the frameworks named (all when none), in the book's order or
  /// the order given.
  public static func evaluate(
    _ proposal: Policywatch_V1_Proposal,
    book: RuleBook,
    frameworkIDs: [String] = [],
    now: Date = Date()
  ) throws(UnknownFrameworkError) -> [Policywatch_V1_Verdict] {
    var frameworks: [CompiledFramework] = []
    if frameworkIDs.isEmpty {
      frameworks = book.frameworks
    } else {
      for id in frameworkIDs {
        guard let framework = book.framework(id) else {
          throw UnknownFrameworkError(id: id, known: book.frameworks.map(\.id))
        }
        frameworks.append(framework)
      }
    }
    let facts = ProposalFacts(proposal, matcher: book.matcher)
    let hash = self.proposalHash(proposal)
    return frameworks.map {
      self.evaluate(
        facts, framework: $0, rulebookRevision: book.revision, proposalHash: hash, now: now)
    }
  }

  /// Hex SHA-256 of the proposal's deterministic protobuf encoding.
  public static func proposalHash(_ proposal: Policywatch_V1_Proposal) -> String {
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    let data = (try? proposal.serializedData(options: options)) ?? Data()
    return sha256Hex(data)
  }

  /// Evaluates prepared facts against one framework.
  public static func evaluate(
    _ facts: ProposalFacts,
    framework: CompiledFramework,
    rulebookRevision: String,
    proposalHash: String,
    now: Date = Date()
  ) -> Policywatch_V1_Verdict {
    let activation = CELActivation(
      environment: framework.environment,
      bindings: ["proposal": .object(facts), "lists": framework.listsValue]
    )
    var verdict = Policywatch_V1_Verdict()
    verdict.proposalID = facts.proposal.id
    verdict.proposalHash = proposalHash
    verdict.frameworkID = framework.id
    verdict.frameworkVersion = framework.version
    verdict.rulebookRevision = rulebookRevision
    verdict.createdAt = Google_Protobuf_Timestamp(date: now)

    let scoring = framework.scoring
    var weightedScore = 0.0
    var totalWeight = 0.0
    var criticalFailure = false
    var allPass = true
    var anyApplicable = false
    var frameworkHasStructure = false
    var structuralPassedAnywhere = false
    for principle in framework.principles {
      var result = Policywatch_V1_PrincipleResult()
      result.principleID = principle.id
      result.name = principle.name
      result.weight = principle.weight
      var earned = 0.0
      var possible = 0.0
      var applicable = 0
      var passedCount = 0
      var structuralPassed = false
      var principleCritical = false
      for rule in principle.rules {
        let ruleResult = self.evaluate(rule, facts: facts, activation: activation)
        if rule.isStructural && rule.severity != .critical {
          frameworkHasStructure = true
          if ruleResult.outcome == .pass { structuralPassedAnywhere = true }
        }
        let weight = scoring.severityWeights[rule.severity.rawValue] ?? 1
        // Critical rules are vetoes: failing one fails the principle (and the framework);
        // passing one adds nothing to the score, since avoiding harm earns no credit.
        switch ruleResult.outcome {
        case .pass:
          applicable += 1
          if rule.severity != .critical {
            passedCount += 1
            earned += weight
            possible += weight
          }
          if rule.isStructural && rule.severity != .critical { structuralPassed = true }
        case .fail:
          applicable += 1
          if rule.severity == .critical { principleCritical = true } else { possible += weight }
        default:
          break
        }
        result.rules.append(ruleResult)
      }
      if applicable == 0 {
        result.outcome = .notApplicable
        result.score = 0
        verdict.principles.append(result)
        continue
      }
      anyApplicable = true
      // With all applicable rules at weight 0 (info), count rules instead.
      let scored = principle.rules.count { $0.severity != .critical }
      let score =
        possible > 0
        ? 100 * earned / possible
        : scored == 0
          ? (principleCritical ? 0 : 100) : 100 * Double(passedCount) / Double(max(1, applicable))
      var outcome: Policywatch_V1_PrincipleOutcome =
        score >= scoring.principlePass
        ? .pass : score >= scoring.principlePartial ? .partial : .fail
      if principleCritical { outcome = .fail }
      // Text alone never proves a commitment: without a passing structural rule, at most partial.
      if outcome == .pass && principle.requiresStructure && !structuralPassed { outcome = .partial }
      result.outcome = outcome
      result.score = (score * 10).rounded() / 10
      criticalFailure = criticalFailure || principleCritical
      if outcome != .pass { allPass = false }
      weightedScore += principle.weight * score
      totalWeight += principle.weight
      verdict.principles.append(result)
    }
    let score = totalWeight > 0 ? weightedScore / totalWeight : 0
    verdict.score = (score * 10).rounded() / 10
    if !anyApplicable || criticalFailure || score < scoring.notAlignedBelow {
      verdict.outcome = .notAligned
    } else if allPass && score >= scoring.aligned
      && (structuralPassedAnywhere || !frameworkHasStructure)
    {
      // Aligned needs some commitment in the structure, never text alone.
      verdict.outcome = .aligned
    } else {
      verdict.outcome = .partiallyAligned
    }
    return verdict
  }

  static func evaluate(_ rule: CompiledRule, facts: ProposalFacts, activation: CELActivation)
    -> Policywatch_V1_RuleResult
  {
    var result = Policywatch_V1_RuleResult()
    result.ruleID = rule.id
    result.title = rule.title
    result.severity = rule.severity.api
    if rule.isStructural && !facts.hasStructure {
      result.outcome = .notApplicable
      result.message =
        "needs the proposal's structure (participants, commitments, instruments...), which this text-only proposal does not give"
      return result
    }
    if let applies = rule.appliesWhen {
      switch applies.evaluate(activation, budget: RuleBookLoader.ruleCostBudget).value {
      case .bool(true): break
      case .bool(false):
        result.outcome = .notApplicable
        return result
      case .error(let error):
        result.outcome = .error
        result.error = "applies_when: \(error.message)"
        return result
      case let other:
        result.outcome = .error
        result.error = "applies_when gave \(other.typeValue), not bool"
        return result
      }
    }
    switch rule.program.evaluate(activation, budget: RuleBookLoader.ruleCostBudget).value {
    case .bool(true):
      result.outcome = .pass
    case .bool(false):
      result.outcome = .fail
      result.message = self.message(rule, activation: activation)
      result.remediation = rule.remediation
    case .error(let error):
      result.outcome = .error
      result.error = error.message
    case let other:
      result.outcome = .error
      result.error = "the rule gave \(other.typeValue), not bool"
    }
    result.evidence = self.evidence(rule, facts: facts)
    return result
  }

  static func message(_ rule: CompiledRule, activation: CELActivation) -> String {
    if rule.message.isEmpty { return rule.title }
    var text = ""
    for part in rule.message {
      switch part {
      case .text(let literal): text += literal
      case .value(let program):
        let value = program.evaluate(activation, budget: RuleBookLoader.ruleCostBudget).value
        if case .error = value { text += "?" } else { text += value.displayText }
      }
    }
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// Quotes for text rules (the sentences where their phrases occur, affirmative mentions
  /// first, then negated or hedged ones, flagged as not counting), and the fields a structural
  /// rule read.
  static func evidence(_ rule: CompiledRule, facts: ProposalFacts) -> [Policywatch_V1_Evidence] {
    var evidence: [Policywatch_V1_Evidence] = []
    var seenSentences: Set<Int> = []
    var found: [(String, PhraseMatch)] = []
    for phrase in rule.evidencePhrases {
      for match in facts.text.matches(ofPhrase: phrase) { found.append((phrase, match)) }
    }
    // Affirmative mentions first (they decide most results), then those that did not count.
    found.sort {
      ($0.1.isAffirmative ? 0 : 1, $0.1.sentence) < ($1.1.isAffirmative ? 0 : 1, $1.1.sentence)
    }
    for (phrase, match) in found
    where evidence.count < maxEvidence && !seenSentences.contains(match.sentence) {
      seenSentences.insert(match.sentence)
      let sentence = facts.text.sentences[match.sentence]
      var item = Policywatch_V1_Evidence()
      item.quote = sentence.text
      item.fieldPath = sentence.field
      item.startOffset = Int32(sentence.start)
      item.endOffset = Int32(sentence.end)
      item.phrase = phrase
      item.negated = !match.isAffirmative
      evidence.append(item)
    }
    if rule.isStructural {
      for field in rule.structuralFieldsRead.prefix(maxEvidence) {
        var item = Policywatch_V1_Evidence()
        item.fieldPath = field
        item.quote = self.summary(of: field, in: facts.proposal)
        evidence.append(item)
      }
    }
    return evidence
  }

  /// A short rendering of a structured field, for evidence.
  static func summary(of field: String, in proposal: Policywatch_V1_Proposal) -> String {
    func cut(_ items: [String]) -> String {
      items.isEmpty
        ? "(none)"
        : items.prefix(8).joined(separator: "; ")
          + (items.count > 8 ? "; … (\(items.count) in all)" : "")
    }
    switch field {
    case "participants", "states", "member_states", "regions", "participant_kinds":
      let shown = proposal.participants.filter { p in
        switch field {
        case "states": return p.kind == .state
        case "member_states": return p.kind == .state && p.role != .observer
        default: return true
        }
      }
      return cut(
        shown.map { p in
          let kind = ProposalSchema.name(p.kind, in: ProposalSchema.participantKinds)
          var parts = [p.name, kind, p.region].filter { !$0.isEmpty }
          if p.hasGlobalSouth && p.globalSouth { parts.append("Global South") }
          if p.role == .observer { parts.append("observer") }
          return parts.joined(separator: ", ")
        })
    case "commitments":
      return cut(
        proposal.commitments.map { c in
          var parts = [ProposalSchema.name(c.kind, in: ProposalSchema.commitmentKinds)]
          if c.amountUsd > 0 { parts.append("USD \(c.amountUsd)") }
          if c.count > 0 { parts.append("count \(c.count)") }
          if !c.beneficiaries.isEmpty { parts.append("for \(c.beneficiaries)") }
          if !c.licence.isEmpty { parts.append("licence \(c.licence)") }
          return parts.joined(separator: ", ")
        })
    case "sponsors": return cut(proposal.sponsors)
    case "sectors": return cut(proposal.sectors)
    case "instruments": return cut(proposal.instruments)
    case "coordinator": return proposal.coordinator.isEmpty ? "(none)" : proposal.coordinator
    case "review_date": return proposal.reviewDate.isEmpty ? "(none)" : proposal.reviewDate
    case "sunset_date": return proposal.sunsetDate.isEmpty ? "(none)" : proposal.sunsetDate
    case "attributes": return (try? proposal.attributes.jsonString()) ?? "{}"
    default: return ""
    }
  }
}
