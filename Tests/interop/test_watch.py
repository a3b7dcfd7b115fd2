"""Watching verdicts, hot reload of rule files and re-evaluation, with an independent grpcio
client against a real server, a temporary rules directory and a real SQLite file."""

import queue
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from conftest import ROOT, Server
from test_frameworks import proposal_message

FRAMEWORK = """\
framework:
  id: watch-test
  name: Watch test
  version: "{version}"
  description: A framework for the watch tests.
  sources:
    - {{title: "Test", year: 2026, address: "https://example.org"}}
principles:
  - id: membership
    name: Membership
    description: Enough participants.
    weight: 1
    rules:
      - id: WT-001
        title: Enough participants
        severity: major
        expr: {expr}
        message: Too few participants
        remediation: Add participants.
"""

STRICT = FRAMEWORK.format(version="1", expr="proposal.participants.size() >= 100")
LENIENT = FRAMEWORK.format(version="2", expr="proposal.participants.size() >= 1")
# A misspelt field: the loader must refuse it with file:line:col.
BROKEN = FRAMEWORK.format(version="3", expr="proposal.participantz.size() >= 1")

FAST = ["--watch-heartbeat", "0.3", "--rules-poll", "0.1", "--rules-settle", "0.3"]


def rules_dir(text=STRICT):
    directory = Path(tempfile.mkdtemp(prefix="policywatch-rules-"))
    (directory / "watch-test.yaml").write_text(text)
    return directory


def proposal(n, base="P01"):
    message = proposal_message(ROOT / "rules" / "proposals" / f"{base}.yaml")
    message.id = f"W{n:04d}"
    return message


def evaluate(channel, message, **kwargs):
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc

    return evaluator_pb2_grpc.EvaluatorStub(channel).Evaluate(
        evaluator_pb2.EvaluateRequest(proposal=message, **kwargs), timeout=30
    )


def store_many(channel, count, base="P01"):
    """Stores `count` proposals through one EvaluateStream; returns the responses."""
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc

    stub = evaluator_pb2_grpc.EvaluatorStub(channel)
    requests = (evaluator_pb2.EvaluateRequest(proposal=proposal(n, base)) for n in range(count))
    responses = list(stub.EvaluateStream(requests, timeout=300))
    assert all(not r.HasField("error") for r in responses)
    return responses


class Watcher:
    """A WatchVerdicts stream read by a thread into a queue."""

    def __init__(self, channel, **request):
        from policywatch.v1 import verdicts_pb2, verdicts_pb2_grpc

        self.call = verdicts_pb2_grpc.VerdictsStub(channel).WatchVerdicts(
            verdicts_pb2.WatchVerdictsRequest(**request)
        )
        self.events = queue.Queue()
        self.error = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for event in self.call:
                self.events.put(event)
        except grpc.RpcError as error:
            self.error = error
        self.events.put(None)

    def take(self, count, timeout=30, heartbeats=False):
        """The next `count` events (heartbeats skipped unless asked for)."""
        taken = []
        deadline = time.monotonic() + timeout
        while len(taken) < count:
            event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            assert event is not None, f"stream ended early: {self.error}"
            if event.kind == event.KIND_HEARTBEAT and not heartbeats:
                continue
            taken.append(event)
        return taken

    def cancel(self):
        self.call.cancel()


def wait_for(predicate, timeout=20, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def rule_status(channel):
    from policywatch.v1 import frameworks_pb2, frameworks_pb2_grpc

    return frameworks_pb2_grpc.FrameworksStub(channel).GetRuleStatus(
        frameworks_pb2.GetRuleStatusRequest(), timeout=10
    )


def test_watchers_get_exactly_the_events_and_resume_without_gap_or_repeat(stubs):
    from policywatch.v1 import verdicts_pb2

    server = Server(*FAST, rules=rules_dir())
    try:
        with server.channel() as channel:
            live = Watcher(channel)
            # The first heartbeat shows the live watcher is subscribed.
            assert live.take(1, heartbeats=True)[0].kind == verdicts_pb2.VerdictEvent.KIND_HEARTBEAT
            replaying = Watcher(channel, after_sequence=0)

            with ThreadPoolExecutor(max_workers=8) as pool:
                responses = list(pool.map(lambda n: evaluate(channel, proposal(n)), range(50)))
            acknowledged = sorted(v.sequence for r in responses for v in r.verdicts)
            assert len(acknowledged) == 50

            for watcher in (live, replaying):
                events = watcher.take(50)
                assert [e.sequence for e in events] == acknowledged
                assert all(e.kind == verdicts_pb2.VerdictEvent.KIND_CREATED for e in events)
                assert all(e.verdict.sequence == e.sequence for e in events)
                # Nothing more than those 50 arrives.
                time.sleep(0.5)
                rest = []
                while not watcher.events.empty():
                    rest.append(watcher.events.get())
                assert all(e.kind == verdicts_pb2.VerdictEvent.KIND_HEARTBEAT for e in rest)

            # A watcher that disconnects at event 20 and resumes gets 21..50, once each.
            first = Watcher(channel, after_sequence=0)
            seen = first.take(20)
            first.cancel()
            resumed = Watcher(channel, after_sequence=seen[-1].sequence)
            rest = resumed.take(30)
            assert [e.sequence for e in seen + rest] == acknowledged
            # Heartbeats carry the latest sequence: a resume point.
            heartbeat = resumed.take(1, heartbeats=True)[0]
            assert heartbeat.kind == verdicts_pb2.VerdictEvent.KIND_HEARTBEAT
            assert heartbeat.sequence == acknowledged[-1]

            # Filters: one proposal only.
            only = Watcher(channel, after_sequence=0, proposal_ids=["W0007"])
            event = only.take(1)[0]
            assert event.verdict.proposal_id == "W0007"
            for watcher in (live, replaying, resumed, only):
                watcher.cancel()
    finally:
        assert server.stop() == 0


def test_watch_arguments_are_checked(stubs, server):
    from policywatch.v1 import verdict_pb2, verdicts_pb2, verdicts_pb2_grpc

    with server.channel() as channel:
        stub = verdicts_pb2_grpc.VerdictsStub(channel)
        cases = [
            (
                verdicts_pb2.WatchVerdictsRequest(outcomes=[verdict_pb2.OUTCOME_UNSPECIFIED]),
                grpc.StatusCode.INVALID_ARGUMENT,
                "outcomes[0]",
            ),
            (
                verdicts_pb2.WatchVerdictsRequest(after_sequence=-1),
                grpc.StatusCode.INVALID_ARGUMENT,
                "after_sequence",
            ),
            (
                verdicts_pb2.WatchVerdictsRequest(framework_ids=["no-such-framework"]),
                grpc.StatusCode.NOT_FOUND,
                "no-such-framework",
            ),
        ]
        for request, code, text in cases:
            with pytest.raises(grpc.RpcError) as raised:
                list(stub.WatchVerdicts(request, timeout=10))
            assert raised.value.code() == code
            assert text in raised.value.details()


def test_a_watcher_that_does_not_read_is_ended_with_resource_exhausted(stubs):
    server = Server("--watch-buffer", "4", rules=rules_dir())
    try:
        with server.channel() as channel:
            from policywatch.v1 import verdicts_pb2, verdicts_pb2_grpc

            stalled = verdicts_pb2_grpc.VerdictsStub(channel).WatchVerdicts(
                verdicts_pb2.WatchVerdictsRequest(after_sequence=0)
            )
            # Large proposals fill the transport's windows; then the watcher's buffer overflows.
            big = proposal(0)
            big.body = big.body + " filler" * 20000
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(lambda n: evaluate(channel, _renamed(big, n)), range(300)))
            received = 0
            with pytest.raises(grpc.RpcError) as raised:
                for _ in stalled:
                    received += 1
            assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "after_sequence=" in raised.value.details()
            assert received < 300
            # The server is unharmed and evaluation was never held up.
            assert evaluate(channel, proposal(999)).verdicts
    finally:
        assert server.stop() == 0


def _renamed(message, n):
    copy = type(message)()
    copy.CopyFrom(message)
    copy.id = f"BIG{n:04d}"
    return copy


def test_rule_edit_is_reloaded_and_p03_change_is_published(stubs):
    from policywatch.v1 import verdict_pb2, verdicts_pb2

    rules = rules_dir()
    server = Server(*FAST, rules=rules)
    try:
        with server.channel() as channel:
            p03 = proposal_message(ROOT / "rules" / "proposals" / "P03.yaml")
            before = evaluate(channel, p03).verdicts[0]
            assert before.outcome == verdict_pb2.OUTCOME_NOT_ALIGNED
            old_revision = rule_status(channel).rulebook_revision
            watcher = Watcher(channel, after_sequence=before.sequence)

            # An editor saving in two writes: the half-written file must not be reported.
            path = rules / "watch-test.yaml"
            half = len(LENIENT) // 2
            with open(path, "w") as handle:
                handle.write(LENIENT[:half])
                handle.flush()
                time.sleep(0.05)
                handle.write(LENIENT[half:])

            status = wait_for(
                lambda: (s := rule_status(channel)).rulebook_revision != old_revision and s, timeout=10
            )
            assert not status.last_attempt_failed
            assert [f.version for f in status.frameworks] == ["2"]

            changed = watcher.take(1, timeout=10)[0]
            assert changed.kind == verdicts_pb2.VerdictEvent.KIND_CHANGED
            assert changed.verdict.proposal_id == p03.id
            assert changed.previous_outcome == verdict_pb2.OUTCOME_NOT_ALIGNED
            assert changed.verdict.outcome == verdict_pb2.OUTCOME_ALIGNED
            assert changed.verdict.rulebook_revision == status.rulebook_revision
            assert changed.verdict.requested_by == "system:reevaluation"
            assert evaluate(channel, p03, dry_run=True).verdicts[0].outcome == verdict_pb2.OUTCOME_ALIGNED
            assert any("rules reloaded" in line and "trigger=" in line for line in server.lines)
            watcher.cancel()
    finally:
        assert server.stop() == 0


def test_a_broken_rule_file_keeps_the_old_rules_serving(stubs):
    from policywatch.v1 import frameworks_pb2, frameworks_pb2_grpc, verdict_pb2

    rules = rules_dir()
    server = Server(*FAST, rules=rules)
    try:
        with server.channel() as channel:
            p03 = proposal_message(ROOT / "rules" / "proposals" / "P03.yaml")
            old_revision = rule_status(channel).rulebook_revision
            (rules / "watch-test.yaml").write_text(BROKEN)

            status = wait_for(lambda: (s := rule_status(channel)).last_attempt_failed and s)
            assert status.rulebook_revision == old_revision
            error = status.last_error[0]
            assert error.file.endswith("watch-test.yaml")
            line = BROKEN.splitlines().index(next(l for l in BROKEN.splitlines() if "participantz" in l)) + 1
            # The column of the selection `.participantz`, as CEL positions a field selection.
            column = BROKEN.splitlines()[line - 1].index(".participantz") + 1
            assert (error.line, error.column) == (line, column)
            assert "participantz" in error.message
            # The old rules answer.
            verdict = evaluate(channel, p03).verdicts[0]
            assert verdict.outcome == verdict_pb2.OUTCOME_NOT_ALIGNED
            assert verdict.rulebook_revision == old_revision
            # ReloadRules gives the same diagnostics.
            reload = frameworks_pb2_grpc.FrameworksStub(channel).ReloadRules(
                frameworks_pb2.ReloadRulesRequest(), timeout=10
            )
            assert not reload.reloaded and reload.diagnostics[0].line == line
            assert any("rules not reloaded" in l for l in server.lines)

            # Fixed: the new rules go live.
            (rules / "watch-test.yaml").write_text(LENIENT)
            wait_for(lambda: not rule_status(channel).last_attempt_failed)
            assert rule_status(channel).rulebook_revision != old_revision
    finally:
        assert server.stop() == 0


def reevaluate(channel, **request):
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc

    return evaluator_pb2_grpc.EvaluatorStub(channel).Reevaluate(
        evaluator_pb2.ReevaluateRequest(**request), timeout=300
    )


def test_1000_proposals_are_reevaluated_while_evaluate_keeps_answering(stubs):
    from policywatch.v1 import verdicts_pb2

    rules = rules_dir()
    server = Server(*FAST, "--reevaluation-batch", "16", rules=rules)
    try:
        with server.channel() as channel:
            stored = store_many(channel, 1000)
            last = stored[-1].verdicts[0].sequence
            watcher = Watcher(channel, after_sequence=last)
            (rules / "watch-test.yaml").write_text(LENIENT)

            # Live calls keep being answered while the job runs.
            answered = []
            stop = threading.Event()

            def live():
                n = 5000
                while not stop.is_set():
                    answered.append(evaluate(channel, proposal(n), dry_run=True))
                    n += 1

            thread = threading.Thread(target=live)
            thread.start()
            changed = watcher.take(1000, timeout=240)
            stop.set()
            thread.join()
            assert len(answered) > 0
            assert all(e.kind == verdicts_pb2.VerdictEvent.KIND_CHANGED for e in changed)
            assert sorted(e.verdict.proposal_id for e in changed) == [f"W{n:04d}" for n in range(1000)]

            # Reevaluate on demand: nothing changes any more; progress ends finished.
            progress = list(reevaluate(channel))
            assert progress[-1].finished
            assert progress[-1].done == progress[-1].total == 1000
            assert progress[-1].changed == 0
            assert len({p.job_id for p in progress}) == 1
            # only_stale: every latest verdict is from the live book now.
            stale = list(reevaluate(channel, only_stale=True))
            assert stale[-1].finished and stale[-1].changed == 0
            watcher.cancel()
    finally:
        assert server.stop() == 0


def test_a_restart_during_a_job_resumes_it(stubs):
    from policywatch.v1 import verdicts_pb2
    import signal

    rules = rules_dir()
    data = tempfile.mkdtemp(prefix="policywatch-data-")
    slow = ["--reevaluation-batch", "1", "--durability", "full"]
    server = Server(*FAST, *slow, rules=rules, data_dir=data)
    with server.channel() as channel:
        store_many(channel, 400)
    server.stop()
    # The rules change while the server is down: the next start re-evaluates by itself.
    (rules / "watch-test.yaml").write_text(LENIENT)
    server = Server(*FAST, *slow, rules=rules, data_dir=data)
    with server.channel() as channel:
        progress = reevaluate(channel)
        first = next(progress)
        job = first.job_id
        assert first.total == 400
        for update in progress:
            if 0 < update.done < update.total:
                break
        else:
            pytest.fail("the job finished before it could be interrupted")
        progress.cancel()
    server.stop(signal.SIGKILL)

    server = Server(*FAST, *slow, rules=rules, data_dir=data)
    try:
        with server.channel() as channel:
            assert any("resuming re-evaluation" in l and job in l for l in server.lines)
            final = list(reevaluate(channel))[-1]
            # The same job, finished where it left off.
            assert final.job_id == job
            assert final.finished and final.done == final.total == 400
            # Every proposal changed exactly once, across the restart.
            events = Watcher(channel, after_sequence=0)
            all_events = []
            # The replay is over at the first heartbeat (sent only on an idle stream).
            while (event := events.take(1, heartbeats=True)[0]).kind != verdicts_pb2.VerdictEvent.KIND_HEARTBEAT:
                if event.kind == verdicts_pb2.VerdictEvent.KIND_CHANGED:
                    all_events.append(event)
            events.cancel()
            assert sorted(e.verdict.proposal_id for e in all_events) == [f"W{n:04d}" for n in range(400)]
    finally:
        assert server.stop() == 0


def test_the_cli_watches_and_reloads(stubs):
    import json
    import subprocess

    from conftest import policywatch_binary

    rules = rules_dir()
    server = Server("--rules-poll", "0", rules=rules)
    cli = [str(policywatch_binary())]
    try:
        with server.channel() as channel:
            responses = [evaluate(channel, proposal(n)) for n in range(3)]
        run = subprocess.run(
            cli + ["watch", "--server", server.address, "--after", "0", "--count", "3", "--format", "json"],
            capture_output=True, text=True, timeout=60,
        )
        assert run.returncode == 0, run.stderr
        events = [json.loads(line) for line in run.stdout.splitlines()]
        assert [int(e["sequence"]) for e in events] == [r.verdicts[0].sequence for r in responses]
        assert all(e["kind"] == "KIND_CREATED" for e in events)

        # With polling off, a change waits for `rules reload`.
        (rules / "watch-test.yaml").write_text(BROKEN)
        run = subprocess.run(cli + ["rules", "reload", "--server", server.address], capture_output=True, text=True, timeout=60)
        assert run.returncode == 1
        assert "watch-test.yaml:17:" in run.stderr and "participantz" in run.stderr
        run = subprocess.run(cli + ["rules", "status", "--server", server.address], capture_output=True, text=True, timeout=60)
        assert run.returncode == 1 and "(failed)" in run.stdout and "watch-test.yaml:17:" in run.stderr

        (rules / "watch-test.yaml").write_text(LENIENT)
        run = subprocess.run(cli + ["rules", "reload", "--server", server.address], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "reloaded" in run.stdout and "watch-test" in run.stdout and "re-evaluation job" in run.stdout
        run = subprocess.run(
            cli + ["watch", "--server", server.address, "--after", str(responses[-1].verdicts[0].sequence), "--count", "3"],
            capture_output=True, text=True, timeout=60,
        )
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert len(lines) == 3 and all("changed" in l and "not_aligned -> aligned" in l for l in lines)

        # SIGHUP reloads too.
        import signal

        (rules / "watch-test.yaml").write_text(STRICT)
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: any("trigger=SIGHUP" in l for l in server.lines))

        # A stream the server ends (here: it shuts down) says so, with where to resume.
        watching = subprocess.Popen(
            cli + ["watch", "--server", server.address, "--after", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert "created" in watching.stdout.readline()  # connected and replaying
        assert server.stop() == 0
        _, stderr = watching.communicate(timeout=30)
        assert watching.returncode == 1, stderr
        assert "ended the stream" in stderr and "after_sequence=" in stderr
    finally:
        assert server.stop() == 0
