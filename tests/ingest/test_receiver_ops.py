"""Operating the receiver: start-up rules, restart, graceful shutdown, allow-list, TLS, failures."""

from __future__ import annotations

import datetime as dt
import errno
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.callbacks import body_for
from support.credentials import TOKEN
from support.lake import lake_data_files, lake_rows
from support.paths import CLI
from support.receiver import ReceiverProc, ThreadedServer
from support.waiting import wait_until

from ingest.app import create_app
from ingest.fsops import FileOps
from settings import ReceiverSettings, SenderToken


def tids_in_lake(data_dir: Path) -> list[str]:
    rows = lake_rows(data_dir, table="notificacoes", sql="select transaction_id from t")
    return [r[0] for r in rows]


def test_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    env["CCEE_WEBHOOK_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run(
        [CLI, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "CCEE_WEBHOOK_TOKENS" in proc.stderr and "--insecure-no-token" in proc.stderr


def test_refuses_a_publish_delay_that_is_not_positive(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    env |= {
        "CCEE_WEBHOOK_DATA_DIR": str(tmp_path),
        "CCEE_WEBHOOK_TOKENS": f"P:{TOKEN}",
        "CCEE_WEBHOOK_PUBLISH_AFTER_MS": "0",
    }
    proc = subprocess.run(
        [CLI, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "publish-after must be > 0 ms" in proc.stderr
    assert TOKEN not in proc.stderr


def test_insecure_mode_and_default_body_limit(
    receiver_factory: Callable[..., ReceiverProc],
) -> None:
    rcv = receiver_factory("--insecure-no-token", tokens=None)
    tid = str(uuid.uuid4())
    assert rcv.post(path="/ccee/preferencia-1", content=body_for(tid)).status_code == 201
    assert rcv.post(path="/ccee", content=body_for()).status_code == 201
    rows = lake_rows(rcv.data_dir, table="notificacoes",
                     sql="select destino, perfil from t order by 1")
    assert rows == [("/ccee", None), ("/ccee/preferencia-1", None)]
    # Default limit: 1 MiB. A valid body just under it is accepted, one byte over is not.
    pad = 1024 * 1024 - len(body_for(tid, extra="")) - 10
    near = body_for(tid, extra="x" * pad)
    assert len(near) <= 1024 * 1024
    assert rcv.post(path="/ccee/p", content=near).status_code == 201
    over = body_for(tid, extra="x" * (pad + 20))
    r = rcv.post(path="/ccee/p", content=over)
    assert r.status_code == 413 and r.json()["motivo"] == "corpo_grande_demais"


def test_restart_keeps_every_acknowledged_row(
    receiver_factory: Callable[..., ReceiverProc], tmp_path: Path
) -> None:
    data = tmp_path / "shared"
    first = receiver_factory(data_dir=data)
    tids = [str(uuid.uuid4()) for _ in range(40)]
    for tid in tids[:20]:
        assert first.post(path=f"/ccee/{TOKEN}", content=body_for(tid)).status_code == 201
    assert first.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after shutdown
    assert "receiver stopped; lake flushed" in first.log()
    second = receiver_factory(data_dir=data)
    for tid in tids[20:]:
        assert second.post(path=f"/ccee/{TOKEN}", content=body_for(tid)).status_code == 201
    assert sorted(tids_in_lake(data)) == sorted(tids)
    instancias = lake_rows(data, table="notificacoes",
                           sql="select count(distinct instancia) from t")
    assert instancias == [(2,)]


def test_graceful_shutdown_finishes_requests_in_flight(
    receiver_factory: Callable[..., ReceiverProc],
) -> None:
    rcv = receiver_factory()
    host, port = rcv.url.removeprefix("http://").split(":")
    tids = [str(uuid.uuid4()) for _ in range(10)]
    socks = []
    for tid in tids:
        body = body_for(tid)
        s = socket.create_connection((host, int(port)), timeout=30)
        head = (
            f"POST /ccee/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        s.sendall(head + body[:10])  # the rest of the body comes after SIGTERM
        socks.append((s, body))

    def in_progress() -> int:
        text = rcv.client.get("/metrics").text
        line = next(x for x in text.splitlines() if x.startswith("ccee_webhook_requests_in_"))
        return int(float(line.split()[-1]))

    wait_until(lambda: in_progress() == 10, what="10 requests in progress")
    rcv.proc.send_signal(signal.SIGTERM)
    statuses = []
    for s, body in socks:
        s.sendall(body[10:])
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        statuses.append(int(reply.split(b" ", 2)[1]) if reply else None)
        s.close()
    assert rcv.proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert "receiver stopped; lake flushed" in rcv.log()
    assert statuses == [201] * 10
    assert set(tids) <= set(tids_in_lake(rcv.data_dir))


def test_ip_allow_list(receiver_factory: Callable[..., ReceiverProc]) -> None:
    denied = receiver_factory("--allow-ip", "10.0.0.0/8", "--allow-ip", "2001:db8::/32")
    r = denied.post(path=f"/ccee/{TOKEN}", content=body_for())
    assert r.status_code == 403 and r.json()["motivo"] == "ip_nao_permitido"
    assert denied.post(path=f"/ccee/{TOKEN}", content=b"{bad").status_code == 403
    assert lake_data_files(denied.data_dir) == []
    allowed = receiver_factory("--allow-ip", "127.0.0.0/8")
    assert allowed.post(path=f"/ccee/{TOKEN}", content=body_for()).status_code == 201


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls(receiver_factory: Callable[..., ReceiverProc], tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    rcv = receiver_factory("--tls-cert", str(cert), "--tls-key", str(key),
                           verify=ssl.create_default_context(cafile=cert))
    assert rcv.url.startswith("https://127.0.0.1:")
    with httpx.Client(base_url=rcv.url, verify=ssl.create_default_context(cafile=cert)) as client:
        r = client.post(
            f"/ccee/{TOKEN}", content=body_for(), headers={"content-type": "application/json"}
        )
    assert r.status_code == 201
    with httpx.Client(base_url=rcv.url.replace("https", "http")) as plain:
        try:
            status = plain.post(f"/ccee/{TOKEN}", content=body_for()).status_code
        except httpx.HTTPError:
            status = None
    assert status != 201


def test_unwritable_lake_answers_503_then_recovers(
    receiver_factory: Callable[..., ReceiverProc],
) -> None:
    rcv = receiver_factory()
    assert rcv.post(path=f"/ccee/{TOKEN}", content=body_for()).status_code == 201
    assert rcv.client.get("/readyz").status_code == 200
    tids_in_lake(rcv.data_dir)  # settled: the first delivery is published
    table = rcv.data_dir / "lake" / "notificacoes"
    # Break the disk for real: the table folder becomes a regular file (works even as root).
    moved = table.with_name("notificacoes.moved")
    table.rename(moved)
    table.write_bytes(b"not a directory")
    assert rcv.client.get("/readyz").status_code == 503
    # A write-ahead log segment opened before the break still takes appends (its file is
    # intact and fsync'd: those 201s are durable) until the publisher seals it, which races
    # with the next request; once the receiver needs a new file, 503.
    durable_meanwhile: list[str] = []
    for _ in range(20):
        tid = str(uuid.uuid4())
        r = rcv.post(path=f"/ccee/{TOKEN}", content=body_for(tid))
        if r.status_code == 201:
            durable_meanwhile.append(tid)
            continue
        break
    assert r.status_code == 503, "a broken lake must be refused with 503"
    # No new segment can be made while the folder is broken: every later delivery is refused.
    for _ in range(3):
        assert rcv.post(path=f"/ccee/{TOKEN}", content=body_for()).status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["motivo"] == "persistencia_falhou"
    assert "Retry-After" in r.headers
    # Bad input is still answered as bad input (4xx), never a 5xx, even with the disk broken.
    assert rcv.post(path=f"/ccee/{TOKEN}", content=b"{bad").status_code == 400
    table.unlink()
    moved.rename(table)
    assert rcv.client.get("/readyz").status_code == 200
    assert rcv.post(path=f"/ccee/{TOKEN}", content=body_for(tid)).status_code == 201  # CCEE's retry
    stored = tids_in_lake(rcv.data_dir)
    assert stored.count(tid) == 1
    assert all(stored.count(t) == 1 for t in durable_meanwhile)
    assert "persistencia_falhou" in rcv.client.get("/metrics").text


class FullDisk(FileOps):
    """The lake's filesystem seam, failing durable writes with ENOSPC like a full disk."""

    def fsync_file(self, f: BinaryIO) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def append_durably(self, fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_via_filesystem_seam_is_503_never_201(tmp_path: Path) -> None:
    settings = ReceiverSettings(data_dir=str(tmp_path), tokens=(SenderToken(TOKEN, "P"),))
    with (
        ThreadedServer(create_app(settings, ops=FullDisk())) as srv,
        httpx.Client(base_url=srv.url) as client,
    ):
        for _ in range(3):
            r = client.post(
                f"/ccee/{TOKEN}", content=body_for(), headers={"content-type": "application/json"}
            )
            assert r.status_code == 503
            assert r.json()["motivo"] == "persistencia_falhou"
        r = client.post(
            f"/ccee/{TOKEN}", content=b"{bad", headers={"content-type": "application/json"}
        )
        assert r.status_code == 400
    assert [p for p in tmp_path.rglob("*.parquet")] == []
    assert [p for p in tmp_path.rglob("*.tmp")] == []


def test_several_workers_share_the_lake(receiver_factory: Callable[..., ReceiverProc]) -> None:
    rcv = receiver_factory("--workers", "2")
    tids = [str(uuid.uuid4()) for _ in range(30)]
    for tid in tids:
        assert rcv.post(path=f"/ccee/{TOKEN}", content=body_for(tid)).status_code == 201
    assert sorted(tids_in_lake(rcv.data_dir)) == sorted(tids)
    assert rcv.stop() in (0, -signal.SIGTERM)
    assert rcv.log().count("receiver stopped; lake flushed") == 2


def accepted_total(text: str) -> float:
    """Sum of `ccee_webhook_deliveries_accepted_total` over its `perfil` labels."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("ccee_webhook_deliveries_accepted_total{")
    )


def test_several_workers_serve_one_metrics_page(
    receiver_factory: Callable[..., ReceiverProc], tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    rcv = receiver_factory("--workers", "2", env={"TMPDIR": str(tmp)})
    (shared,) = tmp.iterdir()  # made by serve for its workers
    assert shared.name.startswith("ccee-webhook-metrics-")
    sent = 0

    def both_workers_took_some() -> bool:
        # A new connection each time, so that the kernel hands requests to either worker.
        nonlocal sent
        with httpx.Client(base_url=rcv.url, timeout=10) as client:
            r = client.post(
                f"/ccee/{TOKEN}", content=body_for(), headers={"content-type": "application/json"}
            )
        assert r.status_code == 201
        sent += 1
        pids = lake_rows(rcv.data_dir, "select count(distinct instancia) from t")
        return sent >= 4 and pids == [(2,)]

    wait_until(both_workers_took_some, timeout=60, what="both workers to accept deliveries")
    def scrape() -> float:
        with httpx.Client(base_url=rcv.url, timeout=10) as client:  # either worker answers
            return accepted_total(client.get("/metrics").text)

    # Whichever worker answers, the page counts every worker's deliveries (the other
    # worker's figures are at most GAUGE_REFRESH seconds old).
    wait_until(lambda: scrape() == sent, what="/metrics to count every worker's deliveries")
    assert [scrape() for _ in range(6)] == [sent] * 6
    assert rcv.stop() in (0, -signal.SIGTERM)
    assert list(tmp.iterdir()) == []  # the shared metrics folder is removed on exit
