"""TLS, mutual TLS, callers with roles and the safe defaults, with an independent grpcio
client. Certificates are made for each run with openssl."""

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

import grpc
import pytest

from conftest import ROOT, Server, policywatch_binary
from test_frameworks import proposal_message

TOKENS = {"reader": "tok-reader-4f1c", "evaluator": "tok-evaluator-93ab", "admin": "tok-admin-77de"}


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str):
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
        cwd=directory,
    )


def make_certificate(directory: Path, ca: str, name: str, subject: str, server=False):
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory,
    )
    extensions = directory / f"{name}.ext"
    extensions.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        if server
        else "extendedKeyUsage=clientAuth\n"
    )
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", str(extensions),
        cwd=directory,
    )


@pytest.fixture(scope="module")
def pki():
    directory = Path(tempfile.mkdtemp(prefix="policywatch-pki-"))
    make_ca(directory, "ca")
    make_ca(directory, "other-ca")
    make_certificate(directory, "ca", "server", "/CN=localhost", server=True)
    make_certificate(directory, "ca", "client", "/O=Example/CN=dashboard")
    make_certificate(directory, "other-ca", "stranger", "/O=Example/CN=dashboard")
    auth = directory / "callers.yaml"
    lines = ["tokens:"]
    for role, token in TOKENS.items():
        lines += [f"  - name: ci-{role}", f"    sha256: {hashlib.sha256(token.encode()).hexdigest()}", f"    role: {role}"]
    lines += ["certificates:", "  - subject: CN=dashboard,O=Example", "    name: dashboard", "    role: evaluator"]
    auth.write_text("\n".join(lines) + "\n")
    return directory


def read(directory, name):
    return (directory / name).read_bytes()


def secure_channel(server, pki, client=None):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(pki, "ca.pem"),
        private_key=read(pki, f"{client}.key") if client else None,
        certificate_chain=read(pki, f"{client}.pem") if client else None,
    )
    return grpc.secure_channel(server.address, credentials)


def bearer(role):
    return [("authorization", f"Bearer {TOKENS[role]}")]


def sample():
    return proposal_message(ROOT / "rules" / "proposals" / "P01.yaml")


def test_roles_over_tls(stubs, pki):
    from grpcproto.health.v1 import health_pb2, health_pb2_grpc
    from policywatch.v1 import (
        evaluator_pb2, evaluator_pb2_grpc, frameworks_pb2, frameworks_pb2_grpc,
        verdicts_pb2, verdicts_pb2_grpc,
    )

    server = Server(
        "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
        "--auth-config", str(pki / "callers.yaml"),
    )
    try:
        with secure_channel(server, pki) as channel:
            evaluator = evaluator_pb2_grpc.EvaluatorStub(channel)
            verdicts = verdicts_pb2_grpc.VerdictsStub(channel)
            frameworks = frameworks_pb2_grpc.FrameworksStub(channel)
            evaluate = evaluator_pb2.EvaluateRequest(proposal=sample())
            reload = frameworks_pb2.ReloadRulesRequest()
            listing = verdicts_pb2.ListVerdictsRequest()

            def code(call, request, metadata=None):
                try:
                    call(request, metadata=metadata, timeout=30)
                    return grpc.StatusCode.OK
                except grpc.RpcError as error:
                    return error.code()

            # Health stays open; everything else needs credentials.
            assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10).status == 1
            assert code(verdicts.ListVerdicts, listing) == grpc.StatusCode.UNAUTHENTICATED
            assert code(verdicts.ListVerdicts, listing, [("authorization", "Bearer wrong")]) == grpc.StatusCode.UNAUTHENTICATED
            assert code(verdicts.ListVerdicts, listing, [("authorization", "Basic abc")]) == grpc.StatusCode.UNAUTHENTICATED

            assert code(verdicts.ListVerdicts, listing, bearer("reader")) == grpc.StatusCode.OK
            assert code(evaluator.Evaluate, evaluate, bearer("reader")) == grpc.StatusCode.PERMISSION_DENIED
            assert code(frameworks.ReloadRules, reload, bearer("reader")) == grpc.StatusCode.PERMISSION_DENIED

            response = evaluator.Evaluate(evaluate, metadata=bearer("evaluator"), timeout=30)
            assert {v.requested_by for v in response.verdicts} == {"ci-evaluator"}
            # Streams carry the principal too, and are checked the same way.
            streamed = list(evaluator.EvaluateStream(iter([evaluate]), metadata=bearer("evaluator"), timeout=30))
            assert {v.requested_by for v in streamed[0].verdicts} == {"ci-evaluator"}
            with pytest.raises(grpc.RpcError) as raised:
                list(evaluator.EvaluateStream(iter([evaluate]), metadata=bearer("reader"), timeout=30))
            assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
            watch = verdicts.WatchVerdicts(verdicts_pb2.WatchVerdictsRequest(after_sequence=0), metadata=bearer("reader"))
            assert next(watch).verdict.requested_by == "ci-evaluator"
            watch.cancel()
            assert code(frameworks.ReloadRules, reload, bearer("evaluator")) == grpc.StatusCode.PERMISSION_DENIED
            assert code(evaluator.Evaluate, evaluate, bearer("admin")) == grpc.StatusCode.OK
            assert frameworks.ReloadRules(reload, metadata=bearer("admin"), timeout=30).rulebook_revision

        audit = [json.loads(l) for l in (Path(server.data_dir) / "audit.log").read_text().splitlines()]
        assert {"principal": "ci-admin", "method": "policywatch.v1.Frameworks/ReloadRules", "outcome": "OK"}.items() <= audit[-1].items()
        assert any(e["outcome"] == "PERMISSION_DENIED" and e["principal"] == "ci-reader" for e in audit)
        # Tokens are never written down.
        everything = "\n".join(server.lines) + (Path(server.data_dir) / "audit.log").read_text()
        assert not any(token in everything for token in TOKENS.values())

        # A plaintext client cannot talk to the TLS port.
        with grpc.insecure_channel(server.address) as plain:
            with pytest.raises(grpc.RpcError) as raised:
                health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE

        # The CLI with --tls-ca and a token from the environment.
        cli = subprocess.run(
            [str(policywatch_binary()), "verdicts", "list", "--server", server.address, "--tls-ca", str(pki / "ca.pem"), "--format", "json"],
            capture_output=True, text=True, timeout=60, env={"POLICYWATCH_TOKEN": TOKENS["reader"], "PATH": "/usr/bin:/bin"},
        )
        assert cli.returncode == 0, cli.stderr
        assert len(cli.stdout.splitlines()) == 15
        cli = subprocess.run(
            [str(policywatch_binary()), "rules", "reload", "--server", server.address, "--tls-ca", str(pki / "ca.pem"), "--token", TOKENS["reader"]],
            capture_output=True, text=True, timeout=60,
        )
        assert cli.returncode == 2 and "needs admin" in cli.stderr
    finally:
        assert server.stop() == 0


def test_mutual_tls(stubs, pki):
    from grpcproto.health.v1 import health_pb2, health_pb2_grpc
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc

    server = Server(
        "--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
        "--tls-client-ca", str(pki / "ca.pem"), "--auth-config", str(pki / "callers.yaml"),
    )
    try:
        # Without a client certificate, or with one from another CA, the handshake fails.
        for client in (None, "stranger"):
            with secure_channel(server, pki, client) as channel:
                with pytest.raises(grpc.RpcError) as raised:
                    health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
                assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        # The certificate's subject is a principal: no token needed.
        with secure_channel(server, pki, "client") as channel:
            response = evaluator_pb2_grpc.EvaluatorStub(channel).Evaluate(
                evaluator_pb2.EvaluateRequest(proposal=sample(), dry_run=True), timeout=30
            )
            assert {v.requested_by for v in response.verdicts} == {"dashboard"}
        cli = subprocess.run(
            [str(policywatch_binary()), "check", str(ROOT / "rules" / "proposals" / "P01.yaml"), "--server", server.address,
             "--tls-ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "client.pem"), "--tls-key", str(pki / "client.key"), "--format", "json"],
            capture_output=True, text=True, timeout=60,
        )
        assert cli.returncode in (0, 1), cli.stderr
    finally:
        assert server.stop() == 0


def test_a_non_loopback_address_needs_tls_and_auth(stubs):
    run = subprocess.run(
        [str(policywatch_binary()), "serve", "--listen", "0.0.0.0:0", "--data-dir", tempfile.mkdtemp(), "--rules", str(ROOT / "rules")],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 1
    lines = [l for l in run.stderr.splitlines() if "refusing" in l]
    assert len(lines) == 1 and "0.0.0.0" in lines[0] and "--insecure" in lines[0]
    # --insecure is the explicit way out.
    server = Server("--listen", "0.0.0.0:0", "--insecure")
    assert server.address.startswith("0.0.0.0:")
    assert server.stop() == 0


def test_a_bad_callers_file_is_reported_with_its_position(stubs):
    path = Path(tempfile.mkdtemp()) / "callers.yaml"
    path.write_text("tokens:\n  - name: x\n    sha256: not-hex\n    role: admin\n")
    run = subprocess.run(
        [str(policywatch_binary()), "serve", "--listen", "127.0.0.1:0", "--data-dir", tempfile.mkdtemp(),
         "--rules", str(ROOT / "rules"), "--auth-config", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 1
    assert f"{path}:3:13: error:" in run.stderr and "sha256" in run.stderr


def test_rate_limits_answer_resource_exhausted_with_retry_info(stubs):
    from google.rpc import error_details_pb2, status_pb2
    from policywatch.v1 import verdicts_pb2, verdicts_pb2_grpc

    server = Server("--rate-limit", "2", "--rate-burst", "5")
    try:
        with server.channel() as channel:
            stub = verdicts_pb2_grpc.VerdictsStub(channel)
            codes = []
            for _ in range(12):
                try:
                    stub.ListVerdicts(verdicts_pb2.ListVerdictsRequest(), timeout=10)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as error:
                    codes.append(error.code())
                    last = error
            assert codes[:5] == [grpc.StatusCode.OK] * 5
            assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes[5:]
            details = dict(last.trailing_metadata())["grpc-status-details-bin"]
            status = status_pb2.Status.FromString(details)
            retry = error_details_pb2.RetryInfo()
            assert status.details[0].Unpack(retry)
            assert 0 < retry.retry_delay.ToMilliseconds() <= 500
            # Health checks are never limited.
            from grpcproto.health.v1 import health_pb2, health_pb2_grpc

            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    finally:
        assert server.stop() == 0


def test_sighup_rereads_the_certificate_without_dropping_streams(stubs, pki):
    import shutil
    import signal
    import ssl

    from test_watch import Watcher, wait_for
    from policywatch.v1 import evaluator_pb2, evaluator_pb2_grpc

    files = Path(tempfile.mkdtemp(prefix="policywatch-certs-"))
    shutil.copy(pki / "server.pem", files / "cert.pem")
    shutil.copy(pki / "server.key", files / "key.pem")
    server = Server("--tls-cert", str(files / "cert.pem"), "--tls-key", str(files / "key.pem"), "--watch-heartbeat", "0.2")
    host, port = server.address.rsplit(":", 1)
    try:
        before = ssl.get_server_certificate((host, int(port)))
        with secure_channel(server, pki) as channel:
            watcher = Watcher(channel, after_sequence=0)
            watcher.take(1, heartbeats=True)
            make_certificate(pki, "ca", "renewed", "/CN=localhost", server=True)
            shutil.copy(pki / "renewed.pem", files / "cert.pem")
            shutil.copy(pki / "renewed.key", files / "key.pem")
            server.process.send_signal(signal.SIGHUP)
            wait_for(lambda: any("TLS certificate reloaded" in l for l in server.lines))
            after = ssl.get_server_certificate((host, int(port)))
            assert after != before
            assert ssl.PEM_cert_to_DER_cert(after) == ssl.PEM_cert_to_DER_cert((pki / "renewed.pem").read_text())
            # The stream opened before the reload goes on.
            response = evaluator_pb2_grpc.EvaluatorStub(channel).Evaluate(
                evaluator_pb2.EvaluateRequest(proposal=sample()), timeout=30
            )
            seen = watcher.take(len(response.verdicts))
            assert [e.sequence for e in seen] == [v.sequence for v in response.verdicts]
            watcher.cancel()
        # A broken certificate file is refused; the renewed one stays in use.
        (files / "cert.pem").write_text("not a certificate")
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: any("TLS certificate not reloaded" in l for l in server.lines))
        assert ssl.get_server_certificate((host, int(port))) == after
    finally:
        assert server.stop() == 0


def test_reflection_is_open_unless_closed(stubs, pki):
    from grpcproto.reflection.v1 import reflection_pb2, reflection_pb2_grpc

    def list_services(channel, metadata=None):
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        responses = list(stub.ServerReflectionInfo(iter([request]), metadata=metadata, timeout=10))
        return [s.name for s in responses[0].list_services_response.service]

    for closed in (False, True):
        server = Server("--auth-config", str(pki / "callers.yaml"), *(["--close-reflection"] if closed else []))
        try:
            with server.channel() as channel:
                if closed:
                    with pytest.raises(grpc.RpcError) as raised:
                        list_services(channel)
                    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
                    assert "policywatch.v1.Evaluator" in list_services(channel, bearer("reader"))
                else:
                    assert "policywatch.v1.Evaluator" in list_services(channel)
        finally:
            assert server.stop() == 0
