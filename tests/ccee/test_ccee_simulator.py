"""The client and the CLI against the project's CCEE simulator (simulator/), over mutual TLS."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from support.pki import Pki, make_pki

from ccee.client import CCEEClient
from ccee.config import Profile, Secret
from ccee.errors import AuthError
from ccee_webhook.cli import main
from simulator.core import SimulatorConfig
from simulator.participants import Participant
from simulator.server import TLSConfig, run_simulator

PERFIL, USER, PASSWORD = "88888", "usuario.teste", "senha-teste"
TOKEN = "sim-token-0d1e2f3a4b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("sim-pki"))


@pytest.fixture
def sim(pki: Pki):  # type: ignore[no-untyped-def]
    config = SimulatorConfig(
        participants=[Participant(USER, PASSWORD, PERFIL, "666")],
        time_scale=0.0,
        events_per_hour=0.0,
        seed=1,
    )
    tls = TLSConfig(pki.server_cert, pki.server_key, client_ca=pki.ca_pem)
    with run_simulator(config, tls=tls) as running:
        yield running


def _profile(url: str, pki: Pki, **kw) -> Profile:  # type: ignore[no-untyped-def]
    base = dict(
        name="sim", codigo=PERFIL, url=url, username=USER, password=Secret(PASSWORD),
        cert=pki.client_pfx, cert_password=Secret(pki.client_pfx_password), ca_bundle=pki.ca_pem,
    )
    base.update(kw)
    return Profile(**base)


def test_client_round_trip_over_mutual_tls(sim, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    assert sim.url.startswith("https://127.0.0.1:")
    with CCEEClient(_profile(sim.url, pki), timeout=10, retries=1) as client:
        codes = {e.codigo for e in client.listar_eventos()}
        assert {"CONTRATO.REGISTRADO", "MONTANTE_ENERGIA.VALIDADO"} <= codes
        msg = client.incluir_preferencia("CONTRATO.REGISTRADO", "http://127.0.0.1:9/ccee")
        assert msg == "Preferência de notificação incluída com sucesso"
        prefs = list(client.listar_preferencias(page_size=1))
        assert [(p.evento_notificacao, p.endereco_destino) for p in prefs] == [
            ("CONTRATO.REGISTRADO", "http://127.0.0.1:9/ccee")
        ]
        ids = sim.inject("CONTRATO.REGISTRADO")
        assert ids
        dia = sim.now().astimezone(ZoneInfo("America/Sao_Paulo")).date()
        results = list(client.listar_resultados(dia=dia))
        assert set(ids) <= {r.transaction_id for r in results}
        assert all(r.evento_notificacao == "CONTRATO.REGISTRADO" for r in results)
    refused = _profile(sim.url, pki, codigo="77777")
    with CCEEClient(refused, timeout=10, retries=1) as client, pytest.raises(AuthError) as exc:
        client.listar_eventos()
    assert exc.value.error_code == "2001" and "77777" in str(exc.value)


def test_prefs_plan_apply_against_the_simulator(
    sim, pki: Pki, tmp_path: Path, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.chdir(tmp_path)
    sim.subscribe(PERFIL, "CONTRATO.CANCELADO", "https://old.example/ccee")
    file = tmp_path / "subs.yaml"
    file.write_text(
        f"perfil: '{PERFIL}'\npreferencias:\n"
        "  CONTRATO.REGISTRADO: https://receiver.example/ccee/${CCEE_WEBHOOK_TOKEN}\n"
        "  MONTANTE_ENERGIA.VALIDADO: https://receiver.example/ccee/${CCEE_WEBHOOK_TOKEN}\n"
    )
    env = {
        "CCEE_WEBHOOK_CONFIG": "", "CCEE_WEBHOOK_CCEE_URL": sim.url,
        "CCEE_WEBHOOK_PERFIL": PERFIL, "CCEE_WEBHOOK_USERNAME": USER,
        "CCEE_WEBHOOK_PASSWORD": PASSWORD, "CCEE_WEBHOOK_CERT": str(pki.client_pfx),
        "CCEE_WEBHOOK_CERT_PASSWORD": pki.client_pfx_password,
        "CCEE_WEBHOOK_CA_BUNDLE": str(pki.ca_pem), "CCEE_WEBHOOK_TOKEN": TOKEN,
    }
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        for secret in (TOKEN, PASSWORD, pki.client_pfx_password):
            assert secret not in result.output
        return result.output

    plan = json.loads(cli("prefs", "plan", str(file), "--json"))
    assert {m["codigo"]: m["acao"] for m in plan["mudancas"]} == {
        "CONTRATO.REGISTRADO": "add", "MONTANTE_ENERGIA.VALIDADO": "add",
        "CONTRATO.CANCELADO": "delete",
    }
    assert "applied: 2 to add, 0 to update, 1 to delete" in cli("prefs", "apply", str(file))
    listed = json.loads(cli("prefs", "list", "--json"))
    url = f"https://receiver.example/ccee/{TOKEN}"
    with CCEEClient(_profile(sim.url, pki), timeout=10) as client:
        assert {p.evento_notificacao: p.endereco_destino for p in client.listar_preferencias()} == {
            "CONTRATO.REGISTRADO": url, "MONTANTE_ENERGIA.VALIDADO": url,
        }
    assert len(listed) == 2
    again = cli("prefs", "apply", str(file))
    assert "nothing to change (0 to add, 0 to update, 0 to delete, 2 unchanged)" in again
