#!/usr/bin/env python3
"""CEL evaluation speed: PolicyWatch's Swift engine against cel-cpp (cel-expr-python) and a Rust
CEL (common-expression-language), on the same expressions and data, in one run.

    python3 bench/cel_bench.py            # builds the Swift bench in release mode first

Each engine is timed in its own best way: the program compiled once, the activation built once,
then evaluated in a loop; the figure is the median ns per evaluation over several rounds. The
Python peers include the cost of the Python call, which is how they are used.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 7

KINDS = ["state", "un_body", "university", "ngo", "company"]
PROPOSAL = {
    "title": "Shared AI Skills and Compute Partnership",
    "body": "Regional hubs run workshops and a shared GPU pool for universities. " * 20
    + "The programme funds capacity building in participating developing states.",
    "amount": 24_000_000,
    "count": 6000,
    "review_date": "2027-06-30",
    "sponsors": ["Zambia", "Indonesia", "Norway", "Kenya", "Ghana"],
    "participants": [
        {"name": f"participant-{i}", "kind": KINDS[i % len(KINDS)], "global_south": i == 19}
        for i in range(20)
    ],
}


def per_call_ns(fn, target_seconds=0.05):
    iterations = 100
    while True:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        elapsed = time.perf_counter_ns() - start
        if elapsed > target_seconds * 1e9:
            break
        iterations *= 2
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        rounds.append((time.perf_counter_ns() - start) / iterations)
    return statistics.median(rounds)


def cel_cpp(expression):
    from cel_expr_python import cel

    env = cel.NewEnv(variables={"proposal": cel.Type.Map(cel.Type.STRING, cel.Type.DYN)})
    compiled = env.compile(expression)
    activation = env.Activation({"proposal": PROPOSAL})
    result = compiled.eval(activation).value()
    return result, per_call_ns(lambda: compiled.eval(activation))


def cel_rust(expression):
    import cel as rust_cel

    program = rust_cel.compile(expression)
    context = rust_cel.Context({"proposal": PROPOSAL})
    result = program.execute(context)
    return result, per_call_ns(lambda: program.execute(context))


def main():
    if "--no-build" not in sys.argv:
        subprocess.run(["swift", "build", "-c", "release", "--product", "cel-bench"], cwd=ROOT, check=True)
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    swift = [json.loads(line) for line in subprocess.run([os.path.join(binary, "cel-bench"), str(ROUNDS)],
                                                          check=True, capture_output=True, text=True).stdout.splitlines()]
    rows = []
    for case in swift:
        expression = case["expression"]
        cpp_result, cpp_ns = cel_cpp(expression)
        rust_result, rust_ns = cel_rust(expression)
        for engine, result in [("cel-cpp", cpp_result), ("rust", rust_result)]:
            if bool(result) != case["result"]:
                raise SystemExit(f"{case['name']}: {engine} gave {result}, Swift {case['result']}")
        rows.append((case["name"], case["swift_cel_ns"], cpp_ns, rust_ns, case["swift_native_ns"]))

    print("| expression | PolicyWatch CEL (ns) | cel-cpp via cel-expr-python (ns) | Rust via common-expression-language (ns) | cel-cpp ÷ ours | Rust ÷ ours | ours ÷ hand-written Swift |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, ours, cpp, rust, native in rows:
        print(f"| {name} | {ours:.0f} | {cpp:.0f} | {rust:.0f} | {cpp / ours:.1f}× | {rust / ours:.1f}× | {ours / max(native, 0.01):.2f}× |")
    print()
    for case in swift:
        print(f"- `{case['name']}`: `{case['expression']}`")


if __name__ == "__main__":
    main()
