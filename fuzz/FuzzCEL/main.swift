// libFuzzer target: the CEL lexer, parser, checker and planner, and evaluation of whatever
// compiles, over a fixed activation. Any input must end in a value or an error, never a crash.
import CEL

let environment: CELEnvironment = {
  var env = CELEnvironment()
  env.declareVariable("proposal", type: .map(.string, .dyn))
  env.declareVariable("x", type: .int)
  env.declareVariable("s", type: .string)
  return env
}()

let activation = CELActivation(
  environment: environment,
  bindings: [
    "proposal": .map(
      CELMap([
        "title": .string("Shared compute"), "amount": .int(5),
        "tags": .list([.string("a"), .string("b")]),
      ])),
    "x": .int(3), "s": .string("héllo"),
  ])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCEL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  if let program = try? environment.compile(text) {
    _ = program.evaluate(activation)
  }
  return 0
}
