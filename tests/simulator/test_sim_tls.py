"""Mutual TLS like CCEE's: the simulator requires a client certificate from a configured CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support.simulator import PASSWORD, PERFIL, USER, make_config

from ccee.client import CCEEClient
from ccee.config import Profile, Secret
from simulator.server import TLSConfig, run_simulator


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str, issuer_key: ec.EllipticCurvePrivateKey | None, issuer: str | None,
    ca: bool, san_ip: str | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer or subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san_ip:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]),
            critical=False,
        )
    return b.sign(issuer_key or key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_mutual_tls_requires_a_client_certificate_from_the_ca(tmp_path: Path) -> None:
    ca, ca_key = _issue("Sim CA", None, None, ca=True)
    server, server_key = _issue("127.0.0.1", ca_key, "Sim CA", ca=False, san_ip="127.0.0.1")
    client, client_key = _issue("agente", ca_key, "Sim CA", ca=False)
    _rogue_ca, rogue_key = _issue("Rogue CA", None, None, ca=True)
    rogue, rogue_client_key = _issue("intruso", rogue_key, "Rogue CA", ca=False)
    _write(tmp_path / "ca", ca, ca_key)
    _write(tmp_path / "server", server, server_key)
    _write(tmp_path / "client", client, client_key)
    _write(tmp_path / "rogue", rogue, rogue_client_key)
    tls = TLSConfig(
        tmp_path / "server.pem", tmp_path / "server.key", client_ca=tmp_path / "ca.pem"
    )
    with run_simulator(make_config(tmp_path), tls=tls) as s:
        assert s.url.startswith("https://127.0.0.1:")
        wsdl = s.wsdl_url("EventoNotificacaoBSv2")

        def get(cert: tuple[str, str] | None) -> httpx.Response:
            ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
            if cert:
                ctx.load_cert_chain(*cert)
            with httpx.Client(verify=ctx, trust_env=False, timeout=10) as c:
                return c.get(wsdl)

        assert get((str(tmp_path / "client.pem"), str(tmp_path / "client.key"))).status_code == 200
        with pytest.raises((httpx.HTTPError, ssl.SSLError)):
            get(None)
        with pytest.raises((httpx.HTTPError, ssl.SSLError)):
            get((str(tmp_path / "rogue.pem"), str(tmp_path / "rogue.key")))

        profile = Profile(
            name="mtls", codigo=PERFIL, url=s.url, username=USER, password=Secret(PASSWORD),
            cert=tmp_path / "client.pem", key=tmp_path / "client.key",
            ca_bundle=tmp_path / "ca.pem",
        )
        with CCEEClient(profile, timeout=10, retries=1) as c:
            assert len(c.listar_eventos()) == 10
