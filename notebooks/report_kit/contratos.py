"""Figures for contracts: events (``eventos_contrato``) and state (``contratos``).

The lifecycle (states, allowed transitions, terminal states) is ``ccee.domain.lifecycle``;
the warehouse applies it when building ``contratos``, so this module reads the verdict
(``estado_atual``, ``anomalia``) instead of re-deriving it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ccee.domain import lifecycle
from notebooks.report_kit import eventos as ev
from notebooks.report_kit.warehouse import TUDO, Periodo, Warehouse, sp_day, sp_local

TABELA = "eventos_contrato"
ESTADO = "contratos"
MOMENTO = ev.momento()

_where = ev.filtro


def codigos_evento(wh: Warehouse) -> list[str]:
    return ev.codigos_evento(wh, TABELA)


def limites_periodo(wh: Warehouse) -> tuple[dt.date | None, dt.date | None]:
    """First and last São Paulo day with contract events (None, None when empty)."""
    return ev.limites(wh, TABELA)


def resumo(wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None) -> dict:
    """Headline numbers: events, distinct contracts, days, events with conversion errors."""
    where, args = _where(periodo, eventos)
    r = wh.one(
        f"""SELECT count(*) AS eventos,
                   count(DISTINCT (perfil, id_contrato)) FILTER (WHERE id_contrato IS NOT NULL)
                       AS contratos,
                   count(DISTINCT {sp_day(MOMENTO)}) AS dias,
                   count(*) FILTER (WHERE erros_conversao IS NOT NULL) AS com_erro_conversao
            FROM {TABELA} WHERE {where}""",
        args,
    )
    return {k: int(v) for k, v in r.items()}


def _no_periodo(periodo: Periodo) -> tuple[str, list]:
    """Contracts with at least one event in the period (their first..last span overlaps it)."""
    parts, args = ["TRUE"], []
    if periodo.fim is not None:
        parts.append(f"{sp_day('primeiro_evento_em')} <= ?")
        args.append(periodo.fim)
    if periodo.inicio is not None:
        parts.append(f"{sp_day('ultimo_evento_em')} >= ?")
        args.append(periodo.inicio)
    return " AND ".join(parts), args


def situacao(wh: Warehouse, periodo: Periodo = TUDO) -> dict:
    """From ``contratos``: contracts active in the period, how many have ended (terminal
    state) and how many break the lifecycle."""
    if not wh.has(ESTADO):
        return {"contratos": 0, "encerrados": 0, "com_anomalia": 0}
    where, args = _no_periodo(periodo)
    r = wh.one(
        f"""SELECT count(*) AS contratos, count(*) FILTER (WHERE encerrado) AS encerrados,
                   count(anomalia) AS com_anomalia
            FROM {ESTADO} WHERE {where}""",
        args,
    )
    return {k: int(v or 0) for k, v in r.items()}


def por_estado(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Contracts per current state (lifecycle order), active in the period."""
    if not wh.has(ESTADO):
        return pl.DataFrame(schema=["estado", "contratos"])
    where, args = _no_periodo(periodo)
    df = wh.df(
        f"""SELECT estado_atual AS estado, count(*) AS contratos,
                   count(anomalia) AS com_anomalia
            FROM {ESTADO} WHERE {where} GROUP BY 1""",
        args,
    )
    ordem = {e: i for i, e in enumerate(lifecycle.ESTADOS)}
    return df.sort(pl.col("estado").replace_strict(ordem, default=len(ordem)), "estado")


def anomalias(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Contracts whose observed sequence breaks the lifecycle, with the rule broken."""
    if not wh.has(ESTADO):
        return pl.DataFrame(schema=["perfil", "id_contrato", "anomalia"])
    where, args = _no_periodo(periodo)
    return wh.df(
        f"""SELECT perfil, id_contrato, anomalia, sequencia,
                   {sp_local("ultimo_evento_em")} AS ultimo_evento_sp
            FROM {ESTADO} WHERE anomalia IS NOT NULL AND {where}
            ORDER BY ultimo_evento_em DESC, perfil, id_contrato""",
        args,
    )


def volume_no_tempo(
    wh: Warehouse, periodo: Periodo, eventos: list[str] | None = None
) -> pl.DataFrame:
    return ev.volume_no_tempo(wh, TABELA, periodo, eventos)


def volume_por_ambiente(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pl.DataFrame:
    """Events per ambiente de contratação (ACL/ACR; missing shown as 'não informado')."""
    where, args = _where(periodo, eventos)
    return wh.df(
        f"""SELECT coalesce(ambiente_contratacao, 'não informado') AS ambiente_contratacao,
                   evento_notificacao, count(*) AS eventos,
                   count(DISTINCT id_contrato) AS contratos
            FROM {TABELA} WHERE {where} GROUP BY ALL ORDER BY 1, 2""",
        args,
    )


def _sequenciado(where: str) -> str:
    """Each contract's events in origin order, with the previous step beside it."""
    return f"""
        SELECT perfil, id_contrato, transaction_id, evento_notificacao, evento,
               {MOMENTO} AS momento,
               lag(evento) OVER w AS evento_anterior,
               lag({MOMENTO}) OVER w AS momento_anterior
        FROM {TABELA}
        WHERE id_contrato IS NOT NULL AND {where}
        WINDOW w AS (PARTITION BY perfil, id_contrato
                     ORDER BY {MOMENTO}, recebido_em, transaction_id)
    """


def transicoes(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pl.DataFrame:
    """Lifecycle steps (previous event → event) with count and time between them (hours)."""
    where, args = _where(periodo, eventos)
    return wh.df(
        f"""SELECT evento_anterior AS de, evento AS para, count(*) AS contratos,
                   median(epoch(momento - momento_anterior)) / 3600 AS horas_mediana,
                   quantile_cont(epoch(momento - momento_anterior), 0.95) / 3600 AS horas_p95
            FROM ({_sequenciado(where)}) WHERE evento_anterior IS NOT NULL
            GROUP BY ALL ORDER BY contratos DESC, de, para""",
        args,
    )


def top_contratos(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None, n: int = 10
) -> pl.DataFrame:
    """Contracts with the most events, with first/last event (São Paulo time)."""
    where, args = _where(periodo, eventos)
    return wh.df(
        f"""SELECT perfil, id_contrato, count(*) AS eventos,
                   any_value(ambiente_contratacao) AS ambiente_contratacao,
                   {sp_local(f"min({MOMENTO})")} AS primeiro_evento_sp,
                   {sp_local(f"max({MOMENTO})")} AS ultimo_evento_sp,
                   string_agg(evento, ' → ' ORDER BY {MOMENTO}, transaction_id) AS sequencia
            FROM {TABELA} WHERE id_contrato IS NOT NULL AND {where}
            GROUP BY perfil, id_contrato ORDER BY eventos DESC, perfil, id_contrato
            LIMIT {int(n)}""",
        args,
    )
