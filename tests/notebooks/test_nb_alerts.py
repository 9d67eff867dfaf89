"""The delivery-health dashboard lists the open alert incidents written by the alert sensor."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from test_nb_scripts import run_app

from notebooks.report_kit.alertas import alertas_abertos
from pipelines.core import alerts_log
from pipelines.core.alerts_log import Alert

T = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _alert(chave: str, estado: str, titulo: str) -> Alert:
    return Alert(id=chave + estado, chave=chave, regra=chave.split(":")[0], estado=estado,  # type: ignore[arg-type]
                 em=T, aberto_em=T, titulo=titulo, texto=titulo, contagem=3,
                 primeiro_transaction_id="t4")


def test_dashboard_shows_open_alerts_only(warehouse: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    wh = data / "warehouse.duckdb"
    shutil.copy(warehouse, wh)
    alerts_log.append(data, [
        _alert("perda_de_dados:88888", "aberto", "3 notificações perdidas"),
        _alert("silencio:88888", "aberto", "receptor em silêncio"),
        _alert("silencio:88888", "resolvido", "receptor em silêncio"),
    ])
    assert [a["regra"] for a in alertas_abertos(wh)] == ["perda_de_dados"]
    outputs, _ = run_app("delivery_health", wh)
    texts = " ".join(str(getattr(o, "text", "")) for o in outputs)
    assert "Alertas abertos: 1" in texts
    assert "3 notificações perdidas" in texts and "receptor em silêncio" not in texts
    assert "26/11/2026 09:00" in texts  # opened 12:00 UTC, shown in São Paulo time


def test_dashboard_without_alerts_says_so(warehouse: Path) -> None:
    outputs, _ = run_app("delivery_health", warehouse)
    texts = " ".join(str(getattr(o, "text", "")) for o in outputs)
    assert "Alertas abertos: 0" in texts and "Nenhum alerta aberto" in texts
