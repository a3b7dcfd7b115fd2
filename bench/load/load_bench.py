#!/usr/bin/env python3
"""Load benchmark of the running service: h2load (Debian nghttp2-client) drives a release
`policywatch serve` on loopback with

  - Evaluator/Evaluate of a realistic proposal (P01) against all shipped frameworks, stored
    (durable, group commit) and dry_run,
  - grpc.health.v1.Health/Check on the same server (the ceiling of our transport),
  - the same Health/Check on a minimal grpc-go server built from Debian's golang-go and
    golang-google-grpc-dev in GOPATH mode (the ecosystem's ceiling on this machine),

at 1, 16 and 64 concurrent streams on one HTTP/2 connection, in one run, interleaved round by
round. It reports requests/s, p50 and p99 (from h2load's per-request log) and the ratios.

h2load counts HTTP 200, and a gRPC error is an HTTP 200 too, so every PolicyWatch figure is
checked against the server's own count of OK calls (Prometheus `policywatch_rpc_requests_total`
by method and code) and, for stored evaluations, against the verdicts in the SQLite file.

    make bench-load                       # builds what it needs, then runs
    python3 bench/load/load_bench.py --duration 8 --rounds 2
"""

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STREAMS = [1, 16, 64]


def build_go_server(work: Path) -> Path:
    binary = work / "go-health"
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off", GOCACHE=str(work / "gocache"))
    subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=ROOT / "bench" / "load" / "go-health", env=env, check=True
    )
    return binary


def generate_stubs(work: Path) -> None:
    from grpc_tools import protoc
    import grpc_tools

    source = work / "proto"
    shutil.copytree(ROOT / "proto", source)
    (source / "grpc").rename(source / "grpcproto")
    out = work / "gen"
    out.mkdir()
    protos = sorted(str(p.relative_to(source)) for p in source.rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    assert protoc.main(["protoc", f"-I{source}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}"] + protos) == 0
    for package_dir in [p for p in out.rglob("*") if p.is_dir()]:
        (package_dir / "__init__.py").touch()
    sys.path.insert(0, str(out))


def frame(message) -> bytes:
    """A gRPC length-prefixed message: no compression, 4-byte big-endian length."""
    data = message.SerializeToString()
    return b"\x00" + struct.pack(">I", len(data)) + data


def payloads(work: Path) -> dict:
    sys.path.insert(0, str(ROOT / "Tests" / "interop"))
    from test_frameworks import proposal_message
    from policywatch.v1 import evaluator_pb2
    from grpcproto.health.v1 import health_pb2

    proposal = proposal_message(ROOT / "rules" / "proposals" / "P01.yaml")
    files = {}
    for name, message in {
        "stored": evaluator_pb2.EvaluateRequest(proposal=proposal),
        "dry_run": evaluator_pb2.EvaluateRequest(proposal=proposal, dry_run=True),
        "health": health_pb2.HealthCheckRequest(),
    }.items():
        path = work / f"{name}.bin"
        path.write_bytes(frame(message))
        files[name] = path
    return files


class Process:
    """A server process whose stderr is scanned for `address=host:port`."""

    def __init__(self, args, pattern):
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        self.addresses = {}
        self.lines = []
        self.ready = threading.Event()
        self.pattern = pattern
        threading.Thread(target=self.read, daemon=True).start()
        if not self.ready.wait(60):
            self.process.kill()
            raise SystemExit(f"{args[0]} did not start")

    def read(self):
        for line in self.process.stderr:
            self.lines.append(line)
            for key, regex in self.pattern.items():
                match = re.search(regex, line)
                if match:
                    self.addresses[key] = match.group(1)
            if len(self.addresses) == len(self.pattern):
                self.ready.set()

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


def ok_calls(metrics_address: str, method: str) -> int:
    text = urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=10).read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("policywatch_rpc_requests_total{") and f'method="{method}"' in line and 'code="OK"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def h2load(address: str, path: str, payload: Path, streams: int, duration: float, warmup: float, work: Path):
    log = work / "h2load.log"
    if log.exists():
        log.unlink()
    command = [
        "h2load", "-c", "1", "-m", str(streams), "-t", "1",
        "-D", f"{duration:g}", "--warm-up-time", f"{warmup:g}",
        "-H", "content-type: application/grpc", "-H", "te: trailers",
        "-d", str(payload), "--log-file", str(log),
        f"http://{address}{path}",
    ]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"h2load failed: {run.stderr}\n{run.stdout}")
    match = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed", run.stdout)
    succeeded, failed = int(match.group(4)), int(match.group(5))
    latencies = sorted(int(line.split("\t")[2]) for line in log.read_text().splitlines() if line.strip())
    measured = len(latencies)
    return {
        "succeeded": succeeded,
        "failed": failed,
        "rps": measured / duration,
        "p50": latencies[len(latencies) // 2] / 1000 if latencies else float("nan"),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] / 1000 if latencies else float("nan"),
        "logged": measured,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "policywatch"))
    parser.add_argument("--duration", type=float, default=8, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=0, help="seconds of warm-up per run (uncounted by h2load, so the OK-count check then only bounds from below)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the median is reported")
    parser.add_argument("--durability", default="full")
    parser.add_argument("--perf", action="store_true", help="also perf-record the server under dry_run load")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="policywatch-load-"))
    generate_stubs(work)
    files = payloads(work)
    go_binary = build_go_server(work)
    data = work / "data"
    ours = Process(
        [args.binary, "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
         "--data-dir", str(data), "--rules", str(ROOT / "rules"), "--durability", args.durability,
         "--rules-poll", "0"],
        {"grpc": r"msg=listening .*address=(\S+)", "metrics": r'msg="metrics listening" .*address=(\S+)'},
    )
    go = Process([str(go_binary), "-listen", "127.0.0.1:0"], {"grpc": r"listening address=(\S+)"})
    database = data / "policywatch.sqlite"
    frameworks = len([p for p in (ROOT / "rules").glob("*.yaml") if not p.name.endswith(".test.yaml")])

    cases = [
        ("go Health/Check", go, "/grpc.health.v1.Health/Check", "health", None),
        ("Health/Check", ours, "/grpc.health.v1.Health/Check", "health", "grpc.health.v1.Health/Check"),
        ("Evaluate dry_run", ours, "/policywatch.v1.Evaluator/Evaluate", "dry_run", "policywatch.v1.Evaluator/Evaluate"),
        ("Evaluate stored", ours, "/policywatch.v1.Evaluator/Evaluate", "stored", "policywatch.v1.Evaluator/Evaluate"),
    ]
    results = {}
    try:
        for round_number in range(args.rounds):
            for streams in STREAMS:
                for name, server, path, payload, method in cases:
                    before_ok = ok_calls(ours.addresses["metrics"], method) if method else 0
                    before_verdicts = _verdicts(database)
                    figures = h2load(server.addresses["grpc"], path, files[payload], streams, args.duration, args.warmup, work)
                    time.sleep(0.3)
                    if method:
                        ok = ok_calls(ours.addresses["metrics"], method) - before_ok
                        # Every request h2load saw succeed was an OK call; those in flight when
                        # h2load stopped may have finished on the server too.
                        if not figures["succeeded"] <= ok <= figures["succeeded"] + streams:
                            raise SystemExit(f"{name} x{streams}: h2load saw {figures['succeeded']} succeed, the server {ok} OK")
                    if payload == "stored":
                        stored = _verdicts(database) - before_verdicts
                        if not figures["succeeded"] * frameworks <= stored <= (figures["succeeded"] + streams) * frameworks:
                            raise SystemExit(f"{name} x{streams}: {stored} verdicts stored for {figures['succeeded']} calls")
                    results.setdefault((name, streams), []).append(figures)
                    print(f"round {round_number + 1} {name:18} x{streams:<3} {figures['rps']:9.0f} req/s  p50 {figures['p50']:7.2f} ms  p99 {figures['p99']:7.2f} ms", flush=True)
        if args.perf:
            profile(ours, files["dry_run"], work)
    finally:
        ours.stop()
        go.stop()

    def median(name, streams, key):
        return statistics.median(r[key] for r in results[(name, streams)])

    print()
    print("| call | streams | req/s | p50 ms | p99 ms | vs our Health/Check | vs grpc-go Health/Check |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, *_ in cases:
        for streams in STREAMS:
            rps = median(name, streams, "rps")
            print(
                f"| {name} | {streams} | {rps:,.0f} | {median(name, streams, 'p50'):.2f} | {median(name, streams, 'p99'):.2f} "
                f"| {rps / median('Health/Check', streams, 'rps'):.2f} | {rps / median('go Health/Check', streams, 'rps'):.2f} |"
            )


def _verdicts(database: Path) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]


def profile(server, payload, work):
    """perf profile of the server under 16 streams of dry_run Evaluate, by shared object."""
    data = work / "perf.data"
    recorder = subprocess.Popen(
        ["perf", "record", "-g", "-o", str(data), "-p", str(server.process.pid), "--", "sleep", "6"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    h2load(server.addresses["grpc"], "/policywatch.v1.Evaluator/Evaluate", payload, 16, 6, 0, work)
    recorder.wait()
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "dso", "--stdio"],
        capture_output=True, text=True,
    )
    print("\nperf, by shared object (dry_run Evaluate, 16 streams):")
    print("\n".join(l for l in report.stdout.splitlines() if l.strip() and not l.startswith("#"))[:3000])
    symbols = subprocess.run(
        ["perf", "report", "-i", str(data), "--no-children", "--sort", "symbol", "--stdio", "-g", "none"],
        capture_output=True, text=True,
    )
    print("\nperf, top symbols:")
    print("\n".join([l for l in symbols.stdout.splitlines() if l.strip() and not l.startswith("#")][:40]))


if __name__ == "__main__":
    main()
