"""Mutual TLS end to end: a throwaway CA, a server that demands a client certificate."""

from __future__ import annotations

import tempfile

import pytest
from support.fake_ccee import FakeCCEE, RunningServer
from support.pki import Pki, make_pki

from ccee.client import CCEEClient
from ccee.config import Secret
from ccee.errors import CCEETransportError, ConfigError


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_server(pki: Pki):  # type: ignore[no-untyped-def]
    fake = FakeCCEE(resultados=[])
    with RunningServer(fake, ssl_context=pki.server_context()) as server:
        yield server


def _peer_cn(server: RunningServer) -> str:
    peer = server.fake.requests[-1].peer_cert
    assert peer is not None
    return dict(x[0] for x in peer["subject"])["commonName"]


def test_round_trip_with_pfx_client_certificate(
    pki: Pki, tls_server: RunningServer, profile_for, tmp_path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    assert tls_server.url.startswith("https://127.0.0.1:")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    profile = profile_for(
        tls_server.url, cert=pki.client_pfx, cert_password=Secret(pki.client_pfx_password),
        ca_bundle=pki.ca_pem,
    )
    with CCEEClient(profile, timeout=5, retries=1) as client:
        assert len(client.listar_eventos()) == 7
        assert client.incluir_preferencia(
            "CONTRATO.REGISTRADO", "https://receiver.example/ccee"
        ).endswith("incluída com sucesso")
        prefs = list(client.listar_preferencias())
    assert [p.evento_notificacao for p in prefs] == ["CONTRATO.REGISTRADO"]
    assert _peer_cn(tls_server) == pki.client_cn
    assert tls_server.fake.violations == []
    # The PEM made from the PFX lived only while the SSL context loaded it.
    assert list(tmp_path.iterdir()) == []


def test_round_trip_with_pem_certificate_and_encrypted_key(
    pki: Pki, tls_server: RunningServer, profile_for  # type: ignore[no-untyped-def]
) -> None:
    profile = profile_for(
        tls_server.url, cert=pki.client_cert_pem, key=pki.client_key_pem,
        cert_password=Secret(pki.client_key_password), ca_bundle=pki.ca_pem,
    )
    with CCEEClient(profile, timeout=5, retries=1) as client:
        assert len(client.listar_eventos()) == 7
    assert _peer_cn(tls_server) == pki.client_cn


def test_server_refuses_a_client_without_certificate(
    pki: Pki, tls_server: RunningServer, profile_for  # type: ignore[no-untyped-def]
) -> None:
    profile = profile_for(tls_server.url, ca_bundle=pki.ca_pem)
    with CCEEClient(profile, timeout=5, retries=1) as client, pytest.raises(CCEETransportError):
        client.listar_eventos()
    assert tls_server.fake.requests == []


def test_client_refuses_an_untrusted_server(
    pki: Pki, tls_server: RunningServer, profile_for  # type: ignore[no-untyped-def]
) -> None:
    # No ca_bundle: the system CAs do not know the throwaway CA.
    profile = profile_for(
        tls_server.url, cert=pki.client_pfx, cert_password=Secret(pki.client_pfx_password)
    )
    with CCEEClient(profile, timeout=5, retries=1) as client, pytest.raises(CCEETransportError):
        client.listar_eventos()
    assert tls_server.fake.requests == []


def test_wrong_pfx_password_is_a_config_error_without_the_password(
    pki: Pki, profile_for  # type: ignore[no-untyped-def]
) -> None:
    profile = profile_for(
        "https://127.0.0.1:1", cert=pki.client_pfx, cert_password=Secret("senha-errada-xyz"),
    )
    with pytest.raises(ConfigError) as exc:
        CCEEClient(profile)
    assert "senha-errada-xyz" not in str(exc.value)
    assert "wrong password" in str(exc.value)


def test_wrong_pem_key_password(pki: Pki, profile_for) -> None:  # type: ignore[no-untyped-def]
    profile = profile_for(
        "https://127.0.0.1:1", cert=pki.client_cert_pem, key=pki.client_key_pem,
        cert_password=Secret("senha-errada-pem"),
    )
    with pytest.raises(ConfigError) as exc:
        CCEEClient(profile)
    assert "senha-errada-pem" not in str(exc.value)
