"""`contratos` and `montantes_vigentes`: the state of each contract and the amount in force,
rebuilt from the typed event tables for the keys a partition touched.

Both need history across days (a contract registered last month and validated today), so a
partition run finds the keys its days touched and recomputes each of them from *all* the
events of that key. Re-running any partition, in any order, gives the same rows.

Order is CCEE's event time, `data_origem_evento` (invariant 5: retries deliver out of order);
an event whose time did not parse falls back to its first receipt. Ties go to the latest
receipt, then to the transaction id, so the result never depends on scan order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ccee.domain import lifecycle
from pipelines.core.connections import transaction

CONTRATOS_DDL = """
CREATE TABLE IF NOT EXISTS contratos (
    perfil VARCHAR,
    id_contrato BIGINT NOT NULL,
    estado_atual VARCHAR NOT NULL,
    encerrado BOOLEAN NOT NULL,
    eventos BIGINT NOT NULL,
    primeiro_evento_em TIMESTAMPTZ,
    ultimo_evento_em TIMESTAMPTZ,
    ambiente_contratacao VARCHAR,
    anomalia VARCHAR,
    sequencia VARCHAR
)"""

MONTANTES_DDL = """
CREATE TABLE IF NOT EXISTS montantes_vigentes (
    perfil VARCHAR,
    id_contrato BIGINT NOT NULL,
    mes_referencia DATE,
    submercado VARCHAR,
    montante_mwh DECIMAL(18, 6),
    declaracoes BIGINT NOT NULL,
    declarado_em TIMESTAMPTZ,
    evento_vigente VARCHAR,
    transaction_id_vigente VARCHAR NOT NULL,
    ambiente_contratacao VARCHAR
)"""

CONTRATO_EVENTOS = "eventos_contrato"
MONTANTE_EVENTOS = "eventos_montante_energia"

_MOMENTO = "coalesce(data_origem_evento, recebido_em)"
_ORDEM = f"{_MOMENTO}, recebido_em, transaction_id"


@dataclass(frozen=True)
class Carga:
    """Keys recomputed by one run, and the rows they now have."""

    chaves: int
    linhas: int
    anomalias: int = 0


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(CONTRATOS_DDL)
    con.execute(MONTANTES_DDL)


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name = ?",
        [table],
    ).fetchone()
    return bool(row and row[0])


def _lifecycle_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The domain's allowed transitions and terminal states as temp tables to join."""
    con.execute("CREATE OR REPLACE TEMP TABLE _transicoes (de VARCHAR, para VARCHAR)")
    con.executemany("INSERT INTO _transicoes VALUES (?, ?)", lifecycle.pares_permitidos())
    con.execute("CREATE OR REPLACE TEMP TABLE _terminais (estado VARCHAR)")
    con.executemany("INSERT INTO _terminais VALUES (?)", [[e] for e in lifecycle.TERMINAIS])


def load_contratos(con: duckdb.DuckDBPyConnection, d0: date, d1: date) -> Carga:
    """Recompute `contratos` for every (perfil, id_contrato) with an event loaded on d0..d1."""
    ensure_tables(con)
    if not _has(con, CONTRATO_EVENTOS):
        return Carga(0, 0)
    _lifecycle_tables(con)
    rotulo_terminal = lifecycle.ROTULOS[lifecycle.APOS_TERMINAL]
    rotulo_transicao = lifecycle.ROTULOS[lifecycle.TRANSICAO_NAO_PREVISTA]
    with transaction(con):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _chaves AS
                SELECT DISTINCT perfil, id_contrato FROM {CONTRATO_EVENTOS}
                WHERE dt BETWEEN ? AND ? AND id_contrato IS NOT NULL""",
            [d0, d1],
        )
        con.execute(
            """DELETE FROM contratos c WHERE EXISTS (SELECT 1 FROM _chaves k
               WHERE k.perfil IS NOT DISTINCT FROM c.perfil AND k.id_contrato = c.id_contrato)"""
        )
        con.execute(
            f"""INSERT INTO contratos
            WITH s AS (
              SELECT e.perfil, e.id_contrato, e.transaction_id, e.evento,
                     e.ambiente_contratacao, {_MOMENTO} AS momento,
                     lag(e.evento) OVER w AS anterior, row_number() OVER w AS passo
              FROM {CONTRATO_EVENTOS} e
              SEMI JOIN _chaves k
                ON k.perfil IS NOT DISTINCT FROM e.perfil AND k.id_contrato = e.id_contrato
              WINDOW w AS (PARTITION BY e.perfil, e.id_contrato ORDER BY {_ORDEM})),
            v AS (
              SELECT s.*,
                     CASE WHEN anterior IS NULL THEN NULL
                          WHEN anterior IN (SELECT estado FROM _terminais)
                            THEN ? || ': ' || anterior || ' → ' || coalesce(evento, '?')
                          WHEN NOT EXISTS (SELECT 1 FROM _transicoes t
                                           WHERE t.de = anterior AND t.para = evento)
                            THEN ? || ': ' || anterior || ' → ' || coalesce(evento, '?')
                     END AS violacao
              FROM s)
            SELECT perfil, id_contrato,
                   arg_max(evento, passo) AS estado_atual,
                   arg_max(evento, passo) IN (SELECT estado FROM _terminais) AS encerrado,
                   count(DISTINCT transaction_id) AS eventos,
                   min(momento) AS primeiro_evento_em,
                   max(momento) AS ultimo_evento_em,
                   arg_max(ambiente_contratacao, passo)
                       FILTER (WHERE ambiente_contratacao IS NOT NULL) AS ambiente_contratacao,
                   arg_min(violacao, passo) FILTER (WHERE violacao IS NOT NULL) AS anomalia,
                   string_agg(evento, ' → ' ORDER BY passo) AS sequencia
            FROM v GROUP BY perfil, id_contrato
            ORDER BY perfil, id_contrato""",
            [rotulo_terminal, rotulo_transicao],
        )
        chaves, anomalias = _count(
            con,
            """SELECT count(*), count(anomalia) FROM contratos c SEMI JOIN _chaves k
               ON k.perfil IS NOT DISTINCT FROM c.perfil AND k.id_contrato = c.id_contrato""",
        )
    return Carga(chaves=chaves, linhas=chaves, anomalias=anomalias)


def load_montantes(con: duckdb.DuckDBPyConnection, d0: date, d1: date) -> Carga:
    """Recompute `montantes_vigentes` for every (perfil, id_contrato, mes_referencia,
    submercado) declared on d0..d1: the amount of the declaration with the latest event time
    (a late delivery of an older declaration never overrides a newer one)."""
    ensure_tables(con)
    if not _has(con, MONTANTE_EVENTOS):
        return Carga(0, 0)
    keys = "perfil, id_contrato, mes_referencia, submercado"
    on = " AND ".join(f"k.{c} IS NOT DISTINCT FROM {{a}}.{c}" for c in keys.split(", "))
    with transaction(con):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _chaves_montante AS
                SELECT DISTINCT {keys} FROM {MONTANTE_EVENTOS}
                WHERE dt BETWEEN ? AND ? AND id_contrato IS NOT NULL""",
            [d0, d1],
        )
        con.execute(
            f"""DELETE FROM montantes_vigentes m WHERE EXISTS (
                SELECT 1 FROM _chaves_montante k WHERE {on.format(a="m")})"""
        )
        con.execute(
            f"""INSERT INTO montantes_vigentes
            WITH e AS (
              SELECT e.*, {_MOMENTO} AS momento,
                     row_number() OVER (PARTITION BY e.perfil, e.id_contrato,
                                        e.mes_referencia, e.submercado
                                        ORDER BY {_MOMENTO} DESC, e.recebido_em DESC,
                                                 e.transaction_id DESC) AS rn
              FROM {MONTANTE_EVENTOS} e
              SEMI JOIN _chaves_montante k ON {on.format(a="e")})
            SELECT {keys},
                   any_value(montante_mwh) FILTER (WHERE rn = 1) AS montante_mwh,
                   count(DISTINCT transaction_id) AS declaracoes,
                   any_value(momento) FILTER (WHERE rn = 1) AS declarado_em,
                   any_value(evento) FILTER (WHERE rn = 1) AS evento_vigente,
                   any_value(transaction_id) FILTER (WHERE rn = 1) AS transaction_id_vigente,
                   any_value(ambiente_contratacao) FILTER (WHERE rn = 1)
                       AS ambiente_contratacao
            FROM e GROUP BY {keys} ORDER BY {keys}"""
        )
        chaves, _ = _count(
            con,
            f"""SELECT count(*), 0 FROM montantes_vigentes m
                SEMI JOIN _chaves_montante k ON {on.format(a="m")}""",
        )
    return Carga(chaves=chaves, linhas=chaves)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, int]:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def duplicated_keys(con: duckdb.DuckDBPyConnection, table: str, keys: str) -> int:
    """Key values with more than one row (NULLs compare equal), whole table."""
    row = con.execute(
        f"SELECT count(*) FROM (SELECT {keys} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()
    return int(row[0]) if row else 0


def events_reconcile(con: duckdb.DuckDBPyConnection, table: str, source: str) -> tuple[int, int]:
    """(events counted in `table`, keyed events in `source`): equal when every event of the
    source is counted exactly once in the state table."""
    if not _has(con, source):
        return 0, 0
    col = "eventos" if table == "contratos" else "declaracoes"
    got = con.execute(f"SELECT coalesce(sum({col}), 0) FROM {table}").fetchone()
    want = con.execute(
        f"SELECT count(DISTINCT transaction_id) FROM {source} WHERE id_contrato IS NOT NULL"
    ).fetchone()
    assert got is not None and want is not None
    return int(got[0]), int(want[0])
