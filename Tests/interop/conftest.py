"""Fixtures for the interop suite: stubs generated from proto/ at test time with grpcio-tools,
and a real `policywatch serve` process on a free loopback port."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO = ROOT / "proto"


@pytest.fixture(scope="session")
def stubs():
    """Generates Python modules for every file under proto/ and makes them importable."""
    from grpc_tools import protoc
    import grpc_tools

    work = Path(tempfile.mkdtemp(prefix="policywatch-stubs-"))
    # proto/grpc/... would generate a Python package `grpc` that shadows grpcio itself, so the
    # standard protos are generated under `grpcproto` (their proto package, and so the wire
    # names of their services, stay grpc.health.v1 and grpc.reflection.v1).
    source = work / "proto"
    shutil.copytree(PROTO, source)
    (source / "grpc").rename(source / "grpcproto")
    out = work / "gen"
    out.mkdir()
    protos = sorted(str(p.relative_to(source)) for p in source.rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    code = protoc.main(
        ["protoc", f"-I{source}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}"]
        + protos
    )
    assert code == 0, f"protoc failed with {code}"
    for package_dir in [p for p in out.rglob("*") if p.is_dir()]:
        (package_dir / "__init__.py").touch()
    sys.path.insert(0, str(out))
    return out


def policywatch_binary() -> Path:
    explicit = os.environ.get("POLICYWATCH_BIN")
    path = Path(explicit) if explicit else ROOT / ".build" / "debug" / "policywatch"
    if not path.exists():
        pytest.fail(f"{path} does not exist: build it first with `swift build`")
    return path


class Server:
    """A running `policywatch serve`, its address and its log lines."""

    def __init__(self, *extra_args, data_dir=None, rules=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="policywatch-data-")
        args = [
            str(policywatch_binary()),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            self.data_dir,
            "--rules",
            str(rules or ROOT / "rules"),
            *extra_args,
        ]
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._listening = threading.Event()
        self.address = None
        self.metrics_address = None
        threading.Thread(target=self._read_log, daemon=True).start()
        if not self._listening.wait(timeout=60):
            self.process.kill()
            pytest.fail("server did not start listening:\n" + "\n".join(self.lines))

    def _read_log(self):
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            metrics = re.search(r'msg="metrics listening" .*address=(\S+)', line)
            if metrics:
                self.metrics_address = metrics.group(1)
            match = re.search(r"msg=listening .*address=(\S+)", line)
            if match and not self._listening.is_set():
                self.address = match.group(1)
                self._listening.set()

    def channel(self):
        return grpc.insecure_channel(self.address)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@pytest.fixture
def server():
    running = Server()
    yield running
    running.stop()
