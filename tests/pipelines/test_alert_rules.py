"""Alert rules on a real DuckDB warehouse, alert settings, and the incident life cycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from alert_support import Warehouse

from pipelines.core import alert_rules, alerts_log
from pipelines.core.alert_rules import CheckOutcome
from pipelines.core.alerting import evaluate
from settings import SettingsError
from settings.alerts import AlertSettings, alert_settings

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
S = AlertSettings()


def rules(wh: Warehouse, now: datetime = NOW, s: AlertSettings = S) -> dict[str, object]:
    con = duckdb.connect(str(wh.path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return {c.chave: c for c in alert_rules.evaluate_warehouse(con, now, s)}
    finally:
        con.close()


@pytest.fixture
def wh(data_dir: Path) -> Warehouse:
    return Warehouse(data_dir)


def test_data_loss_needs_notificado_past_the_grace_and_absent_from_the_lake(wh: Warehouse) -> None:
    h = timedelta(hours=1)
    wh.result("tx-a", "NOTIFICADO", NOW - 5 * h, NOW - 4 * h)  # lost
    wh.result("tx-b", "NOTIFICADO", NOW - 3 * h, NOW - 2 * h)  # lost, later
    wh.result("tx-c", "NOTIFICADO", NOW - 3 * h, NOW - 2 * h)  # in the lake
    wh.delivery("tx-c", NOW - 2 * h)
    wh.result("tx-d", "NOTIFICADO", NOW - h, NOW - timedelta(minutes=10))  # within the grace
    wh.delivery("tx-x", NOW - timedelta(minutes=5))  # a recent receipt: no silence
    got = rules(wh)
    c = got["perda_de_dados:88888"]
    assert c.contagem == 2  # type: ignore[attr-defined]
    assert (c.primeiro_transaction_id, c.ultimo_transaction_id) == ("tx-a", "tx-b")  # type: ignore[attr-defined]
    assert set(got) == {"perda_de_dados:88888"}
    wh.delivery("tx-a", NOW)
    wh.delivery("tx-b", NOW)
    assert "perda_de_dados:88888" not in rules(wh)


def test_expirations_within_the_window_only(wh: Warehouse) -> None:
    wh.delivery("tx-x", NOW - timedelta(minutes=5))
    wh.result("old", "EXPIRADO", NOW - timedelta(days=4))
    assert "expiracao:88888" not in rules(wh)
    wh.result("e1", "EXPIRADO", NOW - timedelta(hours=30))
    wh.result("e2", "EXPIRADO", NOW - timedelta(hours=26), evento="MONTANTE.X")
    c = rules(wh)["expiracao:88888"]
    assert c.contagem == 2 and c.primeiro_transaction_id == "e1"  # type: ignore[attr-defined]
    assert "MONTANTE.X" in c.titulo  # type: ignore[attr-defined]
    assert "expiracao:88888" in rules(wh, NOW + timedelta(hours=40))
    assert "expiracao:88888" not in rules(wh, NOW + timedelta(hours=49))


def test_silence_while_ccee_has_notifications_waiting(wh: Warehouse) -> None:
    wh.delivery("tx-0", NOW - timedelta(hours=3))
    wh.result("p1", "AGUARDANDO_NOTIFICACAO", NOW - timedelta(minutes=90))
    wh.result("p2", "AGUARDANDO_NOTIFICACAO", NOW - timedelta(minutes=20))  # too young alone
    c = rules(wh)["silencio:88888"]
    assert c.contagem == 1 and c.primeiro_transaction_id == "p1"  # type: ignore[attr-defined]
    # as of an earlier instant nothing had waited an hour yet
    assert "silencio:88888" not in rules(wh, NOW - timedelta(minutes=45))
    # a delivery received within the window: not silent
    wh.delivery("tx-1", NOW - timedelta(minutes=5))
    assert "silencio:88888" not in rules(wh)


def test_silence_as_of_a_past_instant_sees_what_was_pending_then(wh: Warehouse) -> None:
    """Delivered at 13:00 but waiting since 10:00: at 12:00 it was pending (an outage)."""
    t = NOW.replace(hour=10)
    wh.result("late", "NOTIFICADO", t, t + timedelta(hours=3))
    wh.delivery("late", t + timedelta(hours=3))
    assert "silencio:88888" in rules(wh, t + timedelta(hours=2))
    assert "silencio:88888" not in rules(wh, t + timedelta(hours=4))


def test_quarantine_spike_threshold(wh: Warehouse) -> None:
    wh.delivery("tx-x", NOW - timedelta(minutes=5))
    wh.quarantined(49, NOW - timedelta(minutes=1))
    wh.quarantined(30, NOW - timedelta(hours=3))  # outside the window
    assert "quarentena_em_alta" not in rules(wh)
    wh.quarantined(1, NOW, motivo="token_desconhecido")
    c = rules(wh)["quarentena_em_alta"]
    assert c.contagem == 50 and "json_invalido 49" in c.titulo  # type: ignore[attr-defined]


def test_pull_failing_after_the_configured_time() -> None:
    f = [NOW - timedelta(hours=h) for h in (4, 2, 1)]
    ok = NOW - timedelta(hours=5)
    [c] = alert_rules.pull_failing(f, ok, NOW, S)
    assert c.contagem == 3 and c.primeiro_em == f[0]
    assert alert_rules.pull_failing(f, ok, NOW - timedelta(hours=2), S) == []  # 2 h < 3 h
    assert alert_rules.pull_failing(f, NOW - timedelta(minutes=30), NOW, S) == []  # recovered
    assert alert_rules.pull_failing([], None, NOW, S) == []


def test_failed_checks_one_incident_per_check() -> None:
    got = alert_rules.failed_checks([
        CheckOutcome("sla_entrega", "notificado_presente_no_lago", False, NOW, "2026-03-09"),
        CheckOutcome("notificacoes", "x", True, NOW),
    ])
    assert [c.chave for c in got] == ["check_falhou:sla_entrega:notificado_presente_no_lago"]


def test_settings_env_over_toml_and_secrets_only_from_env(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[alerts]\nsilence_minutes = 15\nemail_to = ["a@x", "b@x"]\n'
                   'smtp_url = "smtp://u@mail:587"\n', encoding="utf-8")
    pw = tmp_path / "pw"
    pw.write_text("segredo\n", encoding="utf-8")
    env = {"CCEE_WEBHOOK_CONFIG": str(cfg), "CCEE_WEBHOOK_ALERT_QUARANTINE_SPIKE": "7",
           "CCEE_WEBHOOK_ALERT_SMTP_PASSWORD_FILE": str(pw)}
    s = alert_settings(env)
    assert (s.silence_minutes, s.quarantine_spike, s.email_to) == (15, 7, ("a@x", "b@x"))
    assert s.smtp_password == "segredo" and "segredo" not in repr(s)
    cfg.write_text('[alerts]\nwebhook_url = "https://hooks/x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="CCEE_WEBHOOK_ALERT_WEBHOOK_URL"):
        alert_settings({"CCEE_WEBHOOK_CONFIG": str(cfg)})
    with pytest.raises(SettingsError, match="must not carry the password") as e:
        alert_settings({"CCEE_WEBHOOK_ALERT_SMTP_URL": "smtp://u:pw123@h:587",
                        "CCEE_WEBHOOK_ALERT_EMAIL_TO": "a@x"})
    assert "pw123" not in str(e.value)
    with pytest.raises(SettingsError, match="silence_minutes"):
        alert_settings({"CCEE_WEBHOOK_ALERT_SILENCE_MINUTES": "0"})


def test_one_alert_per_incident_then_resolved(data_dir: Path, wh: Warehouse) -> None:
    wh.delivery("tx-x", NOW - timedelta(minutes=5))
    wh.result("lost", "NOTIFICADO", NOW - timedelta(hours=5), NOW - timedelta(hours=4))
    first = evaluate(data_dir, NOW, settings=S).alerts
    assert [(a.regra, a.estado) for a in first] == [("perda_de_dados", "aberto")]
    wh.result("lost2", "NOTIFICADO", NOW - timedelta(hours=5), NOW - timedelta(hours=4))
    assert evaluate(data_dir, NOW + timedelta(minutes=5), settings=S).alerts == []  # no repeat
    wh.delivery("lost", NOW)
    wh.delivery("lost2", NOW)
    [done] = evaluate(data_dir, NOW + timedelta(minutes=10), settings=S).alerts
    assert (done.estado, done.contagem, done.aberto_em) == ("resolvido", 2, NOW)
    lines = (data_dir / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["estado"] for x in lines] == ["aberto", "resolvido"]
    assert alerts_log.open_incidents(alerts_log.read(data_dir)) == []


def test_a_rule_that_could_not_run_keeps_its_incident_open(data_dir: Path, wh: Warehouse) -> None:
    cond = alert_rules.pull_failing([NOW - timedelta(hours=5)], None, NOW, S)
    assert evaluate(data_dir, NOW, extra=cond, extra_rules={"coleta_de_resultados_falhando"},
                    settings=S).alerts
    assert evaluate(data_dir, NOW, settings=S).alerts == []  # not evaluated: still open
    [r] = evaluate(data_dir, NOW, extra_rules={"coleta_de_resultados_falhando"}, settings=S).alerts
    assert r.estado == "resolvido"


def test_alerts_command_lists_open_and_recent(data_dir: Path, wh: Warehouse) -> None:
    from click.testing import CliRunner

    from ccee_webhook.cli import main

    now = datetime.now(UTC)
    wh.delivery("tx-x", now - timedelta(minutes=5))
    wh.result("lost", "NOTIFICADO", now - timedelta(hours=5), now - timedelta(hours=4))
    wh.result("gone", "EXPIRADO", now - timedelta(hours=25))
    runner = CliRunner()
    r = runner.invoke(main, ["alerts", "--data-dir", str(data_dir), "--evaluate", "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert sorted(a["regra"] for a in got["abertos"]) == ["expiracao", "perda_de_dados"]
    assert got["fila_de_envio"] == {}
    wh.delivery("lost", now)
    r = runner.invoke(main, ["alerts", "--data-dir", str(data_dir), "--evaluate"])
    assert r.exit_code == 0, r.output
    assert "open incidents: 1" in r.stdout and "expiracao" in r.stdout
    assert "alerts of the last 24 h: 3" in r.stdout and "resolvido" in r.stdout


def test_alerts_sensor_in_process_alerts_on_a_failed_sla_check(
    data_dir: Path, wh: Warehouse
) -> None:
    """The sensor reads the Dagster instance: the SLA check failing on a real materialization
    opens a `check_falhou` incident next to the warehouse's `perda_de_dados`."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.alerts.sensors import alerts_sensor
    from pipelines.defs.sla.assets import sla_entrega
    from pipelines.resources import WarehouseResource

    now = datetime.now(UTC)
    wh.delivery("tx-x", now - timedelta(minutes=5))
    wh.result("lost", "NOTIFICADO", now - timedelta(hours=5), now - timedelta(hours=4))
    resource = WarehouseResource(data_dir=str(data_dir))
    with dg.instance_for_test() as instance:
        day = (now - timedelta(hours=5)).date().isoformat()
        r = dg.materialize([sla_entrega], partition_key=day, instance=instance,
                           resources={"warehouse": resource})
        assert not r.get_asset_check_evaluations()[0].passed
        ctx = dg.build_sensor_context(
            instance=instance, repository_def=defs().get_repository_def(),
            resources={"warehouse": resource},
        )
        result = alerts_sensor(ctx)
        assert isinstance(result, dg.SkipReason)
        assert "2 alert(s) raised" in (result.skip_message or ""), result.skip_message
    assert sorted(a.chave for a in alerts_log.read(data_dir)) == [
        "check_falhou:sla_entrega:notificado_presente_no_lago",
        "perda_de_dados:88888",
    ]
