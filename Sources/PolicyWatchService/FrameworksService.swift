import Foundation
import GRPCCore
import PolicyRules
import PolicyWatchAPI
import SwiftProtobuf

/// `policywatch.v1.Frameworks`: the live rule book's frameworks, validation of rule files sent
/// by clients, reloading the rules directory, and the rule book's status.
struct FrameworksService: Policywatch_V1_Frameworks.SimpleServiceProtocol {
  let registry: RuleBookRegistry
  let reloader: RuleReloader

  func listFrameworks(
    request: Policywatch_V1_ListFrameworksRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ListFrameworksResponse {
    let book = self.registry.current
    var response = Policywatch_V1_ListFrameworksResponse()
    response.frameworks = book.frameworks.map { APIConversion.framework($0, withRules: false) }
    response.rulebookRevision = book.revision
    return response
  }

  func getFramework(
    request: Policywatch_V1_GetFrameworkRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_Framework {
    let book = self.registry.current
    guard let framework = book.framework(request.id) else {
      throw APIErrors.unknownFramework(request.id, field: "id", in: book)
    }
    return APIConversion.framework(framework, withRules: true)
  }

  func validateRules(
    request: Policywatch_V1_ValidateRulesRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ValidateRulesResponse {
    guard !request.files.isEmpty else {
      throw RPCError(code: .invalidArgument, message: "files: send at least one rule file")
    }
    var response = Policywatch_V1_ValidateRulesResponse()
    do {
      let book = try RuleBookLoader.load(
        files: request.files.map { ($0.path.isEmpty ? "rules.yaml" : $0.path, $0.content) })
      response.valid = true
      response.frameworks = book.frameworks.map { APIConversion.framework($0, withRules: true) }
      response.rulebookRevision = book.revision
      response.diagnostics = book.warnings.map(APIConversion.diagnostic)
    } catch {
      response.valid = false
      response.diagnostics = error.diagnostics.map(APIConversion.diagnostic)
    }
    return response
  }

  func reloadRules(
    request: Policywatch_V1_ReloadRulesRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_ReloadRulesResponse {
    let result = await self.reloader.reload(trigger: "ReloadRules")
    let outcome = result.reload
    var response = Policywatch_V1_ReloadRulesResponse()
    response.reevaluationJobID = result.job?.id ?? ""
    response.reloaded = outcome.reloaded
    response.rulebookRevision = outcome.book.revision
    response.diagnostics = outcome.diagnostics.map(APIConversion.diagnostic)
    response.changedFrameworks = outcome.changedFrameworks
    return response
  }

  func getRuleStatus(
    request: Policywatch_V1_GetRuleStatusRequest,
    context: ServerContext
  ) async throws -> Policywatch_V1_RuleStatus {
    let status = self.registry.status
    var response = Policywatch_V1_RuleStatus()
    response.rulebookRevision = status.book.revision
    response.loadedAt = Google_Protobuf_Timestamp(date: status.loadedAt)
    response.rulesDirectory = self.registry.directory
    response.frameworks = status.book.frameworks.map {
      APIConversion.framework($0, withRules: false)
    }
    response.lastAttemptAt = Google_Protobuf_Timestamp(date: status.lastAttemptAt)
    response.lastAttemptFailed = status.lastAttemptFailed
    response.lastError = status.lastError.map(APIConversion.diagnostic)
    return response
  }
}

/// Conversions from the engine's types to the API's messages.
enum APIConversion {
  static func framework(_ framework: CompiledFramework, withRules: Bool) -> Policywatch_V1_Framework
  {
    var message = Policywatch_V1_Framework()
    message.id = framework.id
    message.name = framework.name
    message.version = framework.version
    message.description_p = framework.description
    message.file = (framework.file as NSString).lastPathComponent
    message.contentHash = framework.contentHash
    message.ruleCount = Int32(framework.ruleCount)
    message.sources = framework.sources.map { source in
      var item = Policywatch_V1_Source()
      item.title = source.title
      item.year = source.year
      item.address = source.address
      return item
    }
    guard withRules else { return message }
    message.principles = framework.principles.map { principle in
      var item = Policywatch_V1_Principle()
      item.id = principle.id
      item.name = principle.name
      item.description_p = principle.description
      item.weight = principle.weight
      item.rules = principle.rules.map { rule in
        var r = Policywatch_V1_Rule()
        r.id = rule.id
        r.title = rule.title
        r.severity = rule.severity.api
        r.appliesWhen = rule.appliesWhenExpression
        r.expr = rule.expression
        r.message = rule.messageTemplate
        r.remediation = rule.remediation
        r.references = rule.references
        return r
      }
      return item
    }
    return message
  }

  static func diagnostic(_ diagnostic: Diagnostic) -> Policywatch_V1_Diagnostic {
    var message = Policywatch_V1_Diagnostic()
    message.file = diagnostic.file
    message.line = Int32(diagnostic.line)
    message.column = Int32(diagnostic.column)
    message.severity = diagnostic.severity == .error ? .error : .warning
    message.message = diagnostic.message
    return message
  }
}
