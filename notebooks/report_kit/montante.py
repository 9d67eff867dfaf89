"""Figures for energy-amount events (``eventos_montante_energia``)."""

from __future__ import annotations

import pandas as pd

from notebooks.report_kit import eventos as ev
from notebooks.report_kit.warehouse import TUDO, Periodo, Warehouse, sp_day

TABELA = "eventos_montante_energia"
MOMENTO = ev.momento()


_where = ev.filtro


def codigos_evento(wh: Warehouse) -> list[str]:
    return ev.codigos_evento(wh, TABELA)


def resumo(wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None) -> dict:
    """Events, contracts, reference months and the total amount declared (MWh)."""
    where, args = _where(periodo, eventos)
    df = wh.df(
        f"""SELECT count(*) AS eventos, count(DISTINCT id_contrato) AS contratos,
                   count(DISTINCT mes_referencia) AS meses_referencia,
                   coalesce(sum(montante_mwh), 0)::DOUBLE AS montante_mwh_total
            FROM {TABELA} WHERE {where}""",
        args,
    )
    r = df.iloc[0]
    return {
        "eventos": int(r["eventos"]),
        "contratos": int(r["contratos"]),
        "meses_referencia": int(r["meses_referencia"]),
        "montante_mwh_total": float(r["montante_mwh_total"]),
    }


def volume_por_dia(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
    return ev.volume_por_dia(wh, TABELA, periodo, eventos)


def volume_por_submercado(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
    """Events and amount (MWh) per submercado."""
    where, args = _where(periodo, eventos)
    return wh.df(
        f"""SELECT coalesce(submercado, 'não informado') AS submercado, count(*) AS eventos,
                   coalesce(sum(montante_mwh), 0)::DOUBLE AS montante_mwh
            FROM {TABELA} WHERE {where} GROUP BY ALL ORDER BY 1""",
        args,
    )


def ajustes_por_mes(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
    """Per reference month: events, contracts, adjustments and the latest amount declared.

    An adjustment is any event for a (contract, reference month) after its first one; the
    amount counted is the latest declared for each contract in the month.
    """
    where, args = _where(periodo, eventos)
    return wh.df(
        f"""WITH e AS (
              SELECT id_contrato, mes_referencia, montante_mwh, evento,
                     row_number() OVER (PARTITION BY id_contrato, mes_referencia
                                        ORDER BY {MOMENTO} DESC, transaction_id DESC) AS rn
              FROM {TABELA} WHERE {where})
            SELECT strftime(mes_referencia, '%Y-%m') AS mes_referencia,
                   count(*) AS eventos, count(DISTINCT id_contrato) AS contratos,
                   (count(*) - count(DISTINCT id_contrato)) AS ajustes,
                   count(*) FILTER (WHERE evento = 'AJUSTADO') AS eventos_ajustado,
                   coalesce(sum(montante_mwh) FILTER (WHERE rn = 1), 0)::DOUBLE
                       AS montante_mwh_vigente
            FROM e GROUP BY mes_referencia ORDER BY mes_referencia NULLS LAST""",
        args,
    )


def tempo_origem_notificacao(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pd.DataFrame:
    """Per São Paulo day: p50/p95 seconds from origin to our first receipt, and to CCEE's
    dataNotificacao when the delivery results were pulled (``resultados_notificacao``)."""
    where, args = _where(periodo, eventos, alias="m")
    ccee = "NULL::DOUBLE"
    join = ""
    if wh.has("resultados_notificacao"):
        join = "LEFT JOIN resultados_notificacao r USING (transaction_id)"
        ccee = "epoch(r.data_notificacao - coalesce(r.data_origem, m.data_origem_evento))"
    return wh.df(
        f"""WITH t AS (
              SELECT {sp_day('m.data_origem_evento')} AS dia,
                     epoch(m.recebido_em - m.data_origem_evento) AS ate_recebimento_s,
                     {ccee} AS ate_notificacao_ccee_s
              FROM {TABELA} m {join}
              WHERE m.data_origem_evento IS NOT NULL AND {where})
            SELECT strftime(dia, '%Y-%m-%d') AS dia, count(*) AS eventos,
                   quantile_cont(ate_recebimento_s, 0.5) AS recebimento_p50_s,
                   quantile_cont(ate_recebimento_s, 0.95) AS recebimento_p95_s,
                   quantile_cont(ate_notificacao_ccee_s, 0.5) AS notificacao_ccee_p50_s,
                   quantile_cont(ate_notificacao_ccee_s, 0.95) AS notificacao_ccee_p95_s
            FROM t GROUP BY dia ORDER BY dia""",
        args,
    )
