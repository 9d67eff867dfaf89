"""Replayed quarantine entries reach the warehouse like any delivery (sensor + assets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from support.dagster_runs import LAKE_ASSETS, Runner, query
from support.lake_builder import write_quarentena

from ingest.quarantine import replay
from pipelines.defs.lake.sensors import lake_sensor
from pipelines.resources import WarehouseResource

WHEN = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
BODY = (b'{"eventoNotificacao":"CONTRATO.REGISTRADO",'
        b'"metadados":[{"nome":"ID_CONTRATO","valor":1}],"transactionId":"old-1"}')


def test_replayed_deliveries_are_loaded_by_the_sensor_and_assets(
    data_dir: Path, run: Runner
) -> None:
    write_quarentena(data_dir, [{
        "recebido_em": WHEN, "destino": "/ccee/***", "perfil": "AGENTE1",
        "motivo": "schema_invalido", "detalhe": "strict rule", "status_http": 422,
        "content_type": "application/json", "tamanho": len(BODY), "corpo": BODY,
        "instancia": "rx-1"}], legacy=True)
    resources = {"warehouse": WarehouseResource(data_dir=str(data_dir))}

    def requested(cursor: str | None) -> tuple[list[str], str | None]:
        with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
            out = lake_sensor(ctx)
            keys = [r.partition_key for r in (list(out) if out else [])]  # type: ignore[arg-type]
            return keys, ctx.cursor

    keys, cursor = requested(None)
    assert keys == ["2026-11-20"]
    assert run("2026-11-20", LAKE_ASSETS).success
    assert query(data_dir, "SELECT count(*) FROM notificacoes") == [(0,)]

    assert replay(data_dir).reprocessadas == 1
    assert requested(cursor)[0] == ["2026-11-20"]  # the new file is seen like any other
    assert run("2026-11-20", LAKE_ASSETS).success
    assert query(data_dir, "SELECT transaction_id, entregas, avisos FROM notificacoes") == [
        ("old-1", 1, ["transaction_id_nao_uuid", "valor_nao_texto"])]
    assert query(data_dir, "SELECT nome, valor FROM metadados") == [("ID_CONTRATO", "1")]
    # the quarantine row stays (it is what happened), linked by the id read from its body
    assert query(data_dir, "SELECT motivo, transaction_id FROM quarentena") == [
        ("schema_invalido", None)]
