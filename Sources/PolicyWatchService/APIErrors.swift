import GRPCCore
import GRPCProtobuf
import PolicyRules

/// The service's error statuses, built one way everywhere: bad fields as `google.rpc.BadRequest`
/// field violations (the message lists them too), unknown frameworks as NOT_FOUND with a
/// `google.rpc.ResourceInfo` and the ids that do exist.
enum APIErrors {
  typealias Violation = ErrorDetails.BadRequest.FieldViolation

  /// `code` (INVALID_ARGUMENT unless said) naming each bad field.
  static func badRequest(_ violations: [Violation], code: RPCError.Code = .invalidArgument)
    -> GoogleRPCStatus
  {
    GoogleRPCStatus(
      code: code,
      message: violations.map { "\($0.field): \($0.violationDescription)" }.joined(
        separator: "; "),
      details: [.badRequest(violations: violations)])
  }

  /// INVALID_ARGUMENT: `field` is required.
  static func required(_ field: String) -> GoogleRPCStatus {
    self.badRequest([Violation(field: field, description: "required")])
  }

  /// NOT_FOUND: `id` names no framework of `book`; `field` is where the request named it.
  static func unknownFramework(_ id: String, field: String? = nil, in book: RuleBook)
    -> GoogleRPCStatus
  {
    let known = book.frameworks.map(\.id).joined(separator: ", ")
    return GoogleRPCStatus(
      code: .notFound,
      message:
        "\(field.map { "\($0): " } ?? "")unknown framework '\(id)'; known frameworks: \(known)",
      details: [
        .resourceInfo(
          ErrorDetails.ResourceInfo(
            type: "policywatch.v1.Framework", name: id, errorDescription: "unknown framework"))
      ])
  }

  /// Throws ``unknownFramework(_:field:in:)`` for the first of `ids` that `book` lacks.
  static func checkFrameworks(_ ids: [String], field: String, in book: RuleBook) throws {
    for (index, id) in ids.enumerated() where book.framework(id) == nil {
      throw self.unknownFramework(id, field: "\(field)[\(index)]", in: book)
    }
  }
}
