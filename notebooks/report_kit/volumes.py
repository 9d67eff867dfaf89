"""Event volumes of every entity and code (``notificacoes``, one row per transactionId),
dated by CCEE's DATA_ORIGEM_EVENTO when it parses, else by the first receipt."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ccee.domain.metadata import DATA_ORIGEM_EVENTO, INSTANTE
from notebooks.report_kit.warehouse import (
    TUDO,
    Periodo,
    Warehouse,
    contagem_por_balde,
    sp_day,
    sp_local,
)

TABELA = "notificacoes"


def _com_momento() -> str:
    """notificacoes with `momento`: origin time from its metadados, else first receipt."""
    origem = INSTANTE.parse("m.valor")
    return f"""(SELECT n.*, coalesce(o.origem, n.primeiro_recebimento) AS momento
               FROM {TABELA} n LEFT JOIN (
                 SELECT transaction_id, min({origem}) AS origem FROM metadados m
                 WHERE m.nome = '{DATA_ORIGEM_EVENTO}' AND m.valor IS NOT NULL
                 GROUP BY transaction_id) o USING (transaction_id))"""


def limites(wh: Warehouse) -> tuple[dt.date | None, dt.date | None]:
    if not (wh.has(TABELA) and wh.has("metadados")):
        return None, None
    r = wh.one(
        f"SELECT min({sp_day('momento')}) AS a, max({sp_day('momento')}) AS b FROM {_com_momento()}"
    )
    return r["a"], r["b"]


def resumo(wh: Warehouse, periodo: Periodo = TUDO) -> dict:
    """Notifications (distinct transactionIds), deliveries, entities and codes in the period."""
    where, args = periodo.sql(sp_day("momento"))
    r = wh.one(
        f"""SELECT count(*) AS notificacoes, coalesce(sum(entregas), 0)::BIGINT AS entregas,
                   count(DISTINCT entidade) AS entidades,
                   count(DISTINCT evento_notificacao) AS codigos
            FROM {_com_momento()} WHERE {where}""",
        args,
    )
    return {k: int(v) for k, v in r.items()}


def no_tempo(wh: Warehouse, periodo: Periodo, grupo: str) -> pl.DataFrame:
    """Notifications per time bucket and `grupo` ('entidade' or 'evento_notificacao')."""
    if grupo not in ("entidade", "evento_notificacao"):
        raise ValueError(f"unknown grouping {grupo!r}")
    where, args = periodo.sql(sp_day("momento"))
    return contagem_por_balde(
        wh,
        periodo,
        f"FROM {_com_momento()} WHERE {where}",
        args,
        "momento",
        f"coalesce({grupo}, 'não informado')",
    )


def por_codigo(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Per entity and code: notifications, deliveries, first and last event (São Paulo)."""
    where, args = periodo.sql(sp_day("momento"))
    return wh.df(
        f"""SELECT coalesce(entidade, 'não informado') AS entidade, evento_notificacao,
                   count(*) AS notificacoes, sum(entregas)::BIGINT AS entregas,
                   {sp_local("min(momento)")} AS primeiro_evento_sp,
                   {sp_local("max(momento)")} AS ultimo_evento_sp
            FROM {_com_momento()} WHERE {where}
            GROUP BY ALL ORDER BY entidade, notificacoes DESC, evento_notificacao""",
        args,
    )
