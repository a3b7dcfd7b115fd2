/// A Common Expression Language (CEL) engine: parse → check → plan → evaluate, with cost limits.
///
/// The language is specified by cel-spec's `doc/langdef.md`.
public enum CELLanguage {
  /// The version of the CEL specification whose conformance vectors this engine is tested on.
  public static let specificationCommit = "508bd98efda47d85bcf1b9930dd5f35fa37e9a18"
}
