"""Alert channels end to end: a real SMTP server (aiosmtpd, STARTTLS + LOGIN) and a real HTTP
sink on 127.0.0.1. Open, no repeat, resolve, channel down then back, rate limit, no secret."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from alert_support import Warehouse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipelines.core.alerting import evaluate
from settings.alerts import AlertSettings

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
HOOK_TOKEN = "T0KEN-do-webhook-9f8e7d6c"
SMTP_PASSWORD = "senha-SMTP-3b2a1f"
RECEIVER_TOKEN = "token-do-receptor-77aa"


class Sink:
    """An HTTP server that records JSON bodies; `status` decides the answer (503 = down)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(n))
                sink.paths.append(self.path)
                if sink.status == 200:
                    sink.bodies.append(body)
                self.send_response(sink.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{HOOK_TOKEN}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"alertas" and auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok)


def _tls(tmp: Path) -> tuple[ssl.SSLContext, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    import ipaddress

    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem, key_pem = tmp / "smtp.pem", tmp / "smtp.key"
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_pem, key_pem)
    return ctx, cert_pem


class Smtp:
    def __init__(self, tmp: Path) -> None:
        self.box = Mailbox()
        self.ctx, self.ca = _tls(tmp)
        with socket.socket() as sock:  # a fixed port, so the server can come back on it
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.box, hostname="127.0.0.1", port=self.port, tls_context=self.ctx,
            require_starttls=True, authenticator=self.box.authenticator, auth_required=True,
            auth_require_tls=True,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    s = Smtp(tmp_path)
    s.start()
    yield s
    s.stop()


def _settings(sink: Sink, smtp: Smtp, **kw: Any) -> AlertSettings:
    return AlertSettings(
        webhook_url=sink.url,
        smtp_url=f"smtp://alertas@127.0.0.1:{smtp.port}",
        smtp_password=SMTP_PASSWORD,
        smtp_ca_file=str(smtp.ca),
        email_to=("plantao@example.com",),
        email_from="ccee-webhook@example.com",
        channel_timeout_s=5.0,
        dashboard_url="http://reports.local/delivery_health.html",
        **kw,
    ).validate()


def _lost(wh: Warehouse, tx: str) -> None:
    wh.result(tx, "NOTIFICADO", NOW - dt.timedelta(hours=5), NOW - dt.timedelta(hours=4))


def test_open_no_repeat_resolve_channel_down_then_back(
    data_dir: Path, sink: Sink, smtp: Smtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCEE_WEBHOOK_TOKENS", f"88888:{RECEIVER_TOKEN}")
    wh = Warehouse(data_dir)
    wh.delivery("tx-ok", NOW - dt.timedelta(minutes=5))
    _lost(wh, "tx-perdida-1")
    s = _settings(sink, smtp)

    # open: one alert, delivered to both channels
    out = evaluate(data_dir, NOW, settings=s)
    assert [(a.regra, a.estado) for a in out.alerts] == [("perda_de_dados", "aberto")]
    assert out.delivery.enviados == {"webhook": 1, "email": 1}
    [body] = sink.bodies
    assert body["regra"] == "perda_de_dados" and body["estado"] == "aberto"
    assert body["contagem"] == 1 and body["primeiro_transaction_id"] == "tx-perdida-1"
    assert "tx-perdida-1" in body["text"] and "perda_de_dados" in body["text"]
    assert body["consulta"].startswith("SELECT") and body["painel"].startswith("http://reports")
    [mail] = smtp.box.messages
    assert b"ABERTO perda_de_dados" in mail
    assert smtp.box.logins == [(b"alertas", SMTP_PASSWORD.encode())]

    # still open, more affected: no repeat
    _lost(wh, "tx-perdida-2")
    out = evaluate(data_dir, NOW + dt.timedelta(minutes=2), settings=s)
    assert out.alerts == [] and len(sink.bodies) == 1 and len(smtp.box.messages) == 1

    # both channels down when it clears: recorded, queued, nothing raised
    wh.delivery("tx-perdida-1", NOW)
    wh.delivery("tx-perdida-2", NOW)
    sink.status = 503
    smtp.stop()
    t0 = time.time()
    out = evaluate(data_dir, NOW + dt.timedelta(minutes=4), settings=s)
    assert [a.estado for a in out.alerts] == ["resolvido"]
    assert out.delivery.falhas == {
        "webhook": "webhook answered HTTP 503", "email": "SMTP unreachable (ConnectionRefusedError)"
    }
    assert out.delivery.pendentes == {"webhook": 1, "email": 1}
    assert len(sink.paths) == 2  # tried once, not hammered

    # before the backoff is over nothing is retried
    out = evaluate(data_dir, NOW + dt.timedelta(minutes=5), settings=s, clock=lambda: t0 + 10)
    assert len(sink.paths) == 2 and out.delivery.pendentes == {"webhook": 1, "email": 1}

    # back: the retry delivers the "resolvido" once, with the latest figures
    sink.status = 200
    smtp.start()
    out = evaluate(data_dir, NOW + dt.timedelta(minutes=6), settings=s,
                   clock=lambda: t0 + 120)
    assert out.alerts == [] and out.delivery.enviados == {"webhook": 1, "email": 1}
    assert out.delivery.pendentes == {}
    assert [b["estado"] for b in sink.bodies] == ["aberto", "resolvido"]
    assert sink.bodies[1]["contagem"] == 2 and "RESOLVIDO" in sink.bodies[1]["text"]
    assert len(smtp.box.messages) == 2
    assert message_from_bytes(smtp.box.messages[1])["Subject"].startswith(
        "[ccee-webhook] RESOLVIDO perda_de_dados"
    )

    # no secret anywhere an alert went or is kept
    stored = [
        (data_dir / "alerts.jsonl").read_bytes(),
        *(f.read_bytes() for f in data_dir.glob("alerts_state.sqlite3*")),
        json.dumps(sink.bodies).encode(),
        *smtp.box.messages,
    ]
    for secret in (HOOK_TOKEN, SMTP_PASSWORD, RECEIVER_TOKEN):
        assert not any(secret.encode() in blob for blob in stored), secret


def test_rate_limit_defers_to_the_next_hour_without_losing_alerts(
    data_dir: Path, sink: Sink, smtp: Smtp
) -> None:
    wh = Warehouse(data_dir)
    wh.delivery("tx-ok", NOW - dt.timedelta(minutes=5))
    for perfil in ("p1", "p2", "p3"):
        wh.result(f"tx-{perfil}", "NOTIFICADO", NOW - dt.timedelta(hours=5),
                  NOW - dt.timedelta(hours=4), perfil=perfil)
    s = _settings(sink, smtp, max_messages_per_hour=2)
    t0 = time.time()
    out = evaluate(data_dir, NOW, settings=s, clock=lambda: t0)
    assert len(out.alerts) == 3
    assert out.delivery.enviados == {"webhook": 2, "email": 2}
    assert out.delivery.pendentes == {"webhook": 1, "email": 1}
    out = evaluate(data_dir, NOW, settings=s, clock=lambda: t0 + 3601)
    assert out.delivery.enviados == {"webhook": 1, "email": 1}
    assert sorted(b["perfil"] for b in sink.bodies) == ["p1", "p2", "p3"]
    assert len(smtp.box.messages) == 3


def test_alert_titles_never_carry_a_configured_secret(data_dir: Path, sink: Sink,
                                                      smtp: Smtp) -> None:
    """Even a perfil label equal to a secret (a misconfiguration) is masked everywhere."""
    wh = Warehouse(data_dir)
    wh.delivery("tx-ok", NOW - dt.timedelta(minutes=5))
    wh.result("tx-1", "NOTIFICADO", NOW - dt.timedelta(hours=5), NOW - dt.timedelta(hours=4),
              perfil=SMTP_PASSWORD)
    s = _settings(sink, smtp)
    [a] = evaluate(data_dir, NOW, settings=s).alerts
    assert a.chave == "perda_de_dados:***" and a.perfil == "***"
    for blob in ((data_dir / "alerts.jsonl").read_bytes(),
                 *(f.read_bytes() for f in data_dir.glob("alerts_state.sqlite3*")),
                 json.dumps(sink.bodies).encode(), *smtp.box.messages):
        assert SMTP_PASSWORD.encode() not in blob
