"""Figures for contract events (``eventos_contrato``): pure SQL over a read-only warehouse."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from notebooks.report_kit import eventos as ev
from notebooks.report_kit.warehouse import TUDO, Periodo, Warehouse, sp_day, sp_local

TABELA = "eventos_contrato"
#: Events after which a contract should see nothing else.
EVENTOS_TERMINAIS = ("FINALIZADO", "CONCLUIDO", "CANCELADO")
EVENTO_INICIAL = "REGISTRADO"
MOMENTO = ev.momento()


_where = ev.filtro


def codigos_evento(wh: Warehouse) -> list[str]:
    return ev.codigos_evento(wh, TABELA)


def limites_periodo(wh: Warehouse) -> tuple[dt.date | None, dt.date | None]:
    """First and last São Paulo day with contract events (None, None when empty)."""
    if not wh.has(TABELA):
        return None, None
    row = wh.df(f"SELECT min({sp_day(MOMENTO)}) AS a, max({sp_day(MOMENTO)}) AS b FROM {TABELA}")
    a, b = row.iloc[0]["a"], row.iloc[0]["b"]
    return (
        None if pd.isna(a) else pd.Timestamp(a).date(),
        None if pd.isna(b) else pd.Timestamp(b).date(),
    )


def resumo(wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None) -> dict:
    """Headline numbers: events, distinct contracts, days, events with conversion errors."""
    where, args = _where(periodo, eventos)
    df = wh.df(
        f"""SELECT count(*) AS eventos, count(DISTINCT id_contrato) AS contratos,
                   count(DISTINCT {sp_day(MOMENTO)}) AS dias,
                   count(*) FILTER (WHERE erros_conversao IS NOT NULL) AS com_erro_conversao
            FROM {TABELA} WHERE {where}""",
        args,
    )
    return {k: int(v) for k, v in df.iloc[0].items()}


def volume_por_dia(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
    return ev.volume_por_dia(wh, TABELA, periodo, eventos)


def volume_por_ambiente(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
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
        SELECT id_contrato, transaction_id, evento_notificacao, evento, {MOMENTO} AS momento,
               lag(evento) OVER w AS evento_anterior,
               lag({MOMENTO}) OVER w AS momento_anterior,
               row_number() OVER w AS passo
        FROM {TABELA}
        WHERE id_contrato IS NOT NULL AND {where}
        WINDOW w AS (PARTITION BY id_contrato ORDER BY {MOMENTO}, transaction_id)
    """


def transicoes(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
    """Lifecycle steps (previous event → event) with count and time between them (hours)."""
    where, args = _where(periodo, eventos)
    return wh.df(
        f"""SELECT evento_anterior AS de, evento AS para, count(*) AS contratos,
                   round(median(epoch(momento - momento_anterior)) / 3600, 3) AS horas_mediana,
                   round(quantile_cont(epoch(momento - momento_anterior), 0.95) / 3600, 3)
                       AS horas_p95
            FROM ({_sequenciado(where)}) WHERE evento_anterior IS NOT NULL
            GROUP BY ALL ORDER BY contratos DESC, de, para""",
        args,
    )


def sequencias_incomuns(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
    """Contracts whose lifecycle breaks the expected order.

    Rules: an event after a terminal one (e.g. CANCELADO after FINALIZADO), or a first event
    other than REGISTRADO. One row per contract, with the offending sequence spelled out.
    """
    where, args = _where(periodo, eventos)
    terminais = ", ".join(f"'{e}'" for e in EVENTOS_TERMINAIS)
    return wh.df(
        f"""WITH s AS ({_sequenciado(where)}),
            t AS (SELECT id_contrato, min(passo) AS passo_terminal FROM s
                  WHERE evento IN ({terminais}) GROUP BY 1),
            c AS (
              SELECT s.id_contrato,
                     string_agg(s.evento, ' → ' ORDER BY s.passo) AS sequencia,
                     count(*) AS eventos,
                     max(s.passo) > any_value(t.passo_terminal) AS apos_encerramento,
                     arg_min(s.evento, s.passo) <> '{EVENTO_INICIAL}' AS sem_registro,
                     max({sp_local('s.momento')}) AS ultimo_evento_sp
              FROM s LEFT JOIN t USING (id_contrato) GROUP BY s.id_contrato)
            SELECT id_contrato,
                   CASE WHEN apos_encerramento THEN 'evento após encerramento'
                        ELSE 'não começa por {EVENTO_INICIAL}' END AS motivo,
                   sequencia, eventos, ultimo_evento_sp
            FROM c WHERE coalesce(apos_encerramento, FALSE) OR sem_registro
            ORDER BY id_contrato""",
        args,
    )


def top_contratos(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None, n: int = 10
) -> pd.DataFrame:
    """Contracts with the most events, with first/last event (São Paulo time)."""
    where, args = _where(periodo, eventos)
    return wh.df(
        f"""SELECT id_contrato, count(*) AS eventos,
                   any_value(ambiente_contratacao) AS ambiente_contratacao,
                   {sp_local(f'min({MOMENTO})')} AS primeiro_evento_sp,
                   {sp_local(f'max({MOMENTO})')} AS ultimo_evento_sp,
                   string_agg(evento, ' → ' ORDER BY {MOMENTO}, transaction_id) AS sequencia
            FROM {TABELA} WHERE id_contrato IS NOT NULL AND {where}
            GROUP BY id_contrato ORDER BY eventos DESC, id_contrato LIMIT {int(n)}""",
        args,
    )
