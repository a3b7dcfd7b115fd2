// libFuzzer target: the proposal reader, as YAML, JSON and plain text.
import PolicyRules

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProposalReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  for path in ["fuzz.yaml", "fuzz.json", "fuzz.txt"] {
    _ = try? ProposalReader.read(text, path: path)
  }
  return 0
}
