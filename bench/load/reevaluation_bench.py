#!/usr/bin/env python3
"""Re-evaluation after a rule change, under live load: a release `policywatch serve` with a
copy of the shipped rules stores 1,000 proposals (P01-P08 under new ids); then, while h2load
keeps 16 streams of dry_run `Evaluate` going, (a) a framework file is edited (the server's
polling picks it up and re-evaluates that framework for every stored proposal) and (b)
`Evaluator/Reevaluate` re-evaluates every framework. It reports how long each job took and the
live p99 during it, beside the p99 of the same load with no job running.

    make bench-reevaluation
    python3 bench/load/reevaluation_bench.py --proposals 1000
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_bench import ROOT, Process, generate_stubs, payloads  # noqa: E402


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")


class Load:
    """h2load at 16 streams of dry_run Evaluate, for `seconds`, with its per-request log."""

    def __init__(self, address, payload, seconds, work, name):
        self.log = work / f"{name}.log"
        self.process = subprocess.Popen(
            ["h2load", "-c", "1", "-m", "16", "-t", "1", "-D", str(seconds),
             "-H", "content-type: application/grpc", "-H", "te: trailers",
             "-d", str(payload), "--log-file", str(self.log),
             f"http://{address}/policywatch.v1.Evaluator/Evaluate"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def latencies(self, start=None, end=None):
        """Latencies in ms of the requests that started in [start, end] (epoch seconds)."""
        self.process.wait()
        found = []
        for line in self.log.read_text().splitlines():
            began, status, micros = line.split("\t")
            began = int(began) / 1e6
            if (start is None or began >= start) and (end is None or began <= end):
                found.append(int(micros) / 1000)
        return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "policywatch"))
    parser.add_argument("--proposals", type=int, default=1000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="policywatch-reeval-"))
    generate_stubs(work)
    files = payloads(work)
    sys.path.insert(0, str(ROOT / "Tests" / "interop"))
    import grpc
    from test_frameworks import proposal_message
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc

    rules = work / "rules"
    shutil.copytree(ROOT / "rules", rules)
    server = Process(
        [args.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(work / "data"),
         "--rules", str(rules), "--rules-poll", "0.2", "--rules-settle", "0.3"],
        {"grpc": r"msg=listening .*address=(\S+)"},
    )
    address = server.addresses["grpc"]
    samples = [proposal_message(p) for p in sorted((ROOT / "rules" / "proposals").glob("P0*.yaml"))]
    frameworks = len([p for p in rules.glob("*.yaml") if not p.name.endswith(".test.yaml")])
    try:
        with grpc.insecure_channel(address) as channel:
            stub = evaluator_pb2_grpc.EvaluatorStub(channel)

            def requests():
                for n in range(args.proposals):
                    message = type(samples[0])()
                    message.CopyFrom(samples[n % len(samples)])
                    message.id = f"R{n:05d}"
                    yield evaluator_pb2.EvaluateRequest(proposal=message)

            started = time.monotonic()
            stored = sum(1 for r in stub.EvaluateStream(requests(), timeout=600) if not r.HasField("error"))
            print(f"stored {stored} proposals x {frameworks} frameworks in {time.monotonic() - started:.1f} s")

            baseline = Load(address, files["dry_run"], 6, work, "baseline").latencies()
            print(f"no job: {len(baseline) / 6:.0f} req/s, p50 {percentile(baseline, 0.5):.2f} ms, p99 {percentile(baseline, 0.99):.2f} ms")

            # (a) An edit of one framework file, picked up by polling.
            load = Load(address, files["dry_run"], 20, work, "edit")
            time.sleep(1)
            path = rules / "global-ai-governance.yaml"
            path.write_text(path.read_text().replace('version: "2026.1"', 'version: "2026.1-bench"', 1))
            edited = time.time()
            seen = len(server.lines)
            while not (done := [l for l in server.lines[seen:] if "re-evaluation finished" in l]):
                time.sleep(0.05)
            finished = time.time()
            during = load.latencies(edited, finished)
            pairs = re.search(r"done=(\d+)", done[0]).group(1)
            job_time = re.search(r"duration=\"?([0-9.]+)", done[0]).group(1) + " s"
            print(
                f"edit of one framework: {pairs} pairs re-evaluated in {job_time} (job), "
                f"{finished - edited:.2f} s from the write (polling and settle included); "
                f"live {len(during) / max(finished - edited, 1e-9):.0f} req/s, "
                f"p50 {percentile(during, 0.5):.2f} ms, p99 {percentile(during, 0.99):.2f} ms"
            )

            # (b) Reevaluate of every framework, on demand.
            load = Load(address, files["dry_run"], 30, work, "all")
            time.sleep(1)
            began = time.time()
            progress = list(stub.Reevaluate(evaluator_pb2.ReevaluateRequest(), timeout=600))
            ended = time.time()
            during = load.latencies(began, ended)
            print(
                f"Reevaluate, all frameworks: {progress[-1].done} pairs in {ended - began:.2f} s "
                f"({progress[-1].done / (ended - began):.0f} pairs/s); live {len(during) / (ended - began):.0f} req/s, "
                f"p50 {percentile(during, 0.5):.2f} ms, p99 {percentile(during, 0.99):.2f} ms"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
