"""What every typed entity table (``eventos_<entidade>``) shares: the period and event-code
filter, the codes present, and volume per day. Both entity reports build on these."""

from __future__ import annotations

import pandas as pd

from notebooks.report_kit.warehouse import Periodo, Warehouse, in_list, sp_day


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
    return [str(v) for v in df["evento_notificacao"].dropna()]


def volume_por_dia(
    wh: Warehouse, tabela: str, periodo: Periodo, eventos: list[str] | None
) -> pd.DataFrame:
    """Events per São Paulo day of origin and event code."""
    where, args = filtro(periodo, eventos)
    return wh.df(
        f"""SELECT strftime({sp_day(momento())}, '%Y-%m-%d') AS dia, evento_notificacao,
                   count(*) AS eventos
            FROM {tabela} WHERE {where} GROUP BY ALL ORDER BY dia, evento_notificacao""",
        args,
    )
