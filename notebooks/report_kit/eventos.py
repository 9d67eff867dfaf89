"""What every typed entity table (``eventos_<entidade>``) shares: the period and event-code
filter, the codes present, the data's extent, and volumes over time."""

from __future__ import annotations

import datetime as dt

import polars as pl

from notebooks.report_kit.warehouse import (
    Periodo,
    Warehouse,
    contagem_por_balde,
    in_list,
    sp_day,
)


def momento(alias: str = "") -> str:
    """When the event happened: CCEE's origin time, or the first receipt when it is missing
    (a value that did not parse)."""
    pre = f"{alias}." if alias else ""
    return f"coalesce({pre}data_origem_evento, {pre}recebido_em)"


def filtro(periodo: Periodo, eventos: list[str] | None, alias: str = "") -> tuple[str, list]:
    """SQL condition (and its parameters) for a period of São Paulo days and event codes."""
    pre = f"{alias}." if alias else ""
    p_sql, p_args = periodo.sql(sp_day(momento(alias)))
    e_sql, e_args = in_list(f"{pre}evento_notificacao", eventos)
    return f"{p_sql} AND {e_sql}", [*p_args, *e_args]


def codigos_evento(wh: Warehouse, tabela: str) -> list[str]:
    """Event codes present, for the filter widget."""
    if not wh.has(tabela):
        return []
    df = wh.df(f"SELECT DISTINCT evento_notificacao FROM {tabela} ORDER BY 1")
    return [str(v) for v in df["evento_notificacao"].drop_nulls()]


def limites(wh: Warehouse, tabela: str) -> tuple[dt.date | None, dt.date | None]:
    """First and last São Paulo day with events in `tabela` (None, None when empty)."""
    if not wh.has(tabela):
        return None, None
    r = wh.one(f"SELECT min({sp_day(momento())}) AS a, max({sp_day(momento())}) AS b FROM {tabela}")
    return r["a"], r["b"]


def volume_no_tempo(
    wh: Warehouse, tabela: str, periodo: Periodo, eventos: list[str] | None
) -> pl.DataFrame:
    """Events per time bucket of the period (by origin time) and event code."""
    where, args = filtro(periodo, eventos)
    return contagem_por_balde(
        wh, periodo, f"FROM {tabela} WHERE {where}", args, momento(), "evento_notificacao"
    )
