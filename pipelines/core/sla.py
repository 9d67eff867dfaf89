"""`sla_entrega`: per CCEE day × perfil × event code, what CCEE says vs what the lake holds.

The day is CCEE's `dia` (São Paulo day of dataOrigem). A notification that originated late
on day D may reach the lake on D+1, so the lake side is matched by transaction_id across all
partitions; lake notifications CCEE does not list are attributed to the São Paulo day of their
`DATA_ORIGEM_EVENTO` (or of their first receipt when that is missing), looking at lake days
D and D+1. End-to-end latency needs a known origin (CCEE's dataOrigem, else the
metadata); without one it is left out rather than counted as zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from ccee.domain.metadata import INSTANTE
from pipelines.core.connections import transaction
from settings import CCEE_TZ_NAME

#: A notification stays open this long; an AGUARDANDO seen after it is counted as expired.
DELIVERY_WINDOW = timedelta(hours=24)

DDL = """
CREATE TABLE IF NOT EXISTS sla_entrega (
    dia DATE NOT NULL,
    perfil VARCHAR,
    evento_notificacao VARCHAR,
    notificacoes BIGINT, notificado BIGINT, aguardando BIGINT, expirado BIGINT, outros BIGINT,
    latencia_ccee_p50_s DOUBLE, latencia_ccee_p95_s DOUBLE, latencia_ccee_p99_s DOUBLE,
    latencia_ccee_max_s DOUBLE,
    latencia_ponta_a_ponta_p50_s DOUBLE, latencia_ponta_a_ponta_p95_s DOUBLE,
    latencia_ponta_a_ponta_p99_s DOUBLE, latencia_ponta_a_ponta_max_s DOUBLE,
    entregas_por_notificacao DOUBLE,
    retentativas_vistas BIGINT,
    notificado_ausente_no_lago BIGINT,
    no_lago_sem_resultado BIGINT
);
"""


@dataclass(frozen=True)
class SlaLoad:
    linhas: int
    notificacoes: int
    notificado_ausente_no_lago: int
    no_lago_sem_resultado: int


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    from pipelines.core import lake_tables, results

    lake_tables.ensure_tables(con)
    results.ensure_tables(con)
    con.execute(DDL)


def _universo_sql() -> str:
    """Every transaction of days [$lo, $hi]: CCEE's results joined with the lake (whose days
    reach $hi_lago, a notification arriving after midnight); parameters bound by the caller."""
    origem = INSTANTE.parse("m.valor")
    return f"""
    WITH r AS (SELECT * FROM resultados_notificacao WHERE dia BETWEEN $lo AND $hi),
    lago AS (
        SELECT n.transaction_id, n.perfil, n.evento_notificacao, n.primeiro_recebimento,
               n.entregas, n.dt
        FROM notificacoes n
        WHERE n.transaction_id IN (SELECT transaction_id FROM r)
           OR (n.dt BETWEEN $lo AND $hi_lago
               AND n.transaction_id NOT IN (SELECT transaction_id FROM resultados_notificacao))
    ),
    lago_origem AS (
        SELECT l.*, o.origem AS origem_meta,
               coalesce(o.origem, l.primeiro_recebimento) AS origem_lago
        FROM lago l LEFT JOIN (
            SELECT m.transaction_id, m.dt,
                   arg_min({origem}, m.posicao) AS origem
            FROM metadados m
            WHERE m.nome = 'DATA_ORIGEM_EVENTO' AND m.valor IS NOT NULL
              AND m.transaction_id IN (SELECT transaction_id FROM lago)
            GROUP BY ALL
        ) o ON o.transaction_id = l.transaction_id AND o.dt = l.dt
    ),
    l AS (
        SELECT * FROM lago_origem
        WHERE transaction_id IN (SELECT transaction_id FROM r)
           OR timezone($tz, origem_lago)::DATE BETWEEN $lo AND $hi
    )
    SELECT coalesce(r.dia, timezone($tz, l.origem_lago)::DATE) AS dia,
           coalesce(r.perfil, l.perfil) AS perfil,
           coalesce(r.evento_notificacao, l.evento_notificacao) AS evento_notificacao,
           r.transaction_id IS NOT NULL AS com_resultado,
           l.transaction_id IS NOT NULL AS no_lago,
           r.situacao, r.data_origem, r.data_notificacao, r.atualizado_em,
           l.primeiro_recebimento, l.entregas,
           coalesce(r.data_origem, l.origem_meta) AS origem
    FROM r FULL OUTER JOIN l ON r.transaction_id = l.transaction_id
    """


def load_sla(con: duckdb.DuckDBPyConnection, d0: date, d1: date) -> SlaLoad:
    """Replace days [d0, d1] of `sla_entrega` in one transaction."""
    ensure_tables(con)
    days = {"lo": d0, "hi": d1}
    universe = {
        **days,
        "hi_lago": d1 + timedelta(days=1),
        "tz": CCEE_TZ_NAME,
        "janela": int(DELIVERY_WINDOW.total_seconds()),
    }
    lat_ccee = "(epoch_us(data_notificacao) - epoch_us(data_origem)) / 1e6"
    lat_e2e = "(epoch_us(primeiro_recebimento) - epoch_us(origem)) / 1e6"
    expirado = (
        "(situacao = 'EXPIRADO' OR (situacao = 'AGUARDANDO_NOTIFICACAO' AND "
        "atualizado_em >= data_origem + to_seconds($janela)))"
    )

    def pcts(expr: str) -> str:
        return ", ".join(
            [f"quantile_cont({expr}, {q})" for q in (0.5, 0.95, 0.99)] + [f"max({expr})"]
        )

    with transaction(con):
        con.execute("DELETE FROM sla_entrega WHERE dia BETWEEN $lo AND $hi", days)
        con.execute(
            f"""
            INSERT INTO sla_entrega
            WITH u AS ({_universo_sql()})
            SELECT dia, perfil, evento_notificacao,
                   count(*),
                   count(*) FILTER (WHERE situacao = 'NOTIFICADO'),
                   count(*) FILTER (WHERE situacao = 'AGUARDANDO_NOTIFICACAO'
                                    AND NOT coalesce({expirado}, false)),
                   count(*) FILTER (WHERE coalesce({expirado}, false)),
                   count(*) FILTER (WHERE com_resultado AND (situacao IS NULL OR situacao NOT IN
                                    ('NOTIFICADO', 'AGUARDANDO_NOTIFICACAO', 'EXPIRADO'))),
                   {pcts(lat_ccee)},
                   {pcts(lat_e2e)},
                   avg(entregas) FILTER (WHERE no_lago),
                   coalesce(sum(entregas) FILTER (WHERE no_lago), 0)
                       - count(*) FILTER (WHERE no_lago),
                   count(*) FILTER (WHERE situacao = 'NOTIFICADO' AND NOT no_lago),
                   count(*) FILTER (WHERE no_lago AND NOT com_resultado)
            FROM u
            GROUP BY ALL
            ORDER BY dia, perfil, evento_notificacao
            """,
            universe,
        )
        row = con.execute(
            """SELECT count(*), coalesce(sum(notificacoes), 0),
                      coalesce(sum(notificado_ausente_no_lago), 0),
                      coalesce(sum(no_lago_sem_resultado), 0)
               FROM sla_entrega WHERE dia BETWEEN $lo AND $hi""",
            days,
        ).fetchone()
    assert row is not None
    return SlaLoad(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def notified_missing_from_lake(
    con: duckdb.DuckDBPyConnection, d0: date, d1: date, antes_de: datetime
) -> list[str]:
    """NOTIFICADO results of days [d0, d1] notified before `antes_de` that the lake lacks."""
    ensure_tables(con)
    rows = con.execute(
        """
        SELECT r.transaction_id FROM resultados_notificacao r
        WHERE r.dia BETWEEN ? AND ? AND r.situacao = 'NOTIFICADO'
          AND coalesce(r.data_notificacao, r.atualizado_em) < ?
          AND r.transaction_id NOT IN (SELECT transaction_id FROM notificacoes)
        ORDER BY r.transaction_id
        """,
        [d0, d1, antes_de],
    ).fetchall()
    return [r[0] for r in rows]
