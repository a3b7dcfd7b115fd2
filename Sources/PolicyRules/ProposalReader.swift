import Foundation
import PolicyWatchAPI
import SwiftProtobuf
import Yams

/// Reads proposal files: YAML or JSON (the `Proposal` message's JSON mapping, snake_case or
/// lowerCamelCase keys) with friendly forms: enum names in lower case (`state`, `training`),
/// dates as `2027-06-30`, participants as rows `[name, kind, region, global_south, role]`;
/// and `.txt`/`.md` files as text-only proposals (title from the first line or heading).
/// Every problem is reported with its `file:line:col` and the field path.
public enum ProposalReader {
  /// Reads a proposal from text; `path` decides the format (`.txt`, `.md`: text) and names
  /// the file in diagnostics.
  public static func read(_ text: String, path: String) throws(DiagnosticsError)
    -> Policywatch_V1_Proposal
  {
    let lowered = path.lowercased()
    if lowered.hasSuffix(".txt") || lowered.hasSuffix(".md") || lowered.hasSuffix(".markdown") {
      return self.textProposal(text, path: path)
    }
    var reader = YAMLReader(path: path, text: text)
    guard let root = reader.root() else { throw DiagnosticsError(reader.diagnostics) }
    let proposal = self.proposal(root, path: "proposal", reader: &reader)
    let errors = reader.diagnostics.filter { $0.severity == .error }
    if !errors.isEmpty { throw DiagnosticsError(reader.diagnostics) }
    return proposal
  }

  /// A text-only proposal: the title is the first non-empty line (without Markdown `#`), the
  /// body the rest; the id is derived from the file name.
  public static func textProposal(_ text: String, path: String) -> Policywatch_V1_Proposal {
    var proposal = Policywatch_V1_Proposal()
    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    proposal.id = name.isEmpty || name == "-" ? "stdin" : name
    var lines = text.components(separatedBy: "\n")
    while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty {
      lines.removeFirst()
    }
    if let first = lines.first {
      proposal.title = first.trimmingCharacters(in: .whitespaces).trimmingCharacters(
        in: CharacterSet(charactersIn: "# "))
      lines.removeFirst()
    }
    proposal.body = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    return proposal
  }

  static let proposalKeys = [
    "id", "title", "summary", "body", "sponsors", "coordinator", "participants", "sectors",
    "commitments",
    "instruments", "review_date", "reviewDate", "sunset_date", "sunsetDate", "language",
    "attributes", "labels",
  ]

  static func proposal(_ node: Node, path: String, reader: inout YAMLReader)
    -> Policywatch_V1_Proposal
  {
    var proposal = Policywatch_V1_Proposal()
    guard let fields = reader.mapping(node, "the proposal", allowed: self.proposalKeys) else {
      return proposal
    }
    proposal.id = reader.string(fields["id"], "\(path).id") ?? ""
    proposal.title = reader.string(fields["title"], "\(path).title") ?? ""
    proposal.summary = reader.string(fields["summary"], "\(path).summary") ?? ""
    proposal.body = reader.string(fields["body"], "\(path).body") ?? ""
    proposal.sponsors = reader.strings(fields["sponsors"], "\(path).sponsors") ?? []
    proposal.coordinator = self.optionalString(
      fields["coordinator"], "\(path).coordinator", &reader)
    proposal.sectors = reader.strings(fields["sectors"], "\(path).sectors") ?? []
    proposal.instruments = reader.strings(fields["instruments"], "\(path).instruments") ?? []
    proposal.language = reader.string(fields["language"], "\(path).language") ?? ""
    proposal.reviewDate = self.date(
      fields["review_date"] ?? fields["reviewDate"], "\(path).review_date", &reader)
    proposal.sunsetDate = self.date(
      fields["sunset_date"] ?? fields["sunsetDate"], "\(path).sunset_date", &reader)
    for (index, item) in (reader.sequence(fields["participants"], "\(path).participants") ?? [])
      .enumerated()
    {
      proposal.participants.append(
        self.participant(item, path: "\(path).participants[\(index)]", reader: &reader))
    }
    for (index, item) in (reader.sequence(fields["commitments"], "\(path).commitments") ?? [])
      .enumerated()
    {
      proposal.commitments.append(
        self.commitment(item, path: "\(path).commitments[\(index)]", reader: &reader))
    }
    if let attributes = fields["attributes"] {
      if case .mapping = attributes, let value = self.jsonValue(attributes),
        case .structValue(let structure)? = value.kind
      {
        proposal.attributes = structure
      } else {
        reader.error("\(path).attributes must be a mapping of names to values", at: attributes)
      }
    }
    if let labels = fields["labels"] {
      if case .mapping(let mapping) = labels {
        for (key, value) in mapping {
          if let k = reader.string(key, "\(path).labels key"),
            let v = reader.string(value, "\(path).labels.\(key.string ?? "")")
          {
            proposal.labels[k] = v
          }
        }
      } else {
        reader.error("\(path).labels must be a mapping of names to strings", at: labels)
      }
    }
    return proposal
  }

  static func optionalString(_ node: Node?, _ what: String, _ reader: inout YAMLReader) -> String {
    guard let node, let value = reader.string(node, what) else { return "" }
    return value == "null" || value == "~" ? "" : value
  }

  /// A date `YYYY-MM-DD` (also accepted: `null`, empty).
  static func date(_ node: Node?, _ what: String, _ reader: inout YAMLReader) -> String {
    guard let node, let text = reader.string(node, what) else { return "" }
    if text.isEmpty || text == "null" || text == "~" { return "" }
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    if parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]),
      let day = Int(parts[2]),
      parts[1].count == 2, parts[2].count == 2, (1...12).contains(month), (1...31).contains(day),
      year > 0
    {
      return text
    }
    reader.error(
      "\(what) must be a date written YYYY-MM-DD (e.g. 2027-06-30), not '\(text)'", at: node)
    return ""
  }

  static func enumValue<E>(
    _ node: Node?, _ what: String, _ table: [(String, E)], prefix: String,
    _ reader: inout YAMLReader
  ) -> E? {
    guard let node, let text = reader.string(node, what) else { return nil }
    if text.isEmpty || text == "null" { return nil }
    var key = text.lowercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(
      of: " ", with: "_")
    if key.hasPrefix(prefix) { key.removeFirst(prefix.count) }
    if let match = table.first(where: { $0.0 == key }) { return match.1 }
    reader.error(
      "\(what) is '\(text)'; expected one of: \(table.map(\.0).joined(separator: ", "))", at: node)
    return nil
  }

  static func participant(_ node: Node, path: String, reader: inout YAMLReader)
    -> Policywatch_V1_Participant
  {
    var participant = Policywatch_V1_Participant()
    if case .sequence(let row) = node {
      // [name, kind, region, global_south, role]
      let items = Array(row)
      guard (1...5).contains(items.count) else {
        reader.error(
          "\(path) as a row must be [name, kind, region, global_south, role] (1 to 5 items), not \(items.count)",
          at: node)
        return participant
      }
      participant.name = reader.string(items[0], "\(path).name") ?? ""
      if items.count > 1 {
        participant.kind =
          self.enumValue(
            items[1], "\(path).kind", ProposalSchema.participantKinds, prefix: "kind_", &reader)
          ?? .unspecified
      }
      if items.count > 2 { participant.region = reader.string(items[2], "\(path).region") ?? "" }
      if items.count > 3 {
        self.globalSouth(items[3], "\(path).global_south", &participant, &reader)
      }
      if items.count > 4 {
        participant.role =
          self.enumValue(
            items[4], "\(path).role", ProposalSchema.participantRoles, prefix: "role_", &reader)
          ?? .unspecified
      }
      return participant
    }
    guard
      let fields = reader.mapping(
        node, path, allowed: ["name", "kind", "region", "global_south", "globalSouth", "role"],
        required: ["name"])
    else { return participant }
    participant.name = reader.string(fields["name"], "\(path).name") ?? ""
    participant.kind =
      self.enumValue(
        fields["kind"], "\(path).kind", ProposalSchema.participantKinds, prefix: "kind_", &reader)
      ?? .unspecified
    participant.region = reader.string(fields["region"], "\(path).region") ?? ""
    if let flag = fields["global_south"] ?? fields["globalSouth"] {
      self.globalSouth(flag, "\(path).global_south", &participant, &reader)
    }
    participant.role =
      self.enumValue(
        fields["role"], "\(path).role", ProposalSchema.participantRoles, prefix: "role_", &reader)
      ?? .unspecified
    return participant
  }

  static func globalSouth(
    _ node: Node, _ what: String, _ participant: inout Policywatch_V1_Participant,
    _ reader: inout YAMLReader
  ) {
    guard let text = reader.string(node, what) else { return }
    switch text.lowercased() {
    case "n/a", "na", "null", "~", "": break
    default:
      if let flag = reader.bool(node, what) { participant.globalSouth = flag }
    }
  }

  static func commitment(_ node: Node, path: String, reader: inout YAMLReader)
    -> Policywatch_V1_Commitment
  {
    var commitment = Policywatch_V1_Commitment()
    guard
      let fields = reader.mapping(
        node, path,
        allowed: [
          "kind", "amount_usd", "amountUsd", "count", "beneficiaries", "licence", "license",
          "description",
        ],
        required: ["kind"])
    else { return commitment }
    commitment.kind =
      self.enumValue(
        fields["kind"], "\(path).kind", ProposalSchema.commitmentKinds, prefix: "kind_", &reader)
      ?? .unspecified
    if let amount = fields["amount_usd"] ?? fields["amountUsd"] {
      commitment.amountUsd = reader.integer(amount, "\(path).amount_usd") ?? 0
      if commitment.amountUsd < 0 {
        reader.error("\(path).amount_usd must not be negative", at: amount)
      }
    }
    if let count = fields["count"] {
      commitment.count = reader.integer(count, "\(path).count") ?? 0
      if commitment.count < 0 { reader.error("\(path).count must not be negative", at: count) }
    }
    commitment.beneficiaries = self.optionalString(
      fields["beneficiaries"], "\(path).beneficiaries", &reader)
    commitment.licence = self.optionalString(
      fields["licence"] ?? fields["license"], "\(path).licence", &reader)
    commitment.description_p = self.optionalString(
      fields["description"], "\(path).description", &reader)
    return commitment
  }

  /// A YAML node as a `google.protobuf.Value`, scalars typed by the YAML core schema.
  static func jsonValue(_ node: Node) -> Google_Protobuf_Value? {
    switch node {
    case .scalar(let scalar):
      if scalar.style == .plain {
        switch scalar.string {
        case "null", "~", "": return Google_Protobuf_Value(nilLiteral: ())
        case "true", "True", "TRUE": return Google_Protobuf_Value(booleanLiteral: true)
        case "false", "False", "FALSE": return Google_Protobuf_Value(booleanLiteral: false)
        default:
          if let number = Double(scalar.string) {
            return Google_Protobuf_Value(floatLiteral: number)
          }
        }
      }
      return Google_Protobuf_Value(stringLiteral: scalar.string)
    case .sequence(let sequence):
      return Google_Protobuf_Value(
        listValue: Google_Protobuf_ListValue(values: sequence.compactMap(jsonValue)))
    case .mapping(let mapping):
      var structure = Google_Protobuf_Struct()
      for (key, value) in mapping {
        if let name = key.string, let converted = jsonValue(value) {
          structure.fields[name] = converted
        }
      }
      return Google_Protobuf_Value(structValue: structure)
    case .alias:
      return nil
    }
  }
}
