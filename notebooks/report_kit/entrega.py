"""Delivery-health figures: SLA, delivery rate, expiry, retries, data loss, quarantine."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from notebooks.report_kit.warehouse import (
    TUDO,
    Periodo,
    Warehouse,
    contagem_por_balde,
    sp_local,
)

CONTAGENS = (
    "notificacoes",
    "notificado",
    "aguardando",
    "expirado",
    "outros",
    "retentativas_vistas",
    "notificado_ausente_no_lago",
    "no_lago_sem_resultado",
)


@dataclass(frozen=True)
class Plantao:
    """What the person on call reads first. Rates are fractions (0..1), None without data."""

    ultimo_dia: str | None
    notificacoes: int
    notificado: int
    aguardando: int
    expirado: int
    outros: int
    taxa_entrega: float | None
    latencia_ccee_p50_s: float | None
    latencia_ccee_p95_s: float | None
    retentativas_vistas: int
    perda_de_dados: int
    no_lago_sem_resultado: int
    quarentena: int

    @property
    def alarme_perda(self) -> bool:
        return self.perda_de_dados > 0


def ultimo_dia(wh: Warehouse) -> dt.date | None:
    """Latest São Paulo day with delivery data (SLA or quarantine; None when empty): 'now'
    for the page's default period, so a quarantine spike today is inside it."""
    dias = []
    if wh.has("sla_entrega"):
        dias.append(wh.one("SELECT max(dia) AS d FROM sla_entrega")["d"])
    if wh.has("quarentena"):
        dias.append(wh.one("SELECT max(dt) AS d FROM quarentena")["d"])
    dias = [d for d in dias if d is not None]
    return max(dias) if dias else None


def plantao(wh: Warehouse, periodo: Periodo = TUDO) -> Plantao:
    """The on-call figures over a period of São Paulo days."""
    counts = dict.fromkeys(CONTAGENS, 0)
    last: str | None = None
    if wh.has("sla_entrega"):
        where, args = periodo.sql("dia")
        sums = ", ".join(f"coalesce(sum({c}), 0)::BIGINT AS {c}" for c in CONTAGENS)
        r = wh.one(
            f"SELECT {sums}, strftime(max(dia), '%Y-%m-%d') AS ultimo FROM sla_entrega "
            f"WHERE {where}",
            args,
        )
        counts = {c: int(r[c]) for c in CONTAGENS}
        last = r["ultimo"]
    p50 = p95 = None
    if wh.has("resultados_notificacao"):
        where, args = periodo.sql("dia")
        r = wh.one(
            f"""SELECT quantile_cont(epoch(data_notificacao - data_origem), 0.5) AS p50,
                       quantile_cont(epoch(data_notificacao - data_origem), 0.95) AS p95
                FROM resultados_notificacao
                WHERE situacao = 'NOTIFICADO' AND data_notificacao IS NOT NULL
                  AND data_origem IS NOT NULL AND {where}""",
            args,
        )
        p50 = None if r["p50"] is None else float(r["p50"])
        p95 = None if r["p95"] is None else float(r["p95"])
    quar = 0
    if wh.has("quarentena"):
        where, args = periodo.sql("dt")
        quar = int(wh.one(f"SELECT count(*) AS n FROM quarentena WHERE {where}", args)["n"])
    n = counts["notificacoes"]
    return Plantao(
        ultimo_dia=last,
        notificacoes=n,
        notificado=counts["notificado"],
        aguardando=counts["aguardando"],
        expirado=counts["expirado"],
        outros=counts["outros"],
        taxa_entrega=(counts["notificado"] / n) if n else None,
        latencia_ccee_p50_s=p50,
        latencia_ccee_p95_s=p95,
        retentativas_vistas=counts["retentativas_vistas"],
        perda_de_dados=counts["notificado_ausente_no_lago"],
        no_lago_sem_resultado=counts["no_lago_sem_resultado"],
        quarentena=quar,
    )


def sla_por_dia(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Per day: volumes by state, delivery rate, retries, data loss (from ``sla_entrega``) and
    exact CCEE latency p50/p95 over that day's notifications (from ``resultados_notificacao``)."""
    if not wh.has("sla_entrega"):
        return pl.DataFrame(schema=["dia", *CONTAGENS, "taxa_entrega"])
    where, args = periodo.sql("s.dia")
    sums = ", ".join(f"sum({c})::BIGINT AS {c}" for c in CONTAGENS)
    lat = "NULL::DOUBLE AS latencia_ccee_p50_s, NULL::DOUBLE AS latencia_ccee_p95_s"
    join = ""
    if wh.has("resultados_notificacao"):
        join = """LEFT JOIN (
            SELECT dia,
                   quantile_cont(epoch(data_notificacao - data_origem), 0.5) AS p50,
                   quantile_cont(epoch(data_notificacao - data_origem), 0.95) AS p95
            FROM resultados_notificacao
            WHERE situacao = 'NOTIFICADO' AND data_notificacao IS NOT NULL
              AND data_origem IS NOT NULL
            GROUP BY dia) l ON l.dia = s.dia"""
        lat = "any_value(l.p50) AS latencia_ccee_p50_s, any_value(l.p95) AS latencia_ccee_p95_s"
    return wh.df(
        f"""SELECT s.dia, {sums},
                   sum(notificado) / nullif(sum(notificacoes), 0) AS taxa_entrega, {lat}
            FROM sla_entrega s {join} WHERE {where}
            GROUP BY s.dia ORDER BY s.dia""",
        args,
    )


def sla_por_evento(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Per event code over the period: volumes, delivery rate, worst daily p95 (seconds)."""
    if not wh.has("sla_entrega"):
        return pl.DataFrame()
    where, args = periodo.sql("dia")
    return wh.df(
        f"""SELECT evento_notificacao, sum(notificacoes)::BIGINT AS notificacoes,
                   sum(notificado)::BIGINT AS notificado, sum(expirado)::BIGINT AS expirado,
                   sum(aguardando)::BIGINT AS aguardando,
                   sum(notificado) / nullif(sum(notificacoes), 0) AS taxa_entrega,
                   max(latencia_ccee_p95_s) AS pior_p95_ccee_s,
                   sum(retentativas_vistas)::BIGINT AS retentativas_vistas,
                   sum(notificado_ausente_no_lago)::BIGINT AS notificado_ausente_no_lago
            FROM sla_entrega WHERE {where} GROUP BY 1 ORDER BY notificacoes DESC, 1""",
        args,
    )


def perda_de_dados(wh: Warehouse, periodo: Periodo = TUDO, limite: int = 50) -> pl.DataFrame:
    """Notifications CCEE reports as NOTIFICADO that the lake never received (to chase)."""
    if not (wh.has("resultados_notificacao") and wh.has("notificacoes")):
        return pl.DataFrame(schema=["transaction_id"])
    where, args = periodo.sql("r.dia")
    return wh.df(
        f"""SELECT r.transaction_id, r.evento_notificacao, r.perfil,
                   strftime(r.dia, '%Y-%m-%d') AS dia,
                   {sp_local("r.data_notificacao")} AS notificado_em_sp
            FROM resultados_notificacao r
            ANTI JOIN notificacoes n ON n.transaction_id = r.transaction_id
            WHERE r.situacao = 'NOTIFICADO' AND {where}
            ORDER BY r.data_notificacao NULLS LAST, r.transaction_id LIMIT {int(limite)}""",
        args,
    )


def quarentena_por_motivo(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Quarantined requests per machine reason, with the HTTP status answered."""
    if not wh.has("quarentena"):
        return pl.DataFrame(schema=["motivo", "status_http", "pedidos"])
    where, args = periodo.sql("dt")
    return wh.df(
        f"""SELECT motivo, status_http, count(*) AS pedidos,
                   {sp_local("max(recebido_em)")} AS ultimo_sp
            FROM quarentena WHERE {where} GROUP BY ALL ORDER BY pedidos DESC, motivo""",
        args,
    )


def rejeicoes_no_tempo(wh: Warehouse, periodo: Periodo) -> pl.DataFrame:
    """Receiver rejections (quarantine) per time bucket of the period and HTTP status."""
    if not wh.has("quarentena") or periodo.inicio is None:
        return pl.DataFrame(schema=["inicio", "rotulo", "grupo", "eventos"])
    where, args = periodo.sql("dt")
    return contagem_por_balde(
        wh, periodo, f"FROM quarentena WHERE {where}", args, "recebido_em", "status_http"
    )


def entregas_com_avisos(wh: Warehouse, periodo: Periodo = TUDO) -> pl.DataFrame:
    """Notifications accepted with deviations from the usual shape, per aviso code.

    A notification flagged with several codes counts once under each (see docs/contracts.md
    for the codes); a warehouse from before the `avisos` column has none."""
    if not wh.has_column("notificacoes", "avisos"):
        cols = ["aviso", "notificacoes", "eventos", "ultima_sp"]
        return pl.DataFrame(schema=dict.fromkeys(cols, pl.Utf8))
    where, args = periodo.sql("dt")
    return wh.df(
        f"""SELECT aviso, count(*) AS notificacoes,
                   string_agg(DISTINCT evento_notificacao, ', ' ORDER BY evento_notificacao)
                       AS eventos,
                   {sp_local("max(ultimo_recebimento)")} AS ultima_sp
            FROM (SELECT unnest(avisos) AS aviso, evento_notificacao, ultimo_recebimento
                  FROM notificacoes WHERE {where} AND len(avisos) > 0)
            GROUP BY aviso ORDER BY notificacoes DESC, aviso""",
        args,
    )


#: What happened to an expired notification's attempts, as the report words it.
DIAGNOSTICOS = {
    "recusada": "recusada pelo receptor (quarentena)",
    "no_lago": "armazenada no lago (o 201 não chegou à CCEE)",
    "nunca_chegou": "nunca chegou ao receptor",
}


def expiradas(wh: Warehouse, periodo: Periodo = TUDO, limite: int = 200) -> pl.DataFrame:
    """Per notification CCEE reports EXPIRADO: were its attempts refused (and why, from the
    quarantine rows carrying its transaction_id), stored, or did they never arrive (and at
    which destination CCEE was sending them)?"""
    cols = [
        "transaction_id",
        "evento_notificacao",
        "perfil",
        "dia",
        "endereco_destino",
        "diagnostico",
        "tentativas_recusadas",
        "motivos",
        "ultima_recusa_sp",
    ]
    if not wh.has("resultados_notificacao"):
        return pl.DataFrame(schema=dict.fromkeys(cols, pl.Utf8))
    where, args = periodo.sql("r.dia")
    recusas = (
        "(SELECT NULL::VARCHAR AS transaction_id, 0 AS n, NULL AS motivos, "
        "NULL::TIMESTAMPTZ AS ultima WHERE false)"
    )
    if wh.has_column("quarentena", "transaction_id"):
        recusas = """(SELECT transaction_id, count(*) AS n,
                             string_agg(DISTINCT motivo, ', ' ORDER BY motivo) AS motivos,
                             max(recebido_em) AS ultima
                      FROM quarentena WHERE transaction_id IS NOT NULL GROUP BY 1)"""
    lago = "(SELECT NULL::VARCHAR AS transaction_id WHERE false)"
    if wh.has("notificacoes"):
        lago = "(SELECT DISTINCT transaction_id FROM notificacoes)"
    return wh.df(
        f"""SELECT r.transaction_id, r.evento_notificacao, r.perfil,
                   strftime(r.dia, '%Y-%m-%d') AS dia, r.endereco_destino,
                   CASE WHEN q.n > 0 THEN 'recusada'
                        WHEN l.transaction_id IS NOT NULL THEN 'no_lago'
                        ELSE 'nunca_chegou' END AS diagnostico,
                   coalesce(q.n, 0)::BIGINT AS tentativas_recusadas, q.motivos,
                   {sp_local("q.ultima")} AS ultima_recusa_sp
            FROM resultados_notificacao r
            LEFT JOIN {recusas} q ON q.transaction_id = r.transaction_id
            LEFT JOIN {lago} l ON l.transaction_id = r.transaction_id
            WHERE r.situacao = 'EXPIRADO' AND {where}
            ORDER BY r.dia, r.transaction_id LIMIT {int(limite)}""",
        args,
    )
