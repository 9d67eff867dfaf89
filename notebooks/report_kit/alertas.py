"""Open alert incidents for the dashboards, read from `alerts.jsonl` beside the warehouse.

Reads the file directly (one JSON object per line, see docs/contracts.md) so the notebooks
need nothing but the data folder; a torn last line is skipped. Rows are plain dicts (a table
marimo shows as is), so this module depends on no dataframe library. `aberto_em` is stored as
UTC ISO text; it is shown as a São Paulo instant, as every other time in the reports.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from settings import CCEE_TZ

COLUNAS = ["aberto_em", "regra", "contagem", "titulo", "primeiro_transaction_id",
           "ultimo_transaction_id", "consulta"]


def alertas_abertos(warehouse_path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """Incidents whose latest alert is "aberto", oldest first ([] when none)."""
    arquivo = Path(warehouse_path).parent / "alerts.jsonl"
    ultimo: dict[str, dict[str, object]] = {}
    if arquivo.exists():
        for linha in arquivo.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                a = json.loads(linha)
            except json.JSONDecodeError:
                continue
            if isinstance(a, dict) and "chave" in a:
                ultimo[str(a["chave"])] = a
    abertos = sorted(
        ({c: a.get(c) for c in COLUNAS} for a in ultimo.values() if a.get("estado") == "aberto"),
        key=lambda a: str(a["aberto_em"]),
    )
    for a in abertos:
        a["aberto_em"] = _sao_paulo(a["aberto_em"])
    return abertos


def _sao_paulo(instante: object) -> object:
    """An ISO instant as a São Paulo datetime; anything else as it was written."""
    try:
        return datetime.fromisoformat(str(instante)).astimezone(CCEE_TZ)
    except ValueError:
        return instante
