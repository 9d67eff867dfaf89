"""`ccee-webhook events | results | prefs ...` through the real entry point and a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.fake_ccee import FakeCCEE, RunningServer

from ccee_webhook.cli import main

TOKEN = "tok-secret-7f3a9c1e55"
WRITE_OPS = {
    "incluirPreferenciaNotificacao", "atualizarPreferenciaNotificacao",
    "excluirPreferenciaNotificacao",
}


@pytest.fixture
def server(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray ccee-webhook.toml
    fake = FakeCCEE()
    with RunningServer(fake) as running:
        yield running


def _env(server: RunningServer, **extra: str) -> dict[str, str]:
    env = {
        "CCEE_WEBHOOK_CCEE_URL": server.url,
        "CCEE_WEBHOOK_PERFIL": "88888",
        "CCEE_WEBHOOK_USERNAME": "usuario.teste",
        "CCEE_WEBHOOK_PASSWORD": "senha-teste",
        "CCEE_WEBHOOK_TOKEN": TOKEN,
        "CCEE_WEBHOOK_CONFIG": "",
    }
    env.update(extra)
    return env


def run(server: RunningServer, *args: str, **env: str) -> Result:
    result = CliRunner().invoke(main, list(args), env=_env(server, **env), catch_exceptions=False)
    assert "senha-teste" not in result.output
    assert TOKEN not in result.output
    return result


def test_help_for_every_command() -> None:
    runner = CliRunner()
    for args in (["events"], ["results"], ["prefs"], *[["prefs", c] for c in (
        "list", "add", "update", "delete", "plan", "apply")]):
        result = runner.invoke(main, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


def test_events_table_and_json(server: RunningServer) -> None:
    table = run(server, "events")
    assert table.exit_code == 0, table.output
    assert "CONTRATO.REGISTRADO" in table.output and "7 events" in table.output
    js = run(server, "events", "--entidade", "MONTANTE_ENERGIA", "--json")
    assert json.loads(js.output) == [
        {"codigo": "MONTANTE_ENERGIA.VALIDADO", "entidade": "MONTANTE_ENERGIA",
         "evento": "VALIDADO"},
        {"codigo": "MONTANTE_ENERGIA.AJUSTADO", "entidade": "MONTANTE_ENERGIA",
         "evento": "AJUSTADO"},
    ]


def test_prefs_add_list_update_delete(server: RunningServer) -> None:
    add = run(server, "prefs", "add", "CONTRATO.REGISTRADO",
              "https://receiver.example/ccee/${CCEE_WEBHOOK_TOKEN}")
    assert add.exit_code == 0, add.output
    assert add.output.strip() == "Preferência de notificação incluída com sucesso"
    assert server.fake.preferencias == {
        "CONTRATO.REGISTRADO": f"https://receiver.example/ccee/{TOKEN}"
    }
    listed = run(server, "prefs", "list", "--json", CCEE_WEBHOOK_TOKENS=f"88888:{TOKEN}")
    assert json.loads(listed.output) == [{
        "evento_notificacao": "CONTRATO.REGISTRADO",
        "endereco_destino": "https://receiver.example/ccee/***",
        "entidade": "CONTRATO", "evento": "REGISTRADO",
    }]
    upd = run(server, "prefs", "update", "CONTRATO.REGISTRADO", "https://other.example/x")
    assert "atualizada com sucesso" in upd.output
    table = run(server, "prefs", "list")
    assert "https://other.example/x" in table.output and "1 preferences" in table.output
    dele = run(server, "prefs", "delete", "CONTRATO.REGISTRADO")
    assert "excluída com sucesso" in dele.output
    assert server.fake.preferencias == {}


def test_errors_are_one_readable_line(server: RunningServer) -> None:
    refused = run(server, "events", CCEE_WEBHOOK_PASSWORD="senha-errada")
    assert refused.exit_code == 1
    assert "authentication refused" in refused.output and "88888" in refused.output
    assert "senha-errada" not in refused.output
    assert "Traceback" not in refused.output
    missing = run(server, "prefs", "delete", "CONTRATO.REGISTRADO")
    assert missing.exit_code == 1 and "invalidParametersFault 3006" in missing.output
    bad = run(server, "results", "--dia", "27/11/2026")
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output
    unset = run(server, "prefs", "add", "CONTRATO.REGISTRADO", "https://r.example/${NOPE_VAR}")
    assert unset.exit_code == 1 and "NOPE_VAR" in unset.output


def test_results_filters_json_and_limit(server: RunningServer) -> None:
    server.fake.resultados = [
        {"transactionId": f"00000000-0000-4000-8000-{i:012d}", "evento": "CONTRATO.REGISTRADO",
         "dia": "2026-11-27" if i % 2 else "2026-11-28", "situacao": "NOTIFICADO",
         "dataOrigem": "2026-11-27T13:05:00Z",
         "dataNotificacao": "2026-11-27T13:05:99Z" if i == 1 else "2026-11-27T13:06:00Z"}
        for i in range(120)
    ]
    js = run(server, "results", "--dia", "2026-11-27", "--page-size", "7", "--json")
    assert js.exit_code == 0, js.output
    rows = json.loads(js.output)
    assert len(rows) == 60
    assert rows[0]["invalidos"] == ["data_notificacao"]
    assert rows[0]["data_notificacao_raw"] == "2026-11-27T13:05:99Z"
    assert rows[1]["data_notificacao"] == "2026-11-27T13:06:00Z"
    limited = run(server, "results", "--dia", "2026-11-27", "--limit", "3", "--json")
    assert len(json.loads(limited.output)) == 3
    empty = run(server, "results", "--dia", "2030-01-01", "--json")
    assert json.loads(empty.output) == []
    table = run(server, "results", "--transaction-id", "00000000-0000-4000-8000-000000000004")
    assert "00000000-0000-4000-8000-000000000004" in table.output
    assert "1 results" in table.output


SUBSCRIPTIONS = """\
perfil: "88888"
preferencias:
  CONTRATO.REGISTRADO: https://receiver.example/ccee/${CCEE_WEBHOOK_TOKEN}
  CONTRATO.CANCELADO: https://receiver.example/ccee/${CCEE_WEBHOOK_TOKEN}
  MONTANTE_ENERGIA.VALIDADO: https://receiver.example/ccee/${CCEE_WEBHOOK_TOKEN}
"""


def _writes(fake: FakeCCEE, since: int = 0) -> list[str]:
    return [op for op in fake.operations_called()[since:] if op in WRITE_OPS]


def test_prefs_plan_and_apply_are_idempotent(server: RunningServer, tmp_path: Path) -> None:
    fake = server.fake
    url = f"https://receiver.example/ccee/{TOKEN}"
    fake.preferencias.update({
        "CONTRATO.REGISTRADO": "https://old.example/ccee",
        "CONTRATO.CANCELADO": url,
        "MONTANTE_ENERGIA.AJUSTADO": "https://old.example/ajustado",
    })
    file = tmp_path / "subs.yaml"
    file.write_text(SUBSCRIPTIONS)

    plan = run(server, "prefs", "plan", str(file), "--json")
    assert plan.exit_code == 0, plan.output
    doc = json.loads(plan.output)
    assert {m["codigo"]: m["acao"] for m in doc["mudancas"]} == {
        "CONTRATO.REGISTRADO": "update", "CONTRATO.CANCELADO": "unchanged",
        "MONTANTE_ENERGIA.VALIDADO": "add", "MONTANTE_ENERGIA.AJUSTADO": "delete",
    }
    assert doc["resumo"] == "1 to add, 1 to update, 1 to delete, 1 unchanged"
    assert "https://receiver.example/ccee/***" in plan.output
    table = run(server, "prefs", "plan", str(file))
    for word in ("add", "update", "delete", "unchanged", "MONTANTE_ENERGIA.AJUSTADO"):
        assert word in table.output
    assert _writes(fake) == []  # planning changes nothing

    keep = json.loads(run(server, "prefs", "plan", str(file), "--keep-extra", "--json").output)
    assert "delete" not in {m["acao"] for m in keep["mudancas"]}

    applied = run(server, "prefs", "apply", str(file))
    assert applied.exit_code == 0, applied.output
    assert "applied: 1 to add, 1 to update, 1 to delete, 1 unchanged" in applied.output
    assert fake.preferencias == {
        "CONTRATO.REGISTRADO": url, "CONTRATO.CANCELADO": url,
        "MONTANTE_ENERGIA.VALIDADO": url,
    }
    assert sorted(_writes(fake)) == sorted(WRITE_OPS)

    before = len(fake.requests)
    again = run(server, "prefs", "apply", str(file))
    assert again.exit_code == 0, again.output
    assert "nothing to change (0 to add, 0 to update, 0 to delete, 3 unchanged)" in again.output
    assert _writes(fake, before) == []
    assert fake.violations == []


def test_apply_refuses_codes_ccee_does_not_offer(server: RunningServer, tmp_path: Path) -> None:
    file = tmp_path / "subs.yaml"
    file.write_text(
        "preferencias:\n"
        "  CONTRATO.REGISTRADO: https://receiver.example/a\n"
        "  CONTRATO.INVENTADO: https://receiver.example/b\n"
    )
    result = run(server, "prefs", "apply", str(file))
    assert result.exit_code == 1
    assert "does not offer event(s) CONTRATO.INVENTADO" in result.output
    assert server.fake.preferencias == {}
    assert _writes(server.fake) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("preferencias:\n  contrato: https://a.example/x\n", "not an event code"),
        ("preferencias:\n  CONTRATO.REGISTRADO: ftp://a.example/x\n", "http(s) URL"),
        ("preferencias: [1, 2]\n", "must map event code"),
        ("preferencias:\n  CONTRATO.REGISTRADO: https://a.example/${UNSET_TOKEN_VAR}\n",
         "UNSET_TOKEN_VAR"),
        ("perfil: '12'\npreferencias: {}\n", "is for codigoPerfilAgente 12"),
        ("a: [\n", "invalid YAML"),
        ("preferences:\n  CONTRATO.REGISTRADO: https://a.example/x\n",
         "unknown key(s) 'preferences' (did you mean 'preferencias'?)"),
        ("perfil: '88888'\npreferencia:\n  CONTRATO.REGISTRADO: https://a.example/x\n",
         "a subscriptions file has 'perfil' and 'preferencias'"),
    ],
)
def test_bad_subscription_files(
    server: RunningServer, tmp_path: Path, content: str, message: str
) -> None:
    file = tmp_path / "subs.yaml"
    file.write_text(content)
    result = run(server, "prefs", "plan", str(file))
    assert result.exit_code == 1
    assert message in result.output


def test_a_2001_fault_names_user_and_profile_never_the_password(server: RunningServer) -> None:
    refused = run(server, "events", CCEE_WEBHOOK_PASSWORD="senha-errada")
    assert refused.exit_code == 1
    assert "user, password or profile refused" in refused.output
    assert "user 'usuario.teste'" in refused.output
    assert "codigoPerfilAgente) '88888'" in refused.output
    assert "CCEE_WEBHOOK_PASSWORD" in refused.output  # where to fix it
    assert "senha-errada" not in refused.output and "senha-teste" not in refused.output


def test_json_commands_report_errors_as_json_on_stderr(server: RunningServer) -> None:
    refused = run(server, "events", "--json", CCEE_WEBHOOK_PASSWORD="senha-errada")
    assert refused.exit_code == 1
    assert refused.stdout == ""
    error = json.loads(refused.stderr)["error"]
    assert error["type"] == "AuthError"
    assert "user, password or profile refused" in error["message"]
    assert "senha-errada" not in refused.stderr
    bad_day = run(server, "results", "--dia", "27/11/2026", "--json")
    assert bad_day.exit_code == 1 and bad_day.stdout == ""
    assert "YYYY-MM-DD" in json.loads(bad_day.stderr)["error"]["message"]


def test_unknown_filters_warn_with_the_closest_known(server: RunningServer) -> None:
    server.fake.resultados = [
        {"transactionId": "00000000-0000-4000-8000-000000000001",
         "evento": "CONTRATO.REGISTRADO", "dia": "2026-11-27", "situacao": "NOTIFICADO",
         "dataOrigem": "2026-11-27T13:05:00Z", "dataNotificacao": "2026-11-27T13:06:00Z"}
    ]
    typo = run(server, "results", "--evento", "CONTRATO.REGISTRADA")
    assert typo.exit_code == 0
    assert "CCEE knows no event code 'CONTRATO.REGISTRADA'" in typo.stderr
    assert "did you mean CONTRATO.REGISTRADO" in typo.stderr
    situacao = run(server, "results", "--situacao", "EXPIRED", "--json")
    assert situacao.exit_code == 0
    assert json.loads(situacao.stdout) == []
    warning = json.loads(situacao.stderr)["warning"]
    assert "'EXPIRED'" in warning and "EXPIRADO" in warning
    known = run(server, "results", "--evento", "CONTRATO.REGISTRADO", "--situacao", "NOTIFICADO")
    assert known.exit_code == 0 and known.stderr == ""
    assert "1 results" in known.stdout


def test_file_defaults_appear_in_help() -> None:
    for command in ("plan", "apply"):
        result = CliRunner().invoke(main, ["prefs", command, "--help"])
        assert result.exit_code == 0
        assert "default: ./ccee-subscriptions.yaml" in " ".join(result.output.split())
