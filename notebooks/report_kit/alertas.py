"""Open alert incidents for the dashboards, read from `alerts.jsonl` beside the warehouse.

Reads the file directly (one JSON object per line, see docs/contracts.md) so the notebooks
need nothing but the data folder; a torn last line is skipped. Rows are plain dicts (a table
marimo shows as is), so this module depends on no dataframe library.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
    abertos = [
        {c: a.get(c) for c in COLUNAS} for a in ultimo.values() if a.get("estado") == "aberto"
    ]
    return sorted(abertos, key=lambda a: str(a["aberto_em"]))
