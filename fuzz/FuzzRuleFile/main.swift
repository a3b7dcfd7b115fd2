// libFuzzer target: the rule-file loader (YAML, keys, CEL in rules, positions of diagnostics).
import PolicyRules

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRuleFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  _ = try? RuleBookLoader.load(files: [(path: "fuzz.yaml", text: text)])
  return 0
}
