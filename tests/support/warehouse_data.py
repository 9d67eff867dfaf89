"""A small warehouse with known contents, created with DuckDB SQL after docs/contracts.md.

The expected figures asserted by the tests are derived by hand from these rows (see the
comments next to each block); changing a row means re-deriving them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from pipelines.core import contract_state

DDL = """
CREATE TABLE notificacoes (
    transaction_id VARCHAR PRIMARY KEY, perfil VARCHAR, evento_notificacao VARCHAR,
    entidade VARCHAR, evento VARCHAR, primeiro_recebimento TIMESTAMPTZ,
    ultimo_recebimento TIMESTAMPTZ, entregas INTEGER, dt DATE);
CREATE TABLE metadados (
    transaction_id VARCHAR, posicao INTEGER, nome VARCHAR, valor VARCHAR, dt DATE);
CREATE TABLE eventos_contrato (
    transaction_id VARCHAR PRIMARY KEY, perfil VARCHAR, evento_notificacao VARCHAR,
    evento VARCHAR, recebido_em TIMESTAMPTZ, dt DATE, id_contrato BIGINT,
    data_origem_evento TIMESTAMPTZ, mes_referencia DATE, ambiente_contratacao VARCHAR,
    erros_conversao VARCHAR);
CREATE TABLE eventos_montante_energia (
    transaction_id VARCHAR PRIMARY KEY, perfil VARCHAR, evento_notificacao VARCHAR,
    evento VARCHAR, recebido_em TIMESTAMPTZ, dt DATE, id_contrato BIGINT,
    data_origem_evento TIMESTAMPTZ, mes_referencia DATE, submercado VARCHAR,
    montante_mwh DECIMAL(18, 6), ambiente_contratacao VARCHAR, erros_conversao VARCHAR);
CREATE TABLE resultados_notificacao (
    transaction_id VARCHAR PRIMARY KEY, perfil VARCHAR, evento_notificacao VARCHAR,
    participante_mercado VARCHAR, endereco_destino VARCHAR, situacao VARCHAR,
    data_origem TIMESTAMPTZ, data_notificacao TIMESTAMPTZ, data_origem_raw VARCHAR,
    data_notificacao_raw VARCHAR, valores_invalidos BOOLEAN, dia DATE,
    atualizado_em TIMESTAMPTZ);
CREATE TABLE sla_entrega (
    dia DATE, perfil VARCHAR, evento_notificacao VARCHAR, notificacoes BIGINT,
    notificado BIGINT, aguardando BIGINT, expirado BIGINT, outros BIGINT,
    latencia_ccee_p50_s DOUBLE, latencia_ccee_p95_s DOUBLE, latencia_ccee_p99_s DOUBLE,
    latencia_ccee_max_s DOUBLE, latencia_ponta_a_ponta_p50_s DOUBLE,
    latencia_ponta_a_ponta_p95_s DOUBLE, latencia_ponta_a_ponta_p99_s DOUBLE,
    latencia_ponta_a_ponta_max_s DOUBLE, entregas_por_notificacao DOUBLE,
    retentativas_vistas BIGINT, notificado_ausente_no_lago BIGINT,
    no_lago_sem_resultado BIGINT);
CREATE TABLE quarentena (
    recebido_em TIMESTAMPTZ, destino VARCHAR, perfil VARCHAR, motivo VARCHAR,
    detalhe VARCHAR, status_http INTEGER, content_type VARCHAR, tamanho BIGINT,
    corpo VARCHAR, instancia VARCHAR, dt DATE);
"""

# (transaction_id, id_contrato, evento, origin UTC, ambiente, erros_conversao)
# São Paulo days: 25 → c1 c2 c5 c6 c7 (c7 is 01:30Z on the 26th = 22:30 on the 25th in SP),
# 26 → c3 c4, 27 → c8 c9 c10.
CONTRATOS = [
    ("c1", 1001, "REGISTRADO", "2026-11-25 13:00:00+00", "ACL", None),
    ("c2", 1001, "VALIDADO", "2026-11-25 15:00:00+00", "ACL", None),
    ("c3", 1001, "FINALIZADO", "2026-11-26 15:00:00+00", "ACL", None),
    ("c4", 1001, "CANCELADO", "2026-11-26 17:00:00+00", "ACL", None),
    ("c5", 1002, "REGISTRADO", "2026-11-25 14:00:00+00", "ACR", None),
    ("c6", 1002, "VALIDADO", "2026-11-25 18:00:00+00", "ACR", None),
    ("c7", 1003, "VALIDADO", "2026-11-26 01:30:00+00", "ACR", None),
    ("c8", 1004, "REGISTRADO", "2026-11-27 12:00:00+00", "ACL", None),
    ("c9", 1004, "VALIDADO", "2026-11-27 13:00:00+00", "ACL", None),
    ("c10", None, "REGISTRADO", "2026-11-27 14:00:00+00", None, '{"id_contrato": "abc"}'),
]

# (transaction_id, id_contrato, evento, origin UTC, mes, submercado, MWh, receipt delay s)
MONTANTES = [
    ("m1", 2001, "VALIDADO", "2026-11-25 13:00:00+00", "2026-11-01", "SE/CO", "100.5", 60),
    ("m2", 2001, "AJUSTADO", "2026-11-26 13:00:00+00", "2026-11-01", "SE/CO", "120.25", 120),
    ("m3", 2002, "VALIDADO", "2026-11-25 14:00:00+00", "2026-11-01", "S", "50", 30),
    ("m4", 2001, "VALIDADO", "2026-11-26 14:00:00+00", "2026-12-01", "SE/CO", "80", 90),
    ("m5", 2003, "AJUSTADO", "2026-11-26 15:00:00+00", "2026-12-01", "NE", "10", 300),
    # An older declaration (13:30 < m3's 14:00) delivered a day late: it must not override m3.
    ("m6", 2002, "AJUSTADO", "2026-11-25 13:30:00+00", "2026-11-01", "S", "999", 86400),
]
# Amounts in force (hand-derived): 2001/2026-11/SE-CO 120.25 (m2 supersedes m1),
# 2002/2026-11/S 50 (m3; m6 is older though it arrived last), 2001/2026-12/SE-CO 80,
# 2003/2026-12/NE 10 → 260.25 MWh in force, over 6 declarations.
# Contracts (hand-derived from CONTRATOS): 1001 REGISTRADO → VALIDADO → FINALIZADO →
# CANCELADO breaks the lifecycle at VALIDADO → FINALIZADO (CONCLUIDO missing); 1003 is first
# seen at VALIDADO (not an anomaly); none has reached a terminal state.

# (transaction_id, evento_notificacao, situacao, origin UTC, CCEE latency s or None, dia)
# Day 25 NOTIFICADO latencies: 10, 20, 30 (t1..t3) + 20 (m1) + 10 (m3); day 26: 100 (t4, which
# the lake never received: the data-loss case). Expired: t5 (its attempts were refused: a
# quarantine row carries its transaction_id), t6 (never reached the receiver), c8 (stored in
# the lake, so the 201 was lost on the way back).
RESULTADOS = [
    ("t1", "CONTRATO.REGISTRADO", "NOTIFICADO", "2026-11-25 12:00:00+00", 10, "2026-11-25"),
    ("t2", "CONTRATO.REGISTRADO", "NOTIFICADO", "2026-11-25 12:10:00+00", 20, "2026-11-25"),
    ("t3", "CONTRATO.VALIDADO", "NOTIFICADO", "2026-11-25 12:20:00+00", 30, "2026-11-25"),
    ("m1", "MONTANTE_ENERGIA.VALIDADO", "NOTIFICADO", "2026-11-25 13:00:00+00", 20, "2026-11-25"),
    ("m3", "MONTANTE_ENERGIA.VALIDADO", "NOTIFICADO", "2026-11-25 14:00:00+00", 10, "2026-11-25"),
    ("t4", "CONTRATO.REGISTRADO", "NOTIFICADO", "2026-11-26 12:00:00+00", 100, "2026-11-26"),
    ("t5", "CONTRATO.REGISTRADO", "EXPIRADO", "2026-11-26 12:30:00+00", None, "2026-11-26"),
    ("t6", "CONTRATO.VALIDADO", "EXPIRADO", "2026-11-26 13:00:00+00", None, "2026-11-26"),
    ("c8", "CONTRATO.REGISTRADO", "EXPIRADO", "2026-11-27 12:00:00+00", None, "2026-11-27"),
]

# The columns added with issue 14 (absent from older warehouses, see build_empty_warehouse):
# t2 and t3 (day 25) were accepted with avisos; the day-26 json_invalido refusal was t5's.
AVISOS = {
    "t2": ["transaction_id_nao_uuid", "codigo_fora_do_padrao"],
    "t3": ["codigo_fora_do_padrao"],
}

# (dia, evento, notificacoes, notificado, aguardando, expirado, outros, retentativas,
#  ausente_no_lago, sem_resultado)
SLA = [
    ("2026-11-25", "CONTRATO.REGISTRADO", 10, 8, 1, 1, 0, 3, 0, 0),
    ("2026-11-25", "CONTRATO.VALIDADO", 5, 5, 0, 0, 0, 0, 0, 0),
    ("2026-11-26", "CONTRATO.REGISTRADO", 4, 2, 0, 1, 1, 2, 1, 1),
]

# (recebido_em UTC, motivo, status_http, dt)
QUARENTENA = [
    ("2026-11-25 15:00:00+00", "json_invalido", 400, "2026-11-25"),
    ("2026-11-26 15:00:00+00", "json_invalido", 400, "2026-11-26"),
    ("2026-11-26 16:00:00+00", "corpo_grande_demais", 413, "2026-11-26"),
]


def build_warehouse(path: Path) -> Path:
    """Write the known warehouse to ``path`` (a fresh DuckDB file) and return it."""
    con = duckdb.connect(str(path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(DDL)
        for tid, idc, ev, origem, amb, erros in CONTRATOS:
            con.execute(
                """INSERT INTO eventos_contrato VALUES (?, 'P1', 'CONTRATO.' || ?, ?,
                   ?::TIMESTAMPTZ + INTERVAL 30 SECOND,
                   CAST(timezone('America/Sao_Paulo', ?::TIMESTAMPTZ) AS DATE),
                   ?, ?::TIMESTAMPTZ, NULL, ?, ?)""",
                [tid, ev, ev, origem, origem, idc, origem, amb, erros],
            )
        for tid, idc, ev, origem, mes, sub, mwh, atraso in MONTANTES:
            con.execute(
                """INSERT INTO eventos_montante_energia VALUES (?, 'P1',
                   'MONTANTE_ENERGIA.' || ?, ?, ?::TIMESTAMPTZ + to_seconds(?),
                   CAST(timezone('America/Sao_Paulo', ?::TIMESTAMPTZ) AS DATE),
                   ?, ?::TIMESTAMPTZ, ?::DATE, ?, ?::DECIMAL(18, 6), 'ACL', NULL)""",
                [tid, ev, ev, origem, atraso, origem, idc, origem, mes, sub, mwh],
            )
        con.execute(
            """INSERT INTO notificacoes
               SELECT transaction_id, perfil, evento_notificacao,
                      split_part(evento_notificacao, '.', 1), evento, recebido_em, recebido_em,
                      1, dt FROM eventos_contrato
               UNION ALL
               SELECT transaction_id, perfil, evento_notificacao,
                      split_part(evento_notificacao, '.', 1), evento, recebido_em, recebido_em,
                      2, dt FROM eventos_montante_energia"""
        )
        for tid in ("t1", "t2", "t3"):  # received by the lake; t4 is the one that was lost
            con.execute(
                """INSERT INTO notificacoes VALUES (?, 'P1', 'CONTRATO.REGISTRADO', 'CONTRATO',
                   'REGISTRADO', TIMESTAMPTZ '2026-11-25 12:30:00+00',
                   TIMESTAMPTZ '2026-11-25 12:30:00+00', 1, DATE '2026-11-25')""",
                [tid],
            )
        con.execute(
            """INSERT INTO metadados SELECT transaction_id, 0, 'ID_CONTRATO',
               CAST(id_contrato AS VARCHAR), dt FROM eventos_contrato"""
        )
        for tid, ev, sit, origem, lat, dia in RESULTADOS:
            con.execute(
                """INSERT INTO resultados_notificacao VALUES (?, 'P1', ?, 'AGENTE X',
                   'https://example.invalid/hook/***', ?, ?::TIMESTAMPTZ,
                   ?::TIMESTAMPTZ + to_seconds(?), ?, NULL, FALSE, ?::DATE,
                   TIMESTAMPTZ '2026-11-27 00:00:00+00')""",
                [tid, ev, sit, origem, origem, lat, origem, dia],
            )
        for dia, ev, n, ok, ag, ex, ou, ret, aus, sem in SLA:
            con.execute(
                """INSERT INTO sla_entrega VALUES (?::DATE, 'P1', ?, ?, ?, ?, ?, ?,
                   1, 2, 3, 4, 5, 6, 7, 8, 1.2, ?, ?, ?)""",
                [dia, ev, n, ok, ag, ex, ou, ret, aus, sem],
            )
        for quando, motivo, status, d in QUARENTENA:
            con.execute(
                """INSERT INTO quarentena VALUES (?::TIMESTAMPTZ, '/hook/***', 'P1', ?,
                   'detalhe', ?, 'application/json', 10, '{', 'r1', ?::DATE)""",
                [quando, motivo, status, d],
            )
        con.execute("ALTER TABLE notificacoes ADD COLUMN avisos VARCHAR[] DEFAULT []")
        for tid, avisos in AVISOS.items():
            con.execute("UPDATE notificacoes SET avisos = ? WHERE transaction_id = ?",
                        [avisos, tid])
        con.execute("ALTER TABLE quarentena ADD COLUMN transaction_id VARCHAR")
        con.execute("ALTER TABLE quarentena ADD COLUMN evento_notificacao VARCHAR")
        con.execute(
            "UPDATE quarentena SET transaction_id = 't5', evento_notificacao = "
            "'CONTRATO.REGISTRADO' WHERE recebido_em = TIMESTAMPTZ '2026-11-26 15:00:00+00'"
        )
        # The state tables, built by the pipeline's own loaders (tested against the
        # generator's truth in tests/pipelines/test_contract_state.py).
        dias = (date(2026, 11, 1), date(2026, 12, 31))
        contract_state.load_contratos(con, *dias)
        contract_state.load_montantes(con, *dias)
    finally:
        con.close()
    return path


def build_empty_warehouse(path: Path) -> Path:
    """The tables exist (Dagster ran once) but hold no rows."""
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        contract_state.ensure_tables(con)
    finally:
        con.close()
    return path
