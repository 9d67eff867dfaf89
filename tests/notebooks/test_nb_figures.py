"""The figure functions behind the notebooks, asserted against hand-derived numbers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
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
    dias = kit.Periodo(dt.date(2026, 11, 25), dt.date(2026, 11, 30))  # daily buckets
    df = contratos.volume_no_tempo(wh, dias).filter(pl.col("eventos") > 0)
    got = {(r["rotulo"], r["grupo"]): r["eventos"] for r in df.iter_rows(named=True)}
    # c7 happened at 01:30Z on the 26th, i.e. 22:30 on the 25th in São Paulo.
    assert got == {
        ("25/11/2026", "CONTRATO.REGISTRADO"): 2,
        ("25/11/2026", "CONTRATO.VALIDADO"): 3,
        ("26/11/2026", "CONTRATO.CANCELADO"): 1,
        ("26/11/2026", "CONTRATO.FINALIZADO"): 1,
        ("27/11/2026", "CONTRATO.REGISTRADO"): 2,
        ("27/11/2026", "CONTRATO.VALIDADO"): 1,
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
    tot = dict(df.group_by("ambiente_contratacao").agg(pl.col("eventos").sum()).iter_rows())
    assert tot == {"ACL": 6, "ACR": 3, "não informado": 1}


def test_lifecycle_transitions_and_time_between_steps(wh: kit.Warehouse) -> None:
    df = contratos.transicoes(wh)
    got = {
        (r["de"], r["para"]): (r["contratos"], r["horas_mediana"]) for r in df.iter_rows(named=True)
    }
    assert got == {
        ("REGISTRADO", "VALIDADO"): (3, 2.0),  # 2 h, 4 h, 1 h
        ("VALIDADO", "FINALIZADO"): (1, 24.0),
        ("FINALIZADO", "CANCELADO"): (1, 2.0),
    }


def test_contract_state_and_lifecycle_anomalies(wh: kit.Warehouse) -> None:
    assert contratos.situacao(wh) == {"contratos": 4, "encerrados": 0, "com_anomalia": 1}
    estados = dict(contratos.por_estado(wh).select("estado", "contratos").iter_rows())
    assert estados == {"VALIDADO": 3, "CANCELADO": 1}
    df = contratos.anomalias(wh)
    assert df.select("id_contrato", "anomalia").rows() == [
        (1001, "transição não prevista: VALIDADO → FINALIZADO")
    ]
    assert df["sequencia"].to_list() == ["REGISTRADO → VALIDADO → FINALIZADO → CANCELADO"]
    # Only the 26th: 1001 and 1003 (22:30 on the 25th in São Paulo is outside) are active.
    dia26 = kit.Periodo(dt.date(2026, 11, 26), dt.date(2026, 11, 26))
    assert contratos.situacao(wh, dia26) == {"contratos": 1, "encerrados": 0, "com_anomalia": 1}


def test_top_contracts(wh: kit.Warehouse) -> None:
    df = contratos.top_contratos(wh, n=2)
    assert df["id_contrato"].to_list() == [1001, 1002]
    assert df["eventos"].to_list() == [4, 2]


def test_energy_amounts_in_force_not_the_sum_of_declarations(wh: kit.Warehouse) -> None:
    r = montante.resumo(wh)
    assert r == {
        "declaracoes": 6,
        "contratos": 3,
        "chaves": 4,
        "meses_referencia": 2,
        "montante_vigente_mwh": pytest.approx(260.25),
    }
    por_mes = {
        (m, s): (v, n, sub)
        for m, s, v, n, sub in montante.vigente_por_mes(wh)
        .select(
            "mes_referencia", "submercado", "montante_mwh_vigente", "declaracoes", "substituidas"
        )
        .iter_rows()
    }
    assert por_mes == {
        ("2026-11", "S"): (50.0, 2, 1),  # the late, older 999 MWh does not count
        ("2026-11", "SE/CO"): (120.25, 2, 1),
        ("2026-12", "NE"): (10.0, 1, 0),
        ("2026-12", "SE/CO"): (80.0, 1, 0),
    }


def test_energy_origin_to_notification_time(wh: kit.Warehouse) -> None:
    t = {
        r["dia"].isoformat(): r for r in montante.tempo_origem_notificacao(wh).iter_rows(named=True)
    }
    assert t["2026-11-25"]["recebimento_p50_s"] == pytest.approx(60.0)  # 30, 60, 86400
    assert t["2026-11-26"]["recebimento_p50_s"] == pytest.approx(120.0)  # 120, 90, 300
    assert t["2026-11-26"]["recebimento_p95_s"] == pytest.approx(282.0)
    assert t["2026-11-25"]["notificacao_ccee_p50_s"] == pytest.approx(15.0)  # 20, 10


def test_time_bucket_follows_the_period(wh: kit.Warehouse) -> None:
    tres = kit.Periodo(dt.date(2026, 11, 25), dt.date(2026, 11, 27))
    assert kit.balde(tres).unidade == "hour"
    assert kit.balde(kit.Periodo(dt.date(2026, 11, 1), dt.date(2026, 11, 30))).unidade == "day"
    assert kit.balde(kit.Periodo(dt.date(2026, 1, 1), dt.date(2026, 11, 30))).unidade == "week"
    df = contratos.volume_no_tempo(wh, tres)
    # every hour of the three days is present for every code, idle hours as zero
    assert df["inicio"].n_unique() == 72
    assert df["eventos"].sum() == 10
    dias = contratos.volume_no_tempo(wh, kit.Periodo(dt.date(2026, 11, 20), dt.date(2026, 11, 27)))
    por_dia = dias.group_by("rotulo").agg(pl.col("eventos").sum())
    assert dict(por_dia.iter_rows())["25/11/2026"] == 5  # c7 (01:30Z on the 26th) is the 25th in SP
    assert dias["rotulo"].n_unique() == 8


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
    df = {r["dia"].isoformat(): r for r in entrega.sla_por_dia(wh).iter_rows(named=True)}
    assert df["2026-11-25"]["taxa_entrega"] == pytest.approx(13 / 15)
    assert df["2026-11-26"]["taxa_entrega"] == pytest.approx(0.5)
    assert df["2026-11-25"]["latencia_ccee_p95_s"] == pytest.approx(28.0)
    assert df["2026-11-26"]["expirado"] == 1
    assert entrega.perda_de_dados(wh)["transaction_id"].to_list() == ["t4"]
    quar = entrega.quarentena_por_motivo(wh)
    q = {r["motivo"]: (r["status_http"], r["pedidos"]) for r in quar.iter_rows(named=True)}
    assert q == {"json_invalido": (400, 2), "corpo_grande_demais": (413, 1)}
    periodo = kit.Periodo(dt.date(2026, 11, 25), dt.date(2026, 11, 26))
    rej = entrega.rejeicoes_no_tempo(wh, periodo)
    tot = dict(rej.group_by("grupo").agg(pl.col("eventos").sum()).iter_rows())
    assert tot == {"400": 2, "413": 1}


def test_expired_notifications_say_why(wh: kit.Warehouse) -> None:
    rows = {r["transaction_id"]: r for r in entrega.expiradas(wh).iter_rows(named=True)}
    assert {t: r["diagnostico"] for t, r in rows.items()} == {
        "t5": "recusada", "t6": "nunca_chegou", "c8": "no_lago"}
    assert rows["t5"]["motivos"] == "json_invalido"
    assert rows["t5"]["tentativas_recusadas"] == 1
    assert str(rows["t5"]["ultima_recusa_sp"]).startswith("2026-11-26 12:00")  # 15:00Z
    assert rows["t6"]["endereco_destino"] == "https://example.invalid/hook/***"
    assert rows["t6"]["tentativas_recusadas"] == 0
    only26 = entrega.expiradas(wh, kit.Periodo(dt.date(2026, 11, 26), dt.date(2026, 11, 26)))
    assert sorted(only26["transaction_id"]) == ["t5", "t6"]


def test_deliveries_with_avisos_by_code(wh: kit.Warehouse) -> None:
    df = entrega.entregas_com_avisos(wh)
    assert dict(zip(df["aviso"], df["notificacoes"], strict=True)) == {
        "codigo_fora_do_padrao": 2, "transaction_id_nao_uuid": 1}
    assert df["aviso"][0] == "codigo_fora_do_padrao"  # the most frequent first
    assert entrega.entregas_com_avisos(
        wh, kit.Periodo(dt.date(2026, 11, 26), dt.date(2026, 11, 27))).is_empty()


def test_missing_and_empty_warehouse_are_no_data_not_errors(
    tmp_path: Path, empty_warehouse: Path
) -> None:
    missing = kit.open_warehouse(tmp_path / "nope.duckdb")
    assert missing.error and not missing.tables
    p = entrega.plantao(missing)
    assert (p.notificacoes, p.taxa_entrega, p.ultimo_dia) == (0, None, None)
    assert entrega.sla_por_dia(missing).is_empty()
    empty = kit.open_warehouse(empty_warehouse)
    assert empty.has("eventos_contrato") and not empty.has_rows("eventos_contrato")
    assert entrega.plantao(empty).taxa_entrega is None
    assert contratos.resumo(empty)["eventos"] == 0
    # an older warehouse (no avisos, no quarantine transaction_id) reads as "none", not errors
    assert entrega.entregas_com_avisos(empty).is_empty()
    assert entrega.expiradas(empty).is_empty()
    assert montante.resumo(empty)["montante_vigente_mwh"] == 0.0


def test_pt_br_formatting() -> None:
    from notebooks.report_kit import ui

    assert ui.fmt_int(1234567) == "1.234.567"
    assert ui.fmt_num(1234.56) == "1.234,6"
    assert ui.fmt_pct(0.9763) == "97,6 %"
    assert (ui.fmt_seg(45), ui.fmt_seg(600), ui.fmt_seg(9000)) == ("45 s", "10,0 min", "2,5 h")
    df = pl.DataFrame({"id_contrato": [7947305], "montante_mwh": [1234.5], "taxa_entrega": [0.5]})
    html = ui.tabela(df)
    assert ">7947305<" in html and ">1.234,5<" in html and ">50,0 %<" in html
    assert "Montante (MWh)" in html and "id_contrato" not in html
    # Spacing on every cell itself: a live marimo dashboard applies no table CSS of ours.
    cells = re.findall(r"<t[hd]( style=\"[^\"]*\")?>", html)
    assert len(cells) == 6 and all("padding:" in c for c in cells)


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


def test_headlines_equal_independent_queries(wh: kit.Warehouse, warehouse: Path) -> None:
    """Each page's headline against a query written here, from the raw typed tables."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # Amount in force, recomputed in Python from every declaration: latest origin wins.
        rows = con.execute(
            """SELECT perfil, id_contrato, mes_referencia, submercado, data_origem_evento,
                      recebido_em, montante_mwh FROM eventos_montante_energia"""
        ).fetchall()
        latest: dict[tuple, tuple] = {}
        for p, c, m, s, origem, recebido, mwh in rows:
            key = (p, c, m, s)
            if key not in latest or (origem, recebido) > latest[key][:2]:
                latest[key] = (origem, recebido, mwh)
        em_vigor = float(sum(v[2] for v in latest.values()))
        contratos_eventos = con.execute(
            """SELECT count(DISTINCT (perfil, id_contrato)) FROM eventos_contrato
               WHERE id_contrato IS NOT NULL"""
        ).fetchone()
        quarentena = con.execute("SELECT count(*) FROM quarentena").fetchone()
        sla = con.execute(
            "SELECT sum(notificacoes), sum(notificado), sum(expirado) FROM sla_entrega"
        ).fetchone()
        notificacoes = con.execute("SELECT count(*) FROM notificacoes").fetchone()
    finally:
        con.close()
    assert montante.resumo(wh)["montante_vigente_mwh"] == pytest.approx(em_vigor)
    assert montante.resumo(wh)["chaves"] == len(latest)
    assert contratos_eventos is not None and quarentena is not None and sla is not None
    assert contratos.situacao(wh)["contratos"] == contratos_eventos[0]
    p = entrega.plantao(wh)
    assert (p.notificacoes, p.notificado, p.expirado) == tuple(int(x) for x in sla)
    assert p.quarentena == quarentena[0]
    from notebooks.report_kit import volumes

    assert notificacoes is not None
    assert volumes.resumo(wh)["notificacoes"] == notificacoes[0]
