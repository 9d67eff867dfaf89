"""The figure functions behind the notebooks, asserted against hand-derived numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import notebooks.report_kit as kit
from notebooks.report_kit import contratos, entrega, montante


@pytest.fixture()
def wh(warehouse: Path) -> kit.Warehouse:
    return kit.open_warehouse(warehouse)


def test_contract_summary_and_daily_volume_use_sao_paulo_days(wh: kit.Warehouse) -> None:
    assert contratos.resumo(wh) == {
        "eventos": 10,
        "contratos": 4,
        "dias": 3,
        "com_erro_conversao": 1,
    }
    por_dia = contratos.volume_por_dia(wh)
    got = {(r.dia, r.evento_notificacao): r.eventos for r in por_dia.itertuples()}
    # c7 happened at 01:30Z on the 26th, i.e. 22:30 on the 25th in São Paulo.
    assert got == {
        ("2026-11-25", "CONTRATO.REGISTRADO"): 2,
        ("2026-11-25", "CONTRATO.VALIDADO"): 3,
        ("2026-11-26", "CONTRATO.CANCELADO"): 1,
        ("2026-11-26", "CONTRATO.FINALIZADO"): 1,
        ("2026-11-27", "CONTRATO.REGISTRADO"): 2,
        ("2026-11-27", "CONTRATO.VALIDADO"): 1,
    }


def test_contract_filters_period_and_event_code(wh: kit.Warehouse) -> None:
    dia26 = kit.Periodo(dt.date(2026, 11, 26), dt.date(2026, 11, 26))
    assert contratos.resumo(wh, dia26)["eventos"] == 2
    assert contratos.resumo(wh, eventos=["CONTRATO.VALIDADO"])["eventos"] == 4  # c2 c6 c7 c9
    assert contratos.resumo(wh, kit.Periodo(dt.date(2026, 11, 27)), ["CONTRATO.VALIDADO"]) == {
        "eventos": 1,
        "contratos": 1,
        "dias": 1,
        "com_erro_conversao": 0,
    }


def test_contract_volume_by_ambiente(wh: kit.Warehouse) -> None:
    df = contratos.volume_por_ambiente(wh)
    tot = df.groupby("ambiente_contratacao")["eventos"].sum().to_dict()
    assert tot == {"ACL": 6, "ACR": 3, "não informado": 1}


def test_lifecycle_transitions_and_time_between_steps(wh: kit.Warehouse) -> None:
    df = contratos.transicoes(wh)
    got = {(r.de, r.para): (r.contratos, r.horas_mediana) for r in df.itertuples()}
    assert got == {
        ("REGISTRADO", "VALIDADO"): (3, 2.0),  # 2 h, 4 h, 1 h
        ("VALIDADO", "FINALIZADO"): (1, 24.0),
        ("FINALIZADO", "CANCELADO"): (1, 2.0),
    }


def test_unusual_sequences(wh: kit.Warehouse) -> None:
    df = contratos.sequencias_incomuns(wh)
    got = {r.id_contrato: (r.motivo, r.sequencia) for r in df.itertuples()}
    assert got == {
        1001: ("evento após encerramento", "REGISTRADO → VALIDADO → FINALIZADO → CANCELADO"),
        1003: ("não começa por REGISTRADO", "VALIDADO"),
    }
    # Shown in São Paulo time: 01:30Z → 22:30 the day before.
    row = df[df.id_contrato == 1003].iloc[0]
    assert str(row.ultimo_evento_sp) == "2026-11-25 22:30:00"


def test_top_contracts(wh: kit.Warehouse) -> None:
    df = contratos.top_contratos(wh, n=2)
    assert list(df.id_contrato) == [1001, 1002]
    assert list(df.eventos) == [4, 2]


def test_energy_amount_figures(wh: kit.Warehouse) -> None:
    assert montante.resumo(wh) == {
        "eventos": 5,
        "contratos": 3,
        "meses_referencia": 2,
        "montante_mwh_total": 360.75,
    }
    aj = {r.mes_referencia: r for r in montante.ajustes_por_mes(wh).itertuples()}
    assert (aj["2026-11"].eventos, aj["2026-11"].ajustes, aj["2026-11"].eventos_ajustado) == (
        3,
        1,
        1,
    )
    assert aj["2026-11"].montante_mwh_vigente == pytest.approx(170.25)  # 120.25 + 50
    assert (aj["2026-12"].ajustes, aj["2026-12"].montante_mwh_vigente) == (0, 90.0)
    sub = montante.volume_por_submercado(wh).set_index("submercado")["montante_mwh"].to_dict()
    assert sub == {"NE": 10.0, "S": 50.0, "SE/CO": 300.75}


def test_energy_origin_to_notification_time(wh: kit.Warehouse) -> None:
    t = montante.tempo_origem_notificacao(wh).set_index("dia")
    assert t.loc["2026-11-25", "recebimento_p50_s"] == pytest.approx(45.0)  # 60, 30
    assert t.loc["2026-11-25", "recebimento_p95_s"] == pytest.approx(58.5)
    assert t.loc["2026-11-26", "recebimento_p50_s"] == pytest.approx(120.0)  # 120, 90, 300
    assert t.loc["2026-11-26", "recebimento_p95_s"] == pytest.approx(282.0)
    assert t.loc["2026-11-25", "notificacao_ccee_p50_s"] == pytest.approx(15.0)  # 20, 10


def test_on_call_figures(wh: kit.Warehouse) -> None:
    p = entrega.plantao(wh)
    assert (p.notificacoes, p.notificado, p.aguardando, p.expirado, p.outros) == (19, 15, 1, 2, 1)
    assert p.taxa_entrega == pytest.approx(15 / 19)
    assert (p.retentativas_vistas, p.perda_de_dados, p.quarentena) == (5, 1, 3)
    assert p.alarme_perda
    assert p.latencia_ccee_p50_s == pytest.approx(20.0)  # 10, 10, 20, 20, 30, 100
    assert p.latencia_ccee_p95_s == pytest.approx(82.5)
    assert entrega.ultimo_dia(wh) == dt.date(2026, 11, 25) + dt.timedelta(days=1)
    only25 = entrega.plantao(wh, kit.Periodo(dt.date(2026, 11, 25), dt.date(2026, 11, 25)))
    assert (only25.perda_de_dados, only25.alarme_perda, only25.quarentena) == (0, False, 1)


def test_sla_over_time_and_data_loss_list(wh: kit.Warehouse) -> None:
    df = entrega.sla_por_dia(wh).set_index("dia")
    assert df.loc["2026-11-25", "taxa_entrega"] == pytest.approx(13 / 15)
    assert df.loc["2026-11-26", "taxa_entrega"] == pytest.approx(0.5)
    assert df.loc["2026-11-25", "latencia_ccee_p95_s"] == pytest.approx(28.0)
    assert df.loc["2026-11-26", "expirado"] == 1
    assert list(entrega.perda_de_dados(wh).transaction_id) == ["t4"]
    quar = entrega.quarentena_por_motivo(wh)
    q = {r.motivo: (r.status_http, r.pedidos) for r in quar.itertuples()}
    assert q == {"json_invalido": (400, 2), "corpo_grande_demais": (413, 1)}
    rej = entrega.rejeicoes_por_dia(wh)
    assert rej.groupby("status_http")["pedidos"].sum().to_dict() == {"400": 2, "413": 1}


def test_expired_notifications_say_why(wh: kit.Warehouse) -> None:
    df = entrega.expiradas(wh).set_index("transaction_id")
    assert df["diagnostico"].to_dict() == {
        "t5": "recusada", "t6": "nunca_chegou", "c8": "no_lago"}
    assert df.loc["t5", "motivos"] == "json_invalido"
    assert df.loc["t5", "tentativas_recusadas"] == 1
    assert str(df.loc["t5", "ultima_recusa_sp"]).startswith("2026-11-26 12:00")  # 15:00Z
    assert df.loc["t6", "endereco_destino"] == "https://example.invalid/hook/***"
    assert df.loc["t6", "tentativas_recusadas"] == 0
    only26 = entrega.expiradas(wh, kit.Periodo(dt.date(2026, 11, 26), dt.date(2026, 11, 26)))
    assert sorted(only26.transaction_id) == ["t5", "t6"]


def test_deliveries_with_avisos_by_code(wh: kit.Warehouse) -> None:
    df = entrega.entregas_com_avisos(wh)
    assert {r.aviso: r.notificacoes for r in df.itertuples()} == {
        "codigo_fora_do_padrao": 2, "transaction_id_nao_uuid": 1}
    assert df.iloc[0]["aviso"] == "codigo_fora_do_padrao"  # the most frequent first
    assert entrega.entregas_com_avisos(
        wh, kit.Periodo(dt.date(2026, 11, 26), dt.date(2026, 11, 27))).empty


def test_missing_and_empty_warehouse_are_no_data_not_errors(
    tmp_path: Path, empty_warehouse: Path
) -> None:
    missing = kit.open_warehouse(tmp_path / "nope.duckdb")
    assert missing.error and not missing.tables
    p = entrega.plantao(missing)
    assert (p.notificacoes, p.taxa_entrega, p.ultimo_dia) == (0, None, None)
    assert entrega.sla_por_dia(missing).empty
    empty = kit.open_warehouse(empty_warehouse)
    assert empty.has("eventos_contrato") and not empty.has_rows("eventos_contrato")
    assert entrega.plantao(empty).taxa_entrega is None
    assert contratos.resumo(empty)["eventos"] == 0
    # an older warehouse (no avisos, no quarantine transaction_id) reads as "none", not errors
    assert entrega.entregas_com_avisos(empty).empty
    assert entrega.expiradas(empty).empty


def test_reader_never_blocks_the_writer(warehouse: Path, tmp_path: Path) -> None:
    """Between queries no connection is held, so Dagster can open the file for writing."""
    import shutil

    import duckdb

    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    wh = kit.open_warehouse(copy)
    assert entrega.plantao(wh).notificacoes == 19
    con = duckdb.connect(str(copy))  # read-write: would fail if a reader kept the file open
    con.execute("UPDATE sla_entrega SET notificado = notificacoes")
    con.close()
    assert entrega.plantao(wh).taxa_entrega == 1.0


def test_warehouse_path_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CCEE_WEBHOOK_DATA_DIR", raising=False)
    assert kit.resolve_warehouse_path() == Path("data/warehouse.duckdb")
    monkeypatch.setenv("CCEE_WEBHOOK_DATA_DIR", "/srv/ccee")
    assert kit.resolve_warehouse_path() == Path("/srv/ccee/warehouse.duckdb")
    assert kit.resolve_warehouse_path("/x/y.duckdb") == Path("/x/y.duckdb")
