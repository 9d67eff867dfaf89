"""Figures for energy amounts: declarations (``eventos_montante_energia``) and the amounts in
force (``montantes_vigentes``: per perfil, contract, reference month and submarket, the
declaration with the latest CCEE event time)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from notebooks.report_kit import eventos as ev
from notebooks.report_kit.warehouse import TUDO, Periodo, Warehouse, sp_day, sp_local

TABELA = "eventos_montante_energia"
VIGENTES = "montantes_vigentes"
MOMENTO = ev.momento()

_where = ev.filtro


def codigos_evento(wh: Warehouse) -> list[str]:
    return ev.codigos_evento(wh, TABELA)


def limites_periodo(wh: Warehouse) -> tuple[dt.date | None, dt.date | None]:
    return ev.limites(wh, TABELA)


def _vigentes_no_periodo(periodo: Periodo) -> tuple[str, list]:
    """Amounts in force whose declaration (the one in force) is dated in the period."""
    return periodo.sql(sp_day("declarado_em"))


def resumo(wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None) -> dict:
    """Declarations (events) in the period, and the amounts in force they left: keys,
    contracts, reference months and the total in force (MWh)."""
    where, args = _where(periodo, eventos)
    r = wh.one(
        f"""SELECT count(*) AS declaracoes,
                   count(DISTINCT (perfil, id_contrato)) FILTER (WHERE id_contrato IS NOT NULL)
                       AS contratos
            FROM {TABELA} WHERE {where}""",
        args,
    )
    out = {"declaracoes": int(r["declaracoes"]), "contratos": int(r["contratos"])}
    v = {"chaves": 0, "meses_referencia": 0, "montante_vigente_mwh": 0.0}
    if wh.has(VIGENTES):
        w, a = _vigentes_no_periodo(periodo)
        r = wh.one(
            f"""SELECT count(*) AS chaves, count(DISTINCT mes_referencia) AS meses_referencia,
                       coalesce(sum(montante_mwh), 0)::DOUBLE AS montante_vigente_mwh
                FROM {VIGENTES} WHERE {w}""",
            a,
        )
        v = {
            "chaves": int(r["chaves"]),
            "meses_referencia": int(r["meses_referencia"]),
            "montante_vigente_mwh": float(r["montante_vigente_mwh"]),
        }
    return {**out, **v}


def volume_no_tempo(
    wh: Warehouse, periodo: Periodo, eventos: list[str] | None = None
) -> pl.DataFrame:
    return ev.volume_no_tempo(wh, TABELA, periodo, eventos)


def vigente_por_mes(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Amount in force (MWh) per reference month and submarket, with how many declarations
    were made for those keys and how many of them were superseded."""
    if not wh.has(VIGENTES):
        return pl.DataFrame(schema=["mes_referencia", "submercado", "montante_mwh_vigente"])
    w, a = _vigentes_no_periodo(periodo)
    return wh.df(
        f"""SELECT coalesce(strftime(mes_referencia, '%Y-%m'), 'não informado')
                       AS mes_referencia,
                   coalesce(submercado, 'não informado') AS submercado,
                   count(DISTINCT (perfil, id_contrato)) AS contratos,
                   sum(declaracoes)::BIGINT AS declaracoes,
                   (sum(declaracoes) - count(*))::BIGINT AS substituidas,
                   coalesce(sum(montante_mwh), 0)::DOUBLE AS montante_mwh_vigente
            FROM {VIGENTES} WHERE {w} GROUP BY ALL ORDER BY 1, 2""",
        a,
    )


def vigentes(wh: Warehouse, periodo: Periodo = TUDO, n: int = 20) -> pl.DataFrame:
    """The largest amounts in force, one row per key."""
    if not wh.has(VIGENTES):
        return pl.DataFrame()
    w, a = _vigentes_no_periodo(periodo)
    return wh.df(
        f"""SELECT perfil, id_contrato, strftime(mes_referencia, '%Y-%m') AS mes_referencia,
                   submercado, montante_mwh::DOUBLE AS montante_mwh, declaracoes,
                   evento_vigente, {sp_local("declarado_em")} AS declarado_em_sp
            FROM {VIGENTES} WHERE {w}
            ORDER BY montante_mwh DESC NULLS LAST, perfil, id_contrato LIMIT {int(n)}""",
        a,
    )


def tempo_origem_notificacao(
    wh: Warehouse, periodo: Periodo = TUDO, eventos: list[str] | None = None
) -> pl.DataFrame:
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
              SELECT {sp_day("m.data_origem_evento")} AS dia,
                     epoch(m.recebido_em - m.data_origem_evento) AS ate_recebimento_s,
                     {ccee} AS ate_notificacao_ccee_s
              FROM {TABELA} m {join}
              WHERE m.data_origem_evento IS NOT NULL AND {where})
            SELECT dia, count(*) AS eventos,
                   quantile_cont(ate_recebimento_s, 0.5) AS recebimento_p50_s,
                   quantile_cont(ate_recebimento_s, 0.95) AS recebimento_p95_s,
                   quantile_cont(ate_notificacao_ccee_s, 0.5) AS notificacao_ccee_p50_s,
                   quantile_cont(ate_notificacao_ccee_s, 0.95) AS notificacao_ccee_p95_s
            FROM t GROUP BY dia ORDER BY dia""",
        args,
    )
