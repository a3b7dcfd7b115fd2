"""An independent gRPC client (Python grpcio) against a real `policywatch serve`: health,
reflection, UNIMPLEMENTED for pending methods, and graceful shutdown."""

import signal
import time

import grpc
import pytest

POLICY_SERVICES = {
    "policywatch.v1.Evaluator",
    "policywatch.v1.Verdicts",
    "policywatch.v1.Proposals",
    "policywatch.v1.Frameworks",
}


def test_health_reports_serving(stubs, server):
    from grpcproto.health.v1 import health_pb2, health_pb2_grpc

    with server.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in [""] + sorted(POLICY_SERVICES):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert response.status == health_pb2.HealthCheckResponse.SERVING, service
        with pytest.raises(grpc.RpcError) as error:
            health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_four_services(stubs, server):
    from grpcproto.reflection.v1 import reflection_pb2, reflection_pb2_grpc

    with server.channel() as channel:
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="policywatch.v1.Verdicts"),
        ]
        responses = list(reflection.ServerReflectionInfo(iter(requests), timeout=10))
    names = {s.name for s in responses[0].list_services_response.service}
    assert POLICY_SERVICES <= names
    assert "grpc.health.v1.Health" in names

    from google.protobuf import descriptor_pb2

    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in responses[1].file_descriptor_response.file_descriptor_proto
    ]
    assert files[0].name == "policywatch/v1/verdicts.proto"
    assert [s.name for s in files[0].service] == ["Verdicts"]


def test_reflection_v1alpha_serves_a_standard_descriptor_database(stubs, server):
    """grpcio-reflection's client speaks v1alpha; it must resolve our types."""
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )
    from google.protobuf.descriptor_pool import DescriptorPool

    with server.channel() as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert POLICY_SERVICES <= set(database.get_services())
        pool = DescriptorPool(database)
        evaluate = pool.FindMethodByName("policywatch.v1.Evaluator.Evaluate")
        assert evaluate.input_type.full_name == "policywatch.v1.EvaluateRequest"
        proposal = pool.FindMessageTypeByName("policywatch.v1.Proposal")
        assert "participants" in proposal.fields_by_name


def test_unknown_methods_answer_unimplemented(stubs, server):
    with server.channel() as channel:
        call = channel.unary_unary("/policywatch.v1.Verdicts/NoSuchMethod")
        with pytest.raises(grpc.RpcError) as error:
            call(b"", timeout=10)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_one_log_line_per_rpc(stubs, server):
    from grpcproto.health.v1 import health_pb2, health_pb2_grpc

    with server.channel() as channel:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline:
        lines = [l for l in server.lines if "msg=rpc" in l and "grpc.health.v1.Health/Check" in l]
        if lines:
            break
        time.sleep(0.05)
    assert len(lines) == 1, server.lines
    assert "status=OK" in lines[0]
    assert "duration_ms=" in lines[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_drains_and_exits_cleanly(stubs, server, sig):
    from grpcproto.health.v1 import health_pb2, health_pb2_grpc

    with server.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(), timeout=30)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        server.process.send_signal(sig)
        # A watcher sees the server draining before the stream ends.
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert server.process.wait(timeout=30) == 0
    assert any("msg=stopped" in line for line in server.lines)
