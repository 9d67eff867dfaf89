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
NOTEBOOKS = ["contract_events", "energy_amount_events", "delivery_health"]


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
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"{name} ({mode}) failed:\n{err}"
        assert "Traceback" not in err


def test_contract_events_notebook_figures(warehouse: Path) -> None:
    _, d = run_app("contract_events", warehouse)
    assert d["resumo"] == {"eventos": 10, "contratos": 4, "dias": 3, "com_erro_conversao": 1}
    assert set(d["incomuns"].id_contrato) == {1001, 1003}
    assert int(d["por_dia"].eventos.sum()) == 10
    assert d["por_ambiente"].groupby("ambiente_contratacao").eventos.sum().to_dict() == {
        "ACL": 6,
        "ACR": 3,
        "não informado": 1,
    }
    assert list(d["top"].id_contrato[:1]) == [1001]
    assert d["codigos"] == [
        "CONTRATO.CANCELADO",
        "CONTRATO.FINALIZADO",
        "CONTRATO.REGISTRADO",
        "CONTRATO.VALIDADO",
    ]


def test_energy_notebook_figures(warehouse: Path) -> None:
    _, d = run_app("energy_amount_events", warehouse)
    assert d["resumo"]["montante_mwh_total"] == pytest.approx(360.75)
    assert d["ajustes"].set_index("mes_referencia").ajustes.to_dict() == {
        "2026-11": 1,
        "2026-12": 0,
    }
    assert d["tempos"].set_index("dia").recebimento_p50_s.to_dict() == {
        "2026-11-25": 45.0,
        "2026-11-26": 120.0,
    }


def test_delivery_health_notebook_figures_and_alarm(warehouse: Path) -> None:
    outputs, d = run_app("delivery_health", warehouse)
    p = d["plantao"]
    assert (p.notificacoes, p.notificado, p.expirado, p.perda_de_dados) == (19, 15, 2, 1)
    assert p.taxa_entrega == pytest.approx(15 / 19)
    assert list(d["perdidas"].transaction_id) == ["t4"]
    # The on-call block is the first real output and carries the alarm and the figures.
    head = next(o for o in outputs if "ccee-kpi" in str(getattr(o, "text", "")))
    html = head.text
    assert html.index("ALARME: perda de dados") < html.index("ccee-kpi")
    assert "78,9%" in html and "15 de 19" in html
    assert "20 s / 82 s" in html  # CCEE latency p50 / p95


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_empty_warehouse_shows_no_data_state(name: str, empty_warehouse: Path) -> None:
    outputs, _ = run_app(name, empty_warehouse)
    texts = " ".join(str(getattr(o, "text", "")) for o in outputs)
    assert "Sem dados ainda" in texts
    import altair as alt

    assert not any(isinstance(o, alt.TopLevelMixin) for o in outputs)
