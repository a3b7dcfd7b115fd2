import CEL
import Synchronization

/// The text functions rules call on the proposal (and on any string):
///
/// - `proposal.mentions(lists.x)` / `proposal.mentions('phrase')`: some phrase occurs in the
///   proposal's text, affirmatively (not negated in its clause, not in an aspirational sentence);
/// - `proposal.mentionsAll(lists.x)`: every phrase does;
/// - `proposal.mentionCount(lists.x)`: how many distinct phrases do;
/// - `proposal.negates(lists.x)`: some phrase occurs negated ("without any training").
///
/// On a string (`c.beneficiaries.mentions(lists.developing)`) they look in that string only.
/// Matching is case- and accent-insensitive, on whole words, tolerant of simple inflection.
enum TextFunctions {
  static let names: Set<String> = ["mentions", "mentionsAll", "mentionCount", "negates"]

  /// Indexes of the short strings rules search (beneficiaries, sectors, instrument names), which
  /// recur across rules and proposals; bounded, and cleared when full.
  private static let stringIndexes = Mutex<[StringKey: TextIndex]>([:])
  private static let stringIndexLimit = 4096

  private struct StringKey: Hashable {
    var matcher: ObjectIdentifier
    var text: String
  }

  static func index(of text: String, matcher: PhraseMatcher) -> TextIndex {
    let key = StringKey(matcher: ObjectIdentifier(matcher), text: text)
    if let known = self.stringIndexes.withLock({ $0[key] }) { return known }
    let index = TextIndex(fields: [("value", text)], matcher: matcher)
    self.stringIndexes.withLock { cache in
      if cache.count >= self.stringIndexLimit { cache.removeAll(keepingCapacity: true) }
      cache[key] = index
    }
    return index
  }

  /// Declares the functions; `matcher` (the rule book's) indexes strings that are not the
  /// proposal, so their phrase look-ups are as cheap as the proposal's.
  static func declare(in env: inout CELEnvironment, matcher: PhraseMatcher) {
    let proposal = CELType.object(ProposalSchema.proposal.name)
    let phrases = CELType.list(.string)
    func overloads(_ name: String, result: CELType) -> [CELOverload] {
      [
        CELOverload(
          id: "\(name)_proposal_list", member: true, parameters: [proposal, phrases], result: result
        ),
        CELOverload(
          id: "\(name)_proposal_string", member: true, parameters: [proposal, .string],
          result: result),
        CELOverload(
          id: "\(name)_string_list", member: true, parameters: [.string, phrases], result: result),
        CELOverload(
          id: "\(name)_string_string", member: true, parameters: [.string, .string], result: result),
      ]
    }
    env.declareFunction(
      "mentions", overloads: overloads("mentions", result: .bool),
      implementations: [
        (
          true, 2,
          .binary {
            apply("mentions", $0, $1, matcher) {
              .bool($0.contains { $0.contains { $0.isAffirmative } })
            }
          }
        )
      ]
    )
    env.declareFunction(
      "mentionsAll", overloads: overloads("mentionsAll", result: .bool),
      implementations: [
        (
          true, 2,
          .binary {
            apply("mentionsAll", $0, $1, matcher) {
              .bool($0.allSatisfy { $0.contains { $0.isAffirmative } })
            }
          }
        )
      ]
    )
    env.declareFunction(
      "mentionCount", overloads: overloads("mentionCount", result: .int),
      implementations: [
        (
          true, 2,
          .binary {
            apply("mentionCount", $0, $1, matcher) {
              .int(Int64($0.filter { $0.contains { $0.isAffirmative } }.count))
            }
          }
        )
      ]
    )
    env.declareFunction(
      "negates", overloads: overloads("negates", result: .bool),
      implementations: [
        (
          true, 2,
          .binary {
            apply("negates", $0, $1, matcher) { .bool($0.contains { $0.contains { $0.negated } }) }
          }
        )
      ]
    )
  }

  /// Finds each phrase's matches in the receiver and hands the per-phrase matches to `result`.
  static func apply(
    _ name: String,
    _ receiver: CELValue,
    _ argument: CELValue,
    _ matcher: PhraseMatcher,
    _ result: ([[PhraseMatch]]) -> CELValue
  ) -> CELValue {
    var phrases: [String] = []
    switch argument {
    case .string(let s): phrases = [s]
    case .list(let items):
      for item in items {
        guard case .string(let s) = item else {
          return .error(CELError("\(name)() takes a list of strings"))
        }
        phrases.append(s)
      }
    default:
      return .error(
        CELError("no such overload: \(name)(\(receiver.typeValue), \(argument.typeValue))"))
    }
    let index: TextIndex
    switch receiver {
    case .object(let object):
      guard let facts = object as? ProposalFacts else {
        return .error(CELError("no such overload: \(name) on \(object.objectType.name)"))
      }
      index = facts.text
    case .string(let s):
      index = self.index(of: s, matcher: matcher)
    default:
      return .error(CELError("no such overload: \(name) on \(receiver.typeValue)"))
    }
    return result(phrases.map { index.matches(ofPhrase: $0) })
  }
}
