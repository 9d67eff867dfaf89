"""CCEE delivery results → `resultados_notificacao`: upsert by transaction_id, resumable per page.

The pull of one (perfil, dia) walks CCEE's pages; after each page the rows and the page
number are committed together, so a crash resumes at the next page and replaying a page
changes nothing (idempotent upsert).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import duckdb
import pyarrow as pa

from ccee.subscriptions import Redactor
from pipelines.core.connections import transaction

DDL = """
CREATE TABLE IF NOT EXISTS resultados_notificacao (
    transaction_id VARCHAR NOT NULL,
    perfil VARCHAR,
    evento_notificacao VARCHAR,
    participante_mercado VARCHAR,
    endereco_destino VARCHAR,
    situacao VARCHAR,
    data_origem TIMESTAMPTZ,
    data_notificacao TIMESTAMPTZ,
    data_origem_raw VARCHAR,
    data_notificacao_raw VARCHAR,
    valores_invalidos BOOLEAN,
    dia DATE,
    atualizado_em TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS _resultados_progresso (
    perfil VARCHAR NOT NULL,
    dia DATE NOT NULL,
    ultima_pagina INTEGER NOT NULL,
    total_paginas INTEGER,
    concluido BOOLEAN NOT NULL,
    atualizado_em TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (perfil, dia)
);
"""

_UTC_US = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("perfil", pa.string()),
        ("evento_notificacao", pa.string()),
        ("participante_mercado", pa.string()),
        ("endereco_destino", pa.string()),
        ("situacao", pa.string()),
        ("data_origem", _UTC_US),
        ("data_notificacao", _UTC_US),
        ("data_origem_raw", pa.string()),
        ("data_notificacao_raw", pa.string()),
        ("valores_invalidos", pa.bool_()),
        ("dia", pa.date32()),
        ("atualizado_em", _UTC_US),
    ]
)


class Resultado(Protocol):
    """The fields of `ccee.models.ResultadoNotificacao` this pipeline reads."""

    @property
    def transaction_id(self) -> str | None: ...

    @property
    def evento_notificacao(self) -> str | None: ...

    @property
    def endereco_destino(self) -> str | None: ...

    @property
    def participante_mercado(self) -> str | None: ...

    @property
    def situacao(self) -> str | None: ...

    @property
    def data_origem(self) -> datetime | None: ...

    @property
    def data_origem_raw(self) -> str | None: ...

    @property
    def data_notificacao(self) -> datetime | None: ...

    @property
    def data_notificacao_raw(self) -> str | None: ...

    @property
    def invalidos(self) -> tuple[str, ...]: ...


class ResultPage(Protocol):
    """The fields of `ccee.models.Pagina` this pipeline reads."""

    @property
    def numero(self) -> int: ...

    @property
    def total_paginas(self) -> int | None: ...

    @property
    def itens(self) -> Sequence[Resultado]: ...


@dataclass(frozen=True)
class Progresso:
    ultima_pagina: int
    total_paginas: int | None
    concluido: bool


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def progresso(con: duckdb.DuckDBPyConnection, perfil: str, dia: date) -> Progresso | None:
    row = con.execute(
        "SELECT ultima_pagina, total_paginas, concluido FROM _resultados_progresso "
        "WHERE perfil = ? AND dia = ?",
        [perfil, dia],
    ).fetchone()
    return Progresso(int(row[0]), row[1], bool(row[2])) if row else None


def first_page(con: duckdb.DuckDBPyConnection, perfil: str, dia: date) -> int:
    """Where a pull starts: after the last committed page of an interrupted pull, else 1."""
    p = progresso(con, perfil, dia)
    if p is None or p.concluido:
        return 1
    return p.ultima_pagina + 1


def _set_progress(
    con: duckdb.DuckDBPyConnection,
    perfil: str,
    dia: date,
    pagina: int,
    total: int | None,
    concluido: bool,
    agora: datetime,
) -> None:
    con.execute(
        """
        INSERT INTO _resultados_progresso VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (perfil, dia) DO UPDATE SET ultima_pagina = excluded.ultima_pagina,
            total_paginas = excluded.total_paginas, concluido = excluded.concluido,
            atualizado_em = excluded.atualizado_em
        """,
        [perfil, dia, pagina, total, concluido, agora],
    )


def iniciar(con: duckdb.DuckDBPyConnection, perfil: str, dia: date, agora: datetime) -> int:
    """Open a pull; returns the first page to ask for."""
    inicio = first_page(con, perfil, dia)
    if inicio == 1:
        _set_progress(con, perfil, dia, 0, None, False, agora)
    return inicio


def _rows(itens: Sequence[Resultado], perfil: str, dia: date, agora: datetime) -> pa.Table:
    latest: dict[str, Resultado] = {}
    for item in itens:  # the same id twice in a page: the later entry wins
        if item.transaction_id:  # without an id there is nothing to upsert by
            latest[item.transaction_id] = item
    cols: dict[str, list[object]] = {f.name: [] for f in SCHEMA}
    # CCEE echoes the destination URL, token included: analysts must never see it.
    redact = Redactor.from_env(os.environ)
    for tid, r in latest.items():
        values: dict[str, object] = {
            "transaction_id": tid,
            "perfil": perfil,
            "evento_notificacao": r.evento_notificacao,
            "participante_mercado": r.participante_mercado,
            "endereco_destino": redact(r.endereco_destino),
            "situacao": r.situacao,
            "data_origem": r.data_origem,
            "data_notificacao": r.data_notificacao,
            "data_origem_raw": r.data_origem_raw,
            "data_notificacao_raw": r.data_notificacao_raw,
            "valores_invalidos": bool(r.invalidos),
            "dia": dia,
            "atualizado_em": agora,
        }
        for k, v in values.items():
            cols[k].append(v)
    return pa.Table.from_pydict(cols, schema=SCHEMA)


def save_page(
    con: duckdb.DuckDBPyConnection, perfil: str, dia: date, pagina: ResultPage, agora: datetime
) -> int:
    """Upsert one page and record it as done, atomically; returns rows written."""
    table = _rows(pagina.itens, perfil, dia, agora)
    concluido = pagina.total_paginas is None or pagina.numero >= pagina.total_paginas
    with transaction(con):
        con.register("_pagina", table)
        try:
            con.execute(
                "DELETE FROM resultados_notificacao "
                "WHERE transaction_id IN (SELECT transaction_id FROM _pagina)"
            )
            con.execute("INSERT INTO resultados_notificacao SELECT * FROM _pagina")
        finally:
            con.unregister("_pagina")
        _set_progress(con, perfil, dia, pagina.numero, pagina.total_paginas, concluido, agora)
    return table.num_rows


def concluir(con: duckdb.DuckDBPyConnection, perfil: str, dia: date, agora: datetime) -> None:
    """Mark a pull complete (also for a day with no results at all)."""
    p = progresso(con, perfil, dia)
    _set_progress(
        con, perfil, dia, p.ultima_pagina if p else 0, p.total_paginas if p else 0, True, agora
    )
