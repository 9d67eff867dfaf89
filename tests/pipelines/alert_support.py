"""A real DuckDB warehouse with hand-placed rows, for the alert rule tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core import lake_tables, results
from pipelines.defs.lake.assets import QUARENTENA_DDL


class Warehouse:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "warehouse.duckdb"
        with self._con() as con:
            lake_tables.ensure_tables(con)
            results.ensure_tables(con)
            con.execute(QUARENTENA_DDL)

    def _con(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(self.path))
        con.execute("SET TimeZone = 'UTC'")
        return con

    def result(
        self, tx: str, situacao: str, origem: datetime, notificado: datetime | None = None,
        perfil: str = "88888", evento: str = "CONTRATO.VALIDADO",
    ) -> None:
        with self._con() as con:
            con.execute(
                """INSERT INTO resultados_notificacao (transaction_id, perfil, evento_notificacao,
                       situacao, data_origem, data_notificacao, dia, atualizado_em)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [tx, perfil, evento, situacao, origem, notificado, origem.date(),
                 (notificado or origem) + timedelta(minutes=1)],
            )

    def delivery(self, tx: str, recebido: datetime, perfil: str = "88888") -> None:
        with self._con() as con:
            con.execute(
                """INSERT INTO notificacoes (transaction_id, perfil, evento_notificacao,
                       primeiro_recebimento, ultimo_recebimento, entregas, dt)
                   VALUES (?, ?, 'CONTRATO.VALIDADO', ?, ?, 1, ?)""",
                [tx, perfil, recebido, recebido, recebido.date()],
            )

    def quarantined(self, n: int, at: datetime, motivo: str = "json_invalido") -> None:
        with self._con() as con:
            con.executemany(
                """INSERT INTO quarentena (recebido_em, destino, motivo, detalhe, status_http,
                       tamanho, corpo, instancia, dt) VALUES (?, '/ccee/***', ?, 'x', 400, 1,
                       'x', 'r1', ?)""",
                [[at - timedelta(seconds=i), motivo, at.date()] for i in range(n)],
            )

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._con() as con:
            return con.execute(query, params or []).fetchall()
