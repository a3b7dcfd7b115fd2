import CEL
import Foundation
import PolicyWatchAPI
import SwiftProtobuf

/// The CEL types a rule sees: `proposal` (a `policywatch.v1.Proposal`), its participants and
/// commitments. Enumerations read as lower-case strings (`p.kind == 'state'`).
public enum ProposalSchema {
  /// `policywatch.v1.Participant`.
  public static let participant = CELObjectType(
    name: "policywatch.v1.Participant",
    fields: [
      ("name", .string), ("kind", .string), ("region", .string), ("global_south", .bool),
      ("role", .string),
    ]
  )
  /// `policywatch.v1.Commitment`.
  public static let commitment = CELObjectType(
    name: "policywatch.v1.Commitment",
    fields: [
      ("kind", .string), ("amount_usd", .int), ("count", .int), ("beneficiaries", .string),
      ("licence", .string),
      ("description", .string),
    ]
  )
  /// `policywatch.v1.Proposal`, with the derived fields `states` (participants that are
  /// states), `member_states` (states that are not observers), `regions` (distinct regions of the
  /// participants, without "Global"), `participant_kinds` (distinct kinds), `has_structure`
  /// (whether any structured field is set) and `text` (title, summary and body).
  public static let proposal = CELObjectType(
    name: "policywatch.v1.Proposal",
    fields: [
      ("id", .string), ("title", .string), ("summary", .string), ("body", .string),
      ("sponsors", .list(.string)),
      ("coordinator", .string), ("participants", .list(.object(participant.name))),
      ("sectors", .list(.string)),
      ("commitments", .list(.object(commitment.name))), ("instruments", .list(.string)),
      ("review_date", .string), ("sunset_date", .string), ("language", .string),
      ("attributes", .map(.string, .dyn)), ("labels", .map(.string, .string)),
      ("states", .list(.object(participant.name))),
      ("member_states", .list(.object(participant.name))),
      ("regions", .list(.string)), ("participant_kinds", .list(.string)), ("has_structure", .bool),
      ("text", .string),
    ]
  )

  /// Fields whose use makes a rule structural: it needs the proposal's structure, and is not
  /// applicable to a text-only proposal.
  public static let structuralFields: Set<String> = [
    "sponsors", "coordinator", "participants", "sectors", "commitments", "instruments",
    "review_date",
    "sunset_date", "attributes", "states", "member_states", "regions", "participant_kinds",
  ]

  /// The largest sizes the service accepts, as hints for the cost estimate.
  public static let sizeHints: [String: Int] = [
    "proposal.participants": 1000, "proposal.commitments": 1000, "proposal.sponsors": 1000,
    "proposal.sectors": 1000, "proposal.instruments": 1000, "proposal.states": 1000,
    "proposal.member_states": 1000, "proposal.regions": 1000, "proposal.participant_kinds": 10,
    "proposal.body": 1_000_000, "proposal.text": 1_100_000, "proposal.title": 1000,
    "proposal.summary": 10_000,
    "*.name": 1000, "*.beneficiaries": 10_000, "*.description": 10_000, "*.region": 1000,
    "*.kind": 64,
  ]

  /// The lower-case names of the API's enumerations, as rules and proposal files write them.
  public static let participantKinds: [(String, Policywatch_V1_Participant.Kind)] = [
    ("state", .state), ("regional_org", .regionalOrg), ("un_body", .unBody), ("intl_org", .intlOrg),
    ("company", .company), ("university", .university), ("ngo", .ngo), ("other", .other),
  ]
  public static let participantRoles: [(String, Policywatch_V1_Participant.Role)] = [
    ("member", .member), ("observer", .observer), ("coordinator", .coordinator),
  ]
  public static let commitmentKinds: [(String, Policywatch_V1_Commitment.Kind)] = [
    ("funding", .funding), ("training", .training), ("capacity_building", .capacityBuilding),
    ("infrastructure", .infrastructure), ("compute_access", .computeAccess),
    ("open_release", .openRelease),
    ("data_sharing", .dataSharing), ("research", .research), ("procurement", .procurement),
    ("export_control", .exportControl), ("deployment", .deployment), ("other", .other),
  ]

  static func name<E: Equatable>(_ value: E, in table: [(String, E)]) -> String {
    table.first { $0.1 == value }?.0 ?? ""
  }
}

/// A participant as a CEL object.
final class ParticipantObject: CELObject {
  let values: [CELValue]
  let hasGlobalSouth: Bool
  var objectType: CELObjectType { ProposalSchema.participant }

  init(_ participant: Policywatch_V1_Participant) {
    self.values = [
      .string(participant.name),
      .string(ProposalSchema.name(participant.kind, in: ProposalSchema.participantKinds)),
      .string(participant.region), .bool(participant.globalSouth),
      .string(ProposalSchema.name(participant.role, in: ProposalSchema.participantRoles)),
    ]
    self.hasGlobalSouth = participant.hasGlobalSouth
  }

  func value(ofField index: Int) -> CELValue { self.values[index] }
  func hasValue(ofField index: Int) -> Bool { index == 3 ? self.hasGlobalSouth : true }
}

/// A commitment as a CEL object.
final class CommitmentObject: CELObject {
  let values: [CELValue]
  var objectType: CELObjectType { ProposalSchema.commitment }

  init(_ commitment: Policywatch_V1_Commitment) {
    self.values = [
      .string(ProposalSchema.name(commitment.kind, in: ProposalSchema.commitmentKinds)),
      .int(commitment.amountUsd),
      .int(commitment.count), .string(commitment.beneficiaries), .string(commitment.licence),
      .string(commitment.description_p),
    ]
  }

  func value(ofField index: Int) -> CELValue { self.values[index] }
  func hasValue(ofField index: Int) -> Bool {
    switch self.values[index] {
    case .string(let s): return !s.isEmpty
    case .int(let i): return i != 0
    default: return true
    }
  }
}

/// Everything the rules read about one proposal, computed once: its fields as CEL values and
/// the index of its text against the rule book's phrases.
public final class ProposalFacts: CELObject {
  /// The proposal.
  public let proposal: Policywatch_V1_Proposal
  /// Its text, split into sentences, with every phrase of the rule book found in it.
  public let text: TextIndex
  let values: [CELValue]
  /// Whether any structured field is set.
  public let hasStructure: Bool

  public var objectType: CELObjectType { ProposalSchema.proposal }

  /// Builds the facts of `proposal` against `matcher`.
  public init(_ proposal: Policywatch_V1_Proposal, matcher: PhraseMatcher) {
    self.proposal = proposal
    var fields: [(String, String)] = [
      ("title", proposal.title), ("summary", proposal.summary), ("body", proposal.body),
    ]
    for (index, commitment) in proposal.commitments.enumerated()
    where !commitment.description_p.isEmpty {
      fields.append(("commitments[\(index)].description", commitment.description_p))
    }
    self.text = TextIndex(fields: fields, matcher: matcher)

    let participants = proposal.participants.map { CELValue.object(ParticipantObject($0)) }
    let states = proposal.participants.filter { $0.kind == .state }
    let members = states.filter { $0.role != .observer }
    var regions: [String] = []
    for participant in proposal.participants {
      let region = participant.region.trimmingCharacters(in: .whitespaces)
      if !region.isEmpty, region.lowercased() != "global", !regions.contains(region) {
        regions.append(region)
      }
    }
    var kinds: [String] = []
    for participant in proposal.participants {
      let kind = ProposalSchema.name(participant.kind, in: ProposalSchema.participantKinds)
      if !kind.isEmpty, !kinds.contains(kind) { kinds.append(kind) }
    }
    let hasStructure =
      !proposal.sponsors.isEmpty || !proposal.coordinator.isEmpty || !proposal.participants.isEmpty
      || !proposal.sectors.isEmpty || !proposal.commitments.isEmpty || !proposal.instruments.isEmpty
      || !proposal.reviewDate.isEmpty || !proposal.sunsetDate.isEmpty
      || !proposal.attributes.fields.isEmpty
    self.hasStructure = hasStructure
    let strings: ([String]) -> CELValue = { .list($0.map { .string($0) }) }
    self.values = [
      .string(proposal.id), .string(proposal.title), .string(proposal.summary),
      .string(proposal.body),
      strings(proposal.sponsors), .string(proposal.coordinator), .list(participants),
      strings(proposal.sectors),
      .list(proposal.commitments.map { .object(CommitmentObject($0)) }),
      strings(proposal.instruments),
      .string(proposal.reviewDate), .string(proposal.sunsetDate), .string(proposal.language),
      .map(CELMap(proposal.attributes.fields.mapValues(Self.celValue))),
      .map(CELMap(proposal.labels.mapValues { .string($0) })),
      .list(states.map { .object(ParticipantObject($0)) }),
      .list(members.map { .object(ParticipantObject($0)) }),
      strings(regions), strings(kinds), .bool(hasStructure),
      .string(
        [proposal.title, proposal.summary, proposal.body].filter { !$0.isEmpty }.joined(
          separator: "\n\n")),
    ]
  }

  public func value(ofField index: Int) -> CELValue { self.values[index] }

  public func hasValue(ofField index: Int) -> Bool {
    switch self.values[index] {
    case .string(let s): return !s.isEmpty
    case .list(let l): return !l.isEmpty
    case .map(let m): return m.count > 0
    default: return true
    }
  }

  static func celValue(_ value: Google_Protobuf_Value) -> CELValue {
    switch value.kind {
    case .nullValue, nil: return .null
    case .numberValue(let d): return d.rounded() == d && abs(d) < 9e15 ? .int(Int64(d)) : .double(d)
    case .stringValue(let s): return .string(s)
    case .boolValue(let b): return .bool(b)
    case .structValue(let s): return .map(CELMap(s.fields.mapValues(celValue)))
    case .listValue(let l): return .list(l.values.map(celValue))
    }
  }

  /// The matches of the phrases, affirmative or not.
  func matches(of phrases: [String]) -> [PhraseMatch] {
    phrases.flatMap { self.text.matches(ofPhrase: $0) }
  }
}
