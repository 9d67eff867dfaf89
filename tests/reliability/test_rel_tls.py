"""TLS end to end with a throwaway CA: HTTPS receiver, mutual-TLS CCEE client.

The simulator (CCEE) demands a client certificate; our client subscribes over mTLS with a
password-protected PFX, CCEE delivers over HTTPS to the receiver (verifying its certificate
against the CA) and the delivery lands in the lake.
"""

from __future__ import annotations

import ssl
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from support.callbacks import body_for
from support.credentials import CERT_PASSWORD, PERFIL, TOKEN, WS_PASSWORD, WS_USERNAME
from support.lake import lake_transaction_ids
from support.pki import make_pki
from support.receiver import start_receiver
from support.simulator import make_config, use_simulator_profile

from ccee.client import CCEEClient
from ccee.errors import CCEEError
from simulator.dispatcher import DispatchSettings
from simulator.participants import Participant
from simulator.server import TLSConfig, run_simulator


def test_https_receiver_and_mutual_tls_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    pki = make_pki(tmp_path)
    key, cert, extra = pkcs12.load_key_and_certificates(
        pki.client_pfx.read_bytes(), pki.client_pfx_password.encode()
    )
    pfx = tmp_path / "cliente.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"cliente", key, cert, extra,  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(CERT_PASSWORD.encode()),
        )
    )

    rcv = start_receiver(
        tmp_path / "data", "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
        verify=str(pki.ca_pem),
    )
    try:
        assert rcv.url.startswith("https://127.0.0.1:")
        # Plain HTTP to the TLS port never reaches the app; an untrusted client refuses it.
        with pytest.raises(httpx.HTTPError):
            httpx.post(rcv.url.replace("https", "http") + f"/ccee/{TOKEN}", content=body_for())
        with pytest.raises(httpx.ConnectError):
            httpx.post(rcv.callback_url, content=body_for(), verify=True)
        direct = str(uuid.uuid4())
        assert rcv.post(body_for(direct)).status_code == 201

        participant = Participant(WS_USERNAME, WS_PASSWORD, PERFIL, codigo_participante="666")
        tls = TLSConfig(certfile=pki.server_cert, keyfile=pki.server_key, client_ca=pki.ca_pem)
        start = datetime.now(UTC).replace(microsecond=0)
        config = make_config(
            tmp_path, participant, start, dispatch=DispatchSettings(verify=str(pki.ca_pem))
        )
        with run_simulator(config, tls=tls) as sim:
            use_simulator_profile(monkeypatch, sim.url, WS_USERNAME, WS_PASSWORD, PERFIL)
            monkeypatch.setenv("CCEE_WEBHOOK_CA_BUNDLE", str(pki.ca_pem))
            # Without a client certificate CCEE's TLS handshake refuses us.
            with pytest.raises((CCEEError, ssl.SSLError, OSError)), CCEEClient.from_profile(
                retries=1
            ) as bare:
                bare.incluir_preferencia("CONTRATO.REGISTRADO", rcv.callback_url)
            monkeypatch.setenv("CCEE_WEBHOOK_CERT", str(pfx))
            monkeypatch.setenv("CCEE_WEBHOOK_CERT_PASSWORD", CERT_PASSWORD)
            with CCEEClient.from_profile(retries=1) as client:
                client.incluir_preferencia("CONTRATO.REGISTRADO", rcv.callback_url)
            (tid,) = sim.inject("CONTRATO.REGISTRADO")
            sim.fast_forward(timedelta(minutes=1))
            assert sim.notification(tid).situacao == "NOTIFICADO"  # type: ignore[union-attr]
    finally:
        rcv.stop()
    assert {direct, tid} <= set(lake_transaction_ids(tmp_path / "data"))
