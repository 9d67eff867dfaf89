"""Lake → notificacoes / metadados / eventos_<entidade> / quarentena, with real materializations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from support.dagster_runs import LAKE_ASSETS, Runner, checks_of, query
from support.lake_builder import Entrega, write_notificacoes, write_quarentena

D = "2026-11-20"
DAY = date(2026, 11, 20)


def ts(day: int, h: int, m: int) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=UTC)


CONTRATO_T1 = [("ID_CONTRATO", "42"), ("DATA_ORIGEM_EVENTO", "2026-11-20T13:55:00.000Z"),
               ("MES_REFERENCIA", "null"), ("AMBIENTE_CONTRATACAO", "ACL")]
MONTANTE_T2 = [("ID_CONTRATO", "7"), ("MES_REFERENCIA", "2026-10"), ("SUBMERCADO", "SE/CO"),
               ("MONTANTE_MWH", "1520,250"), ("AMBIENTE_CONTRATACAO", "ACR"),
               ("Observação Técnica", "revisado")]
GARANTIA_T3 = [("VALOR", "10"), ("valor", "11")]


def known_lake(data_dir: Path) -> None:
    """t1 thrice (two files), t2 with a bad decimal and an unknown name, t3 of an unknown
    entity with colliding names, t4 straddling midnight into D+1, t5 first seen on D-1."""
    write_notificacoes(data_dir, [
        Entrega("t1", "CONTRATO.REGISTRADO", CONTRATO_T1, ts(20, 14, 0)),
        Entrega("t1", "CONTRATO.REGISTRADO", CONTRATO_T1, ts(20, 14, 5)),
        Entrega("t2", "MONTANTE_ENERGIA.AJUSTADO", MONTANTE_T2, ts(20, 15, 0)),
    ])
    write_notificacoes(data_dir, [
        Entrega("t1", "CONTRATO.REGISTRADO", CONTRATO_T1, ts(20, 14, 10), instancia="rx-2"),
        Entrega("t3", "GARANTIA_FINANCEIRA.APORTADA", GARANTIA_T3, ts(20, 16, 0), perfil=None),
        # 23:58 in São Paulo on the 20th, retried at 00:03 on the 21st
        Entrega("t4", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "43")], ts(21, 2, 58)),
        Entrega("t4", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "43")], ts(21, 3, 3)),
        # 23:59 in São Paulo on the 19th, retried at 00:04 on the 20th
        Entrega("t5", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "44")], ts(20, 2, 59)),
        Entrega("t5", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "44")], ts(20, 3, 4)),
    ])


LIMITE_ALTO = {"ops": {"eventos_entidades": {"config": {"limite_taxa_erros_conversao": 0.2}}}}

EXPECTED_NOTIFICACOES = [
    ("t1", "AGENTE1", "CONTRATO.REGISTRADO", "CONTRATO", "REGISTRADO", ts(20, 14, 0),
     ts(20, 14, 10), 3, DAY, []),
    ("t2", "AGENTE1", "MONTANTE_ENERGIA.AJUSTADO", "MONTANTE_ENERGIA", "AJUSTADO",
     ts(20, 15, 0), ts(20, 15, 0), 1, DAY, []),
    ("t3", None, "GARANTIA_FINANCEIRA.APORTADA", "GARANTIA_FINANCEIRA", "APORTADA",
     ts(20, 16, 0), ts(20, 16, 0), 1, DAY, []),
    ("t4", "AGENTE1", "CONTRATO.REGISTRADO", "CONTRATO", "REGISTRADO", ts(21, 2, 58),
     ts(21, 3, 3), 2, DAY, []),
]


def dump(data_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    tables = [r[0] for r in query(data_dir, "SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main' ORDER BY 1")]
    return {t: query(data_dir, f'SELECT * FROM "{t}" ORDER BY ALL') for t in tables}


def test_exact_tables_for_known_inputs(data_dir: Path, run: Runner) -> None:
    known_lake(data_dir)
    result = run(D, LAKE_ASSETS, run_config=LIMITE_ALTO)
    assert result.success

    assert query(data_dir, "SELECT * FROM notificacoes ORDER BY transaction_id") == (
        EXPECTED_NOTIFICACOES
    )
    meta = query(data_dir, "SELECT transaction_id, posicao, nome, valor, dt FROM metadados "
                           "ORDER BY transaction_id, posicao")
    expected_meta = [("t1", i, n, None if v == "null" else v, DAY)
                     for i, (n, v) in enumerate(CONTRATO_T1)]
    expected_meta += [("t2", i, n, v, DAY) for i, (n, v) in enumerate(MONTANTE_T2)]
    expected_meta += [("t3", i, n, v, DAY) for i, (n, v) in enumerate(GARANTIA_T3)]
    expected_meta += [("t4", 0, "ID_CONTRATO", "43", DAY)]
    assert meta == expected_meta

    cols = query(data_dir, "SELECT table_name, column_name, data_type FROM "
                           "information_schema.columns WHERE table_name LIKE 'eventos_%' "
                           "ORDER BY table_name, ordinal_position")
    fixed = ["transaction_id", "perfil", "evento_notificacao", "evento", "recebido_em", "dt"]
    by_table: dict[str, list[tuple[str, str]]] = {}
    for t, c, ty in cols:
        by_table.setdefault(t, []).append((c, ty))
    assert set(by_table) == {"eventos_contrato", "eventos_montante_energia",
                             "eventos_garantia_financeira"}
    assert [c for c, _ in by_table["eventos_contrato"]] == [
        *fixed, "id_contrato", "data_origem_evento", "mes_referencia", "ambiente_contratacao",
        "erros_conversao"]
    assert dict(by_table["eventos_montante_energia"]) | {} == {
        **dict(by_table["eventos_montante_energia"]),
        "id_contrato": "BIGINT", "mes_referencia": "DATE", "submercado": "VARCHAR",
        "montante_mwh": "DECIMAL(18,6)", "observacao_tecnica": "VARCHAR"}
    assert dict(by_table["eventos_contrato"])["data_origem_evento"] == "TIMESTAMP WITH TIME ZONE"
    assert [c for c, _ in by_table["eventos_garantia_financeira"]] == [
        *fixed, "valor", "valor_2", "erros_conversao"]

    assert query(data_dir, "SELECT * EXCLUDE (perfil, evento_notificacao, evento, dt) "
                           "FROM eventos_contrato ORDER BY transaction_id") == [
        ("t1", ts(20, 14, 0), 42, ts(20, 13, 55), None, "ACL", None),
        ("t4", ts(21, 2, 58), 43, None, None, None, None),
    ]
    assert query(data_dir, "SELECT transaction_id, id_contrato, mes_referencia, submercado, "
                           "montante_mwh, ambiente_contratacao, observacao_tecnica, "
                           "erros_conversao FROM eventos_montante_energia") == [
        ("t2", 7, date(2026, 10, 1), "SE/CO", None, "ACR", "revisado",
         '{"montante_mwh":"1520,250"}'),
    ]
    assert query(data_dir, "SELECT transaction_id, perfil, valor, valor_2, erros_conversao "
                           "FROM eventos_garantia_financeira") == [("t3", None, "10", "11", None)]

    mat = {e.asset_key.to_user_string(): e.materialization.metadata
           for e in result.get_asset_materialization_events()}
    assert mat["eventos_entidades"]["erros_conversao"].value == 1
    assert mat["eventos_entidades"]["valores_tipados"].value == 6
    assert checks_of(result) == {
        "notificacoes:uma_linha_por_transaction_id": True,
        "notificacoes:contagem_confere_com_lago": True,
        "metadados:uma_linha_por_posicao": True,
        "eventos_entidades:taxa_erros_conversao": True,
        "eventos_entidades:uma_linha_por_transaction_id": True,
    }


def test_rematerialization_is_idempotent_and_picks_up_new_files(data_dir: Path,
                                                                run: Runner) -> None:
    known_lake(data_dir)
    assert run(D, LAKE_ASSETS, run_config=LIMITE_ALTO).success
    first = dump(data_dir)
    assert run(D, LAKE_ASSETS, run_config=LIMITE_ALTO).success
    assert dump(data_dir) == first

    # a late retry of t2 and a new notification with a new metadata name
    write_notificacoes(data_dir, [
        Entrega("t2", "MONTANTE_ENERGIA.AJUSTADO", MONTANTE_T2, ts(20, 15, 5)),
        Entrega("t6", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "45"), ("NOVO_CAMPO", "x")],
                ts(20, 17, 0)),
    ])
    assert run(D, LAKE_ASSETS, run_config=LIMITE_ALTO).success
    assert query(data_dir, "SELECT transaction_id, entregas, ultimo_recebimento FROM "
                           "notificacoes WHERE transaction_id IN ('t2', 't6') ORDER BY 1") == [
        ("t2", 2, ts(20, 15, 5)), ("t6", 1, ts(20, 17, 0))]
    assert query(data_dir, "SELECT count(*), count(DISTINCT transaction_id) FROM notificacoes"
                 ) == [(5, 5)]
    # schema evolution: the new name became a column appended after the existing ones
    assert query(data_dir, "SELECT transaction_id, id_contrato, novo_campo FROM eventos_contrato "
                           "ORDER BY 1") == [("t1", 42, None), ("t4", 43, None), ("t6", 45, "x")]
    assert query(data_dir, "SELECT column_name FROM information_schema.columns WHERE "
                           "table_name = 'eventos_contrato' ORDER BY ordinal_position DESC "
                           "LIMIT 1") == [("novo_campo",)]


def test_day_before_is_its_own_partition(data_dir: Path, run: Runner) -> None:
    known_lake(data_dir)
    assert run("2026-11-19", LAKE_ASSETS).success
    assert query(data_dir, "SELECT transaction_id, entregas, dt FROM notificacoes") == [
        ("t5", 2, date(2026, 11, 19))]
    assert run("2026-11-21", LAKE_ASSETS).success
    assert query(data_dir, "SELECT count(*) FROM notificacoes WHERE dt = '2026-11-21'") == [(0,)]


def test_cast_failure_rate_check_fails_over_the_limit(data_dir: Path, run: Runner) -> None:
    known_lake(data_dir)
    result = run(D, LAKE_ASSETS)  # default limit 1 %; here 1 of 6 typed values failed
    assert result.success  # a failing check never fails the load
    assert checks_of(result)["eventos_entidades:taxa_erros_conversao"] is False
    assert query(data_dir, "SELECT count(*) FROM eventos_montante_energia") == [(1,)]


def test_uniqueness_checks_fail_when_a_transaction_spans_beyond_the_window(
    data_dir: Path, run: Runner
) -> None:
    write_notificacoes(data_dir, [Entrega("tx", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "1")],
                                          ts(20, 12, 0))])
    # re-sent by hand two days later: outside the 24 h retry window the loader assumes
    write_notificacoes(data_dir, [Entrega("tx", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "1")],
                                          ts(22, 12, 0))])
    assert all(checks_of(run(D, LAKE_ASSETS)).values())
    result = run("2026-11-22", LAKE_ASSETS)
    checks = checks_of(result)
    assert checks["notificacoes:uma_linha_por_transaction_id"] is False
    assert checks["metadados:uma_linha_por_posicao"] is False
    assert checks["eventos_entidades:uma_linha_por_transaction_id"] is False
    assert checks["notificacoes:contagem_confere_com_lago"] is True


def test_count_check_fails_when_a_lake_folder_disagrees_with_receipt_times(
    data_dir: Path, run: Runner
) -> None:
    # t7 sits in the 20th's folder, but its earlier receipt was filed under the 21st
    write_notificacoes(data_dir, [Entrega("t7", "CONTRATO.REGISTRADO", [], ts(20, 12, 0))],
                       day=date(2026, 11, 21))
    write_notificacoes(data_dir, [Entrega("t7", "CONTRATO.REGISTRADO", [], ts(20, 12, 5)),
                                  Entrega("t8", "CONTRATO.REGISTRADO", [], ts(20, 13, 0))])
    result = run(D, LAKE_ASSETS)
    assert checks_of(result)["notificacoes:contagem_confere_com_lago"] is False
    dias = next(e.materialization.metadata for e in result.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "notificacoes")
    assert dias["linhas"].value == 1  # only t8 belongs to the 20th


@pytest.mark.parametrize("hostile", ['x"; DROP TABLE notificacoes; --', "ÁÉÍ ÕÇ", "123"])
def test_hostile_metadata_names_stay_data(data_dir: Path, run: Runner, hostile: str) -> None:
    write_notificacoes(data_dir, [Entrega("th", "CONTRATO.REGISTRADO", [(hostile, "v")],
                                          ts(20, 12, 0))])
    assert run(D, LAKE_ASSETS).success
    cols = [r[0] for r in query(data_dir, "SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = 'eventos_contrato'")]
    extra = [c for c in cols if c not in {"transaction_id", "perfil", "evento_notificacao",
                                          "evento", "recebido_em", "dt", "erros_conversao",
                                          "id_contrato", "data_origem_evento", "mes_referencia",
                                          "ambiente_contratacao"}]
    assert len(extra) == 1 and extra[0].isascii()
    assert all(ch.isalnum() or ch == "_" for ch in extra[0])
    assert query(data_dir, f'SELECT "{extra[0]}" FROM eventos_contrato') == [("v",)]
    assert query(data_dir, "SELECT count(*) FROM notificacoes") == [(1,)]


def test_quarentena_rows(data_dir: Path, run: Runner) -> None:
    write_quarentena(data_dir, [{
        "recebido_em": ts(20, 12, 0), "destino": "/webhook/***", "perfil": "AGENTE1",
        "motivo": "json_invalido", "detalhe": "not JSON", "status_http": 400,
        "content_type": "application/json", "tamanho": 4, "corpo": b"\xff{ab",
        "instancia": "rx-1"}])
    assert run(D, LAKE_ASSETS).success
    assert run(D, LAKE_ASSETS).success
    assert query(data_dir, "SELECT * EXCLUDE (id) FROM quarentena") == [
        (ts(20, 12, 0), "/webhook/***", "AGENTE1", "json_invalido", "not JSON", 400,
         "application/json", 4, "\ufffd{ab", "rx-1", DAY, None, None)]


def test_typed_values(data_dir: Path, run: Runner) -> None:
    write_notificacoes(data_dir, [Entrega("tv", "MONTANTE_ENERGIA.REGISTRADO", [
        ("MONTANTE_MWH", "1520.250"), ("ID_CONTRATO", "12.5")], ts(20, 12, 0))])
    assert run(D, LAKE_ASSETS, run_config={
        "ops": {"eventos_entidades": {"config": {"limite_taxa_erros_conversao": 0.5}}}}).success
    assert query(data_dir, "SELECT montante_mwh, id_contrato, erros_conversao "
                           "FROM eventos_montante_energia") == [
        (Decimal("1520.250000"), None, '{"id_contrato":"12.5"}')]


def test_avisos_are_the_union_over_deliveries_and_old_files_count_as_none(
    data_dir: Path, run: Runner
) -> None:
    """A transaction's deliveries may flag different things (and old lake files have no
    `avisos` column at all): `notificacoes.avisos` is the sorted union, [] for none."""
    write_notificacoes(data_dir, [
        Entrega("ta", "contrato.x", [], ts(20, 12, 0), avisos=["codigo_fora_do_padrao"]),
        Entrega("tb", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "1")], ts(20, 12, 0)),
    ])
    write_notificacoes(data_dir, [
        # a retry after midnight that also lost its metadados
        Entrega("ta", "contrato.x", [], ts(21, 3, 10),
                avisos=["codigo_fora_do_padrao", "metadados_ausentes"]),
    ])
    # written by a receiver from before the column: read as no avisos
    write_notificacoes(data_dir, [
        Entrega("ta", "contrato.x", [], ts(20, 12, 5)),
        Entrega("tc", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "2")], ts(20, 13, 0)),
    ], legacy=True)
    write_notificacoes(data_dir, [
        Entrega("td", "CONTRATO.REGISTRADO", [("ID_CONTRATO", "3")], ts(20, 14, 0)),
    ], day=date(2026, 11, 21), legacy=True)  # a neighbour folder of old files only
    result = run(D, LAKE_ASSETS)
    assert result.success
    assert query(data_dir, "SELECT transaction_id, entregas, avisos FROM notificacoes "
                           "ORDER BY 1") == [
        ("ta", 3, ["codigo_fora_do_padrao", "metadados_ausentes"]),
        ("tb", 1, []),
        ("tc", 1, []),
    ]


def test_quarentena_carries_the_ids_and_reads_old_files(data_dir: Path, run: Runner) -> None:
    base = {"destino": "/webhook/***", "perfil": "AGENTE1", "detalhe": "d", "status_http": 422,
            "content_type": "application/json", "instancia": "rx-1"}
    body = b'{"transactionId": "tx-9", "eventoNotificacao": "A.B"'
    write_quarentena(data_dir, [{**base, "recebido_em": ts(20, 12, 0), "motivo": "json_invalido",
                                 "tamanho": len(body), "corpo": body, "transaction_id": "tx-9",
                                 "evento_notificacao": "A.B"}])
    write_quarentena(data_dir, [{**base, "recebido_em": ts(20, 13, 0), "motivo": "json_invalido",
                                 "tamanho": 2, "corpo": b"{x"}], legacy=True)
    assert run(D, LAKE_ASSETS).success
    rows = query(data_dir, "SELECT recebido_em, transaction_id, evento_notificacao, id "
                           "FROM quarentena ORDER BY recebido_em")
    assert [r[:3] for r in rows] == [(ts(20, 12, 0), "tx-9", "A.B"), (ts(20, 13, 0), None, None)]
    from ingest.quarantine import entries

    # the warehouse's id is the one `ccee-webhook quarantine show` takes
    assert {r[0]: r[3] for r in rows} == {e.recebido_em: e.id for e in entries(data_dir)}
