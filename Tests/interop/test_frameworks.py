"""The Frameworks service and dry-run evaluation, called by an independent grpcio client."""

import shutil
import tempfile
from pathlib import Path

import grpc
import pytest
import yaml

from conftest import ROOT, Server

SHIPPED = {"global-ai-governance", "unesco-ai-ethics", "oecd-ai-principles", "nist-ai-rmf", "eu-ai-act"}


def proposal_message(path):
    """Builds a Proposal message from one of the sample YAML files."""
    from policywatch.v1 import proposal_pb2

    data = yaml.safe_load(Path(path).read_text())
    message = proposal_pb2.Proposal(
        id=data["id"], title=data["title"], body=data.get("body", ""),
        sponsors=data.get("sponsors") or [], coordinator=data.get("coordinator") or "",
        sectors=data.get("sectors") or [], instruments=data.get("instruments") or [],
        review_date=str(data.get("review_date") or ""),
    )
    for row in data.get("participants") or []:
        participant = message.participants.add(name=row[0], kind=f"KIND_{row[1].upper()}", region=row[2])
        if isinstance(row[3], bool):
            participant.global_south = row[3]
        if len(row) > 4:
            participant.role = f"ROLE_{row[4].upper()}"
    for item in data.get("commitments") or []:
        message.commitments.add(
            kind=f"KIND_{item['kind'].upper()}", amount_usd=int(item.get("amount_usd") or 0),
            count=int(item.get("count") or 0), beneficiaries=str(item.get("beneficiaries") or ""),
            licence=str(item.get("licence") or ""),
        )
    return message


def test_list_and_get_frameworks(stubs, server):
    from policywatch.v1 import frameworks_pb2, frameworks_pb2_grpc

    with server.channel() as channel:
        frameworks = frameworks_pb2_grpc.FrameworksStub(channel)
        listing = frameworks.ListFrameworks(frameworks_pb2.ListFrameworksRequest(), timeout=10)
        assert {f.id for f in listing.frameworks} == SHIPPED
        assert len(listing.rulebook_revision) == 64
        assert all(f.rule_count > 0 and not f.principles for f in listing.frameworks)

        gag = frameworks.GetFramework(frameworks_pb2.GetFrameworkRequest(id="global-ai-governance"), timeout=10)
        rule_ids = [r.id for p in gag.principles for r in p.rules]
        assert "MUL-001" in rule_ids and gag.version

        with pytest.raises(grpc.RpcError) as error:
            frameworks.GetFramework(frameworks_pb2.GetFrameworkRequest(id="nope"), timeout=10)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        assert "global-ai-governance" in error.value.details()


def test_validate_rules_reports_positions(stubs, server):
    from policywatch.v1 import frameworks_pb2, frameworks_pb2_grpc

    good = (ROOT / "rules" / "nist-ai-rmf.yaml").read_text()
    broken = good.replace("expr: proposal.coordinator != ''", "expr: proposal.coordinater != ''")
    with server.channel() as channel:
        frameworks = frameworks_pb2_grpc.FrameworksStub(channel)
        ok = frameworks.ValidateRules(
            frameworks_pb2.ValidateRulesRequest(files=[frameworks_pb2.RuleFile(path="nist.yaml", content=good)]), timeout=30)
        assert ok.valid and [f.id for f in ok.frameworks] == ["nist-ai-rmf"]
        bad = frameworks.ValidateRules(
            frameworks_pb2.ValidateRulesRequest(files=[frameworks_pb2.RuleFile(path="nist.yaml", content=broken)]), timeout=30)
    assert not bad.valid
    diagnostic = bad.diagnostics[0]
    assert diagnostic.file == "nist.yaml" and diagnostic.line > 0 and diagnostic.column > 0
    assert "did you mean 'coordinator'" in diagnostic.message


def test_reload_keeps_old_rules_when_broken(stubs):
    rules = Path(tempfile.mkdtemp(prefix="policywatch-rules-"))
    shutil.copy(ROOT / "rules" / "nist-ai-rmf.yaml", rules / "nist-ai-rmf.yaml")
    running = Server(rules=rules)
    try:
        from policywatch.v1 import frameworks_pb2, frameworks_pb2_grpc

        with running.channel() as channel:
            frameworks = frameworks_pb2_grpc.FrameworksStub(channel)
            before = frameworks.GetRuleStatus(frameworks_pb2.GetRuleStatusRequest(), timeout=10)
            (rules / "nist-ai-rmf.yaml").write_text("framework: [broken\n")
            reload = frameworks.ReloadRules(frameworks_pb2.ReloadRulesRequest(), timeout=30)
            assert not reload.reloaded and reload.diagnostics
            status = frameworks.GetRuleStatus(frameworks_pb2.GetRuleStatusRequest(), timeout=10)
            assert status.rulebook_revision == before.rulebook_revision
            assert status.last_attempt_failed and status.last_error[0].line > 0

            shutil.copy(ROOT / "rules" / "oecd-ai-principles.yaml", rules / "oecd-ai-principles.yaml")
            shutil.copy(ROOT / "rules" / "nist-ai-rmf.yaml", rules / "nist-ai-rmf.yaml")
            reload = frameworks.ReloadRules(frameworks_pb2.ReloadRulesRequest(), timeout=30)
            assert reload.reloaded and reload.changed_frameworks == ["oecd-ai-principles"]
            status = frameworks.GetRuleStatus(frameworks_pb2.GetRuleStatusRequest(), timeout=10)
            assert not status.last_attempt_failed
            assert {f.id for f in status.frameworks} == {"nist-ai-rmf", "oecd-ai-principles"}
    finally:
        running.stop()


def test_dry_run_evaluation_of_the_samples(stubs, server):
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc, verdict_pb2

    expected = {"P01": verdict_pb2.OUTCOME_ALIGNED, "P02": verdict_pb2.OUTCOME_ALIGNED,
                "P03": verdict_pb2.OUTCOME_NOT_ALIGNED, "P04": verdict_pb2.OUTCOME_NOT_ALIGNED,
                "P05": verdict_pb2.OUTCOME_NOT_ALIGNED}
    with server.channel() as channel:
        evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
        for pid, outcome in expected.items():
            response = evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
                proposal=proposal_message(ROOT / "rules" / "proposals" / f"{pid}.yaml"),
                framework_ids=["global-ai-governance"], dry_run=True, request_id=pid), timeout=30)
            assert response.request_id == pid and len(response.proposal_hash) == 64
            (verdict,) = response.verdicts
            assert verdict.outcome == outcome, pid
            assert verdict.sequence == 0
            for rule in (r for p in verdict.principles for r in p.rules):
                if rule.outcome == verdict_pb2.RULE_OUTCOME_FAIL:
                    assert rule.message


def test_evaluate_errors_name_the_bad_fields(stubs, server):
    from google.rpc import error_details_pb2, status_pb2
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc, proposal_pb2

    def details(error):
        for key, value in error.trailing_metadata() or []:
            if key == "grpc-status-details-bin":
                status = status_pb2.Status.FromString(value)
                request = error_details_pb2.BadRequest()
                status.details[0].Unpack(request)
                return [v.field for v in request.field_violations]
        return []

    bad = proposal_pb2.Proposal(id="bad id!", participants=[proposal_pb2.Participant(name="A"), proposal_pb2.Participant(name="")])
    bad.commitments.add(amount_usd=-5)
    with server.channel() as channel:
        evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
        with pytest.raises(grpc.RpcError) as error:
            evaluator.Evaluate(evaluator_pb2.EvaluateRequest(proposal=bad, dry_run=True), timeout=10)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(details(error.value)) == {
            "proposal.id", "proposal.title", "proposal.participants[1].name", "proposal.commitments[0].amount_usd"}

        huge = proposal_pb2.Proposal(id="H", title="t", body="x" * 1_000_001)
        with pytest.raises(grpc.RpcError) as error:
            evaluator.Evaluate(evaluator_pb2.EvaluateRequest(proposal=huge, dry_run=True), timeout=30)
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

        with pytest.raises(grpc.RpcError) as error:
            evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
                proposal=proposal_pb2.Proposal(id="X", title="t"), framework_ids=["nope"], dry_run=True), timeout=10)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND

        # Still up after all that.
        ok = evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
            proposal=proposal_pb2.Proposal(id="X", title="Plain text", body="Training is published."), dry_run=True), timeout=10)
        assert len(ok.verdicts) == len(SHIPPED)


def test_server_refuses_to_start_on_broken_rules(stubs):
    import subprocess
    from conftest import policywatch_binary

    rules = Path(tempfile.mkdtemp(prefix="policywatch-broken-"))
    (rules / "x.yaml").write_text("framework: {id: x, name: X, version: '1'}\nprinciples: nope\n")
    result = subprocess.run([str(policywatch_binary()), "serve", "--listen", "127.0.0.1:0", "--rules", str(rules),
                             "--data-dir", tempfile.mkdtemp()], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"{rules}/x.yaml:2:" in result.stderr
