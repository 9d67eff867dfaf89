"""Every notebook runs as a script (subprocess) and through marimo's API (figures asserted)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ["contract_events", "energy_amount_events", "event_volumes", "delivery_health"]
#: what each page prints first when run as a script against the known warehouse
HEADLINES = {
    "contract_events": "Contratos 25/11/2026 a 27/11/2026: 4 contratos, 0 encerrados, "
    "1 com anomalia no ciclo de vida; 10 eventos",
    "energy_amount_events": "Montantes de energia 25/11/2026 a 26/11/2026: 260,2 MWh vigentes "
    "em 4 pares contrato × mês × submercado (3 contratos); 6 declarações",
    "event_volumes": "Volume de eventos 25/11/2026 a 27/11/2026: 19 notificações",
    "delivery_health": "Saúde da entrega 20/11/2026 a 26/11/2026: 19 notificações, entrega "
    "78,9 %, 2 expiradas, perda de dados 1; quarentena 3",
}


def run_app(name: str, warehouse: Path) -> tuple[list[Any], dict[str, Any]]:
    spec = importlib.util.spec_from_file_location(
        f"nb_{name}_{uuid.uuid4().hex}", ROOT / "notebooks" / f"{name}.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    outputs, defs = mod.app.run(defs={"warehouse_path": warehouse})
    return list(outputs), dict(defs)


def test_notebooks_run_as_scripts_with_cli_arg_and_env(warehouse: Path, tmp_path: Path) -> None:
    """`python notebooks/x.py -- --warehouse P` and the env-var default, all three at once."""
    env_missing = {**os.environ, "CCEE_WEBHOOK_DATA_DIR": str(tmp_path / "nothing-here")}

    def start(name: str, args: list[str], env: dict[str, str] | None = None) -> Any:
        nb = str(ROOT / "notebooks" / f"{name}.py")
        return subprocess.Popen(
            [sys.executable, nb, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=env,
        )

    procs = [(n, "arg", start(n, ["--", "--warehouse", str(warehouse)])) for n in NOTEBOOKS]
    # The env-var default pointing at nothing: the "no data yet" path, not a crash.
    procs.append(("delivery_health", "missing", start("delivery_health", [], env_missing)))
    for name, mode, p in procs:
        out, err = p.communicate(timeout=300)  # a deadline on a busy machine, not a speed claim
        assert p.returncode == 0, f"{name} ({mode}) failed:\n{err}"
        assert "Traceback" not in err
        if mode == "arg":  # the headline figures, printed
            assert out.startswith(HEADLINES[name]), (name, out)
        else:  # a clear "no data" line, never silence
            assert "sem dados ainda" in out and "nothing-here" in out, out


def test_contract_events_notebook_figures(warehouse: Path) -> None:
    _, d = run_app("contract_events", warehouse)
    assert d["resumo"] == {"eventos": 10, "contratos": 4, "dias": 3, "com_erro_conversao": 1}
    assert d["incomuns"]["id_contrato"].to_list() == [1001]
    assert int(d["por_tempo"]["eventos"].sum()) == 10
    assert dict(d["por_estado"].select("estado", "contratos").iter_rows()) == {
        "VALIDADO": 3,
        "CANCELADO": 1,
    }
    assert d["top"]["id_contrato"].to_list()[:1] == [1001]
    assert d["codigos"] == [
        "CONTRATO.CANCELADO",
        "CONTRATO.FINALIZADO",
        "CONTRATO.REGISTRADO",
        "CONTRATO.VALIDADO",
    ]


def test_energy_notebook_figures(warehouse: Path) -> None:
    _, d = run_app("energy_amount_events", warehouse)
    assert d["resumo"]["montante_vigente_mwh"] == pytest.approx(260.25)
    assert d["por_mes"]["montante_mwh_vigente"].sum() == pytest.approx(260.25)
    assert int(d["por_tempo"]["eventos"].sum()) == 6


def test_delivery_health_notebook_figures_and_alarm(warehouse: Path) -> None:
    outputs, d = run_app("delivery_health", warehouse)
    p = d["plantao"]
    assert (p.notificacoes, p.notificado, p.expirado, p.perda_de_dados) == (19, 15, 2, 1)
    assert p.taxa_entrega == pytest.approx(15 / 19)
    assert d["perdidas"]["transaction_id"].to_list() == ["t4"]
    # the period defaults to the last 7 days up to the 26th: t5 refused, t6 never arrived
    why = dict(zip(d["expiradas"]["transaction_id"], d["expiradas"]["diagnostico"], strict=True))
    assert why == {"t5": "recusada pelo receptor (quarentena)",
                   "t6": "nunca chegou ao receptor"}
    assert set(d["avisos"]["aviso"]) == {"codigo_fora_do_padrao", "transaction_id_nao_uuid"}
    # The on-call block is the first real output and carries the alarm and the figures.
    head = next(o for o in outputs if "ccee-kpi" in str(getattr(o, "text", "")))
    html = head.text
    assert html.index("ALARME: perda de dados") < html.index("ccee-kpi")
    assert "78,9 %" in html and "15 de 19" in html
    assert "20 s / 82 s" in html  # CCEE latency p50 / p95


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_empty_warehouse_shows_no_data_state(name: str, empty_warehouse: Path) -> None:
    outputs, _ = run_app(name, empty_warehouse)
    texts = " ".join(str(getattr(o, "text", "")) for o in outputs)
    assert "Sem dados ainda" in texts
    import altair as alt

    assert not any(isinstance(o, alt.TopLevelMixin) for o in outputs)
