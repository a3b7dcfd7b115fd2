"""Stored evaluations: Evaluate P01-P08, find the verdicts again by id and by listing (several
pages), find the proposals, restart the server on the same SQLite file and find it all again."""

import grpc
import pytest

from conftest import ROOT, Server
from test_frameworks import proposal_message

SAMPLES = [f"P0{i}" for i in range(1, 9)]


def evaluate_samples(channel):
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc

    evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
    responses = {}
    for pid in SAMPLES:
        responses[pid] = evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
            proposal=proposal_message(ROOT / "rules" / "proposals" / f"{pid}.yaml")), timeout=30)
    return responses


def test_evaluations_are_stored_and_found_again_after_a_restart(stubs):
    from policywatch.v1 import (evaluator_pb2, evaluator_pb2_grpc, proposals_pb2, proposals_pb2_grpc,
                                verdicts_pb2, verdicts_pb2_grpc, verdict_pb2)

    first = Server()
    try:
        with first.channel() as channel:
            responses = evaluate_samples(channel)
            verdicts = verdicts_pb2_grpc.VerdictsStub(channel)
            all_ids = set()
            sequences = []
            for pid, response in responses.items():
                assert response.proposal_revision == 1
                assert len(response.verdicts) == 5
                for verdict in response.verdicts:
                    assert verdict.id and verdict.sequence > 0 and verdict.proposal_revision == 1
                    all_ids.add(verdict.id)
                    sequences.append(verdict.sequence)
                    again = verdicts.GetVerdict(verdicts_pb2.GetVerdictRequest(id=verdict.id), timeout=10)
                    assert again == verdict
            assert sequences == sorted(sequences) and len(set(sequences)) == 40

            # The same content again: same revision; changed content: a new revision.
            evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
            p01 = proposal_message(ROOT / "rules" / "proposals" / "P01.yaml")
            again = evaluator.Evaluate(evaluator_pb2.EvaluateRequest(proposal=p01, framework_ids=["nist-ai-rmf"]), timeout=30)
            assert again.proposal_revision == 1
            p01.title += " (revised)"
            revised = evaluator.Evaluate(evaluator_pb2.EvaluateRequest(proposal=p01, framework_ids=["nist-ai-rmf"]), timeout=30)
            assert revised.proposal_revision == 2
    finally:
        assert first.stop() == 0

    second = Server(data_dir=first.data_dir)
    try:
        with second.channel() as channel:
            verdicts = verdicts_pb2_grpc.VerdictsStub(channel)
            # Page through everything, 7 at a time, newest first, with no repeat and no gap.
            seen, token, pages = [], "", 0
            while True:
                page = verdicts.ListVerdicts(verdicts_pb2.ListVerdictsRequest(page_size=7, page_token=token), timeout=10)
                seen.extend(v.sequence for v in page.verdicts)
                pages += 1
                token = page.next_page_token
                if not token:
                    break
            assert pages == 6 and len(seen) == 42
            assert seen == sorted(seen, reverse=True) and len(set(seen)) == 42
            assert all_ids <= {v.id for v in verdicts.ListVerdicts(
                verdicts_pb2.ListVerdictsRequest(page_size=1000), timeout=10).verdicts}

            filtered = verdicts.ListVerdicts(verdicts_pb2.ListVerdictsRequest(
                framework_id="global-ai-governance", outcomes=[verdict_pb2.OUTCOME_ALIGNED]), timeout=10)
            assert sorted(v.proposal_id for v in filtered.verdicts) == ["P01", "P02"]
            by_proposal = verdicts.ListVerdicts(verdicts_pb2.ListVerdictsRequest(proposal_id="P03"), timeout=10)
            assert len(by_proposal.verdicts) == 5

            proposals = proposals_pb2_grpc.ProposalsStub(channel)
            latest = proposals.GetProposal(proposals_pb2.GetProposalRequest(id="P01"), timeout=10)
            assert latest.revision == 2 and latest.revision_count == 2 and latest.proposal.title.endswith("(revised)")
            original = proposals.GetProposal(proposals_pb2.GetProposalRequest(id="P01", revision=1), timeout=10)
            assert not original.proposal.title.endswith("(revised)") and len(original.content_hash) == 64
            listed, token = [], ""
            while True:
                page = proposals.ListProposals(proposals_pb2.ListProposalsRequest(page_size=3, page_token=token), timeout=10)
                listed.extend(p.proposal.id for p in page.proposals)
                token = page.next_page_token
                if not token:
                    break
            assert listed == SAMPLES
    finally:
        second.stop()


def test_lookup_errors(stubs, server):
    from policywatch.v1 import proposals_pb2, proposals_pb2_grpc, verdicts_pb2, verdicts_pb2_grpc

    with server.channel() as channel:
        verdicts = verdicts_pb2_grpc.VerdictsStub(channel)
        proposals = proposals_pb2_grpc.ProposalsStub(channel)
        for call, code in [
            (lambda: verdicts.GetVerdict(verdicts_pb2.GetVerdictRequest(id="no-such-id"), timeout=10), grpc.StatusCode.NOT_FOUND),
            (lambda: verdicts.GetVerdict(verdicts_pb2.GetVerdictRequest(), timeout=10), grpc.StatusCode.INVALID_ARGUMENT),
            (lambda: verdicts.ListVerdicts(verdicts_pb2.ListVerdictsRequest(page_token="garbage"), timeout=10),
             grpc.StatusCode.INVALID_ARGUMENT),
            (lambda: verdicts.ListVerdicts(verdicts_pb2.ListVerdictsRequest(page_size=-1), timeout=10),
             grpc.StatusCode.INVALID_ARGUMENT),
            (lambda: proposals.GetProposal(proposals_pb2.GetProposalRequest(id="nope"), timeout=10), grpc.StatusCode.NOT_FOUND),
        ]:
            with pytest.raises(grpc.RpcError) as error:
                call()
            assert error.value.code() == code
        # An empty store lists nothing, without a next page.
        empty = verdicts.ListVerdicts(verdicts_pb2.ListVerdictsRequest(), timeout=10)
        assert not empty.verdicts and not empty.next_page_token


def test_acknowledged_verdicts_survive_kill_9(stubs):
    """Concurrent Evaluate calls, the server killed with SIGKILL mid-load, restarted: every
    verdict a client saw acknowledged is in the store."""
    import signal
    import threading
    import time

    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc, proposal_pb2, verdicts_pb2, verdicts_pb2_grpc

    first = Server()
    acknowledged = set()
    lock = threading.Lock()
    stop = threading.Event()

    def worker(n):
        with first.channel() as channel:
            evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
            i = 0
            while not stop.is_set():
                proposal = proposal_pb2.Proposal(id=f"K{n}-{i}", title="Kill test", body="Training is published every year.")
                try:
                    response = evaluator.Evaluate(
                        evaluator_pb2.EvaluateRequest(proposal=proposal, framework_ids=["nist-ai-rmf"]), timeout=10)
                except grpc.RpcError:
                    return
                with lock:
                    acknowledged.update(v.id for v in response.verdicts)
                i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            if len(acknowledged) >= 200:
                break
        time.sleep(0.01)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) >= 200

    second = Server(data_dir=first.data_dir)
    try:
        with second.channel() as channel:
            verdicts = verdicts_pb2_grpc.VerdictsStub(channel)
            stored, token = set(), ""
            while True:
                page = verdicts.ListVerdicts(verdicts_pb2.ListVerdictsRequest(page_size=1000, page_token=token), timeout=30)
                stored.update(v.id for v in page.verdicts)
                token = page.next_page_token
                if not token:
                    break
        assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged verdicts lost"
    finally:
        second.stop()


def test_evaluate_stream_answers_in_order_with_item_errors(stubs, server):
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc, proposal_pb2

    def requests():
        for i in range(30):
            if i == 7:
                yield evaluator_pb2.EvaluateRequest(
                    proposal=proposal_pb2.Proposal(id="bad id!", title="x"), request_id=f"r{i}", framework_ids=["nist-ai-rmf"])
            else:
                yield evaluator_pb2.EvaluateRequest(
                    proposal=proposal_pb2.Proposal(id=f"S{i}", title="Stream", body="Results are published."),
                    request_id=f"r{i}", framework_ids=["nist-ai-rmf"], dry_run=(i % 2 == 0))

    with server.channel() as channel:
        evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
        responses = list(evaluator.EvaluateStream(requests(), timeout=60))
    assert [r.request_id for r in responses] == [f"r{i}" for i in range(30)]
    bad = responses[7]
    assert bad.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert [v.field for v in bad.error.field_violations] == ["proposal.id"]
    for i, response in enumerate(responses):
        if i == 7:
            continue
        assert not response.HasField("error") and len(response.verdicts) == 1
        assert (response.verdicts[0].sequence == 0) == (i % 2 == 0)


def test_limits_are_flags_and_oversized_input_is_refused(stubs):
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc, proposal_pb2

    server = Server("--max-body-chars", "100", "--max-list-length", "3", "--max-request-bytes", "65536")
    try:
        with server.channel() as channel:
            evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
            cases = [
                proposal_pb2.Proposal(id="L1", title="t", body="x" * 101),
                proposal_pb2.Proposal(id="L2", title="t", sponsors=["a", "b", "c", "d"]),
            ]
            for proposal in cases:
                with pytest.raises(grpc.RpcError) as error:
                    evaluator.Evaluate(evaluator_pb2.EvaluateRequest(proposal=proposal, dry_run=True), timeout=10)
                assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, proposal.id
            # Over --max-request-bytes the transport resets the stream (grpc-swift-nio-transport
            # 2.9 sends RST_STREAM rather than a status): refused either way, and the server stays up.
            with pytest.raises(grpc.RpcError) as error:
                evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
                    proposal=proposal_pb2.Proposal(id="L3", title="t", body="y" * 70000), dry_run=True), timeout=10)
            assert error.value.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED)
            ok = evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
                proposal=proposal_pb2.Proposal(id="L4", title="t", body="x" * 100), dry_run=True), timeout=10)
            assert ok.verdicts
    finally:
        server.stop()


def test_an_expired_deadline_stores_nothing(stubs, server):
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc, proposal_pb2, proposals_pb2, proposals_pb2_grpc

    with server.channel() as channel:
        evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
                proposal=proposal_pb2.Proposal(id="D1", title="t", body="Training. " * 20000)), timeout=0.001)
        assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        import time
        time.sleep(1)
        with pytest.raises(grpc.RpcError) as missing:
            proposals_pb2_grpc.ProposalsStub(channel).GetProposal(proposals_pb2.GetProposalRequest(id="D1"), timeout=10)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
