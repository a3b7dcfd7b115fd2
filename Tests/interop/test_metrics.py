"""Prometheus metrics on --metrics-listen, read over real HTTP."""

import re
import time
import urllib.request

from conftest import ROOT, Server


def scrape(address):
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def test_metrics_count_requests_verdicts_commits_and_the_rule_book(stubs):
    from grpcproto.health.v1 import health_pb2, health_pb2_grpc
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc, proposal_pb2

    server = Server("--metrics-listen", "127.0.0.1:0")
    try:
        deadline = time.time() + 10
        while server.metrics_address is None and time.time() < deadline:
            time.sleep(0.05)
        assert server.metrics_address, server.lines
        with server.channel() as channel:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
            for i in range(3):
                evaluator.Evaluate(evaluator_pb2.EvaluateRequest(
                    proposal=proposal_pb2.Proposal(id=f"M{i}", title="Metrics", body="Results are published."),
                    framework_ids=["nist-ai-rmf"]), timeout=10)
        text = scrape(server.metrics_address)
        assert 'policywatch_rpc_requests_total{method="grpc.health.v1.Health/Check",code="OK"} 1' in text
        assert 'policywatch_rpc_requests_total{method="policywatch.v1.Evaluator/Evaluate",code="OK"} 3' in text
        assert "policywatch_rpc_duration_seconds_bucket" in text
        assert 'policywatch_verdicts_total{framework="nist-ai-rmf"' in text
        # Three sequential calls: three commits of one evaluation each.
        assert re.search(r"^policywatch_store_commit_batch_size_count 3$", text, re.M), text
        assert re.search(r"^policywatch_store_commit_batch_size_sum 3(\.0)?$", text, re.M), text
        assert "policywatch_rulebook_info{revision=" in text
        assert 'policywatch_rulebook_frameworks_count 5' in text
    finally:
        server.stop()
