"""The quarantine as a dead-letter queue: ids read from refused bodies, list/show/replay.

The lakes here are written the way an older receiver (strict validation, no id columns)
wrote its quarantine, so that replay has entries that today's rule accepts.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from support.callbacks import body_for
from support.lake import lake_rows
from support.paths import CLI
from support.waiting import wait_until

from ccee_webhook.cli import main
from ingest.lake_schema import (
    NOTIFICACOES,
    QUARENTENA,
    QUARENTENA_SCHEMA,
    partition_dir,
)
from ingest.quarantine import MARKERS, entries, identify, replay
from pipelines.core.compaction import compact_day
from settings import lake_root

DAY = date(2026, 11, 20)
WHEN = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 12:00 in São Paulo


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"transactionId": "a-1", "eventoNotificacao": "X.Y", "metadados": 3}', ("a-1", "X.Y")),
        # truncated: no JSON parser can read it, the scan still finds both ids
        (
            b'{"eventoNotificacao": "X.Y", "transactionId": "a-2", "metadados": [{"no',
            ("a-2", "X.Y"),
        ),
        # a truncated id value is not an id
        (b'{"eventoNotificacao": "X.Y", "transactionId": "a-3', (None, "X.Y")),
        (b'{"transactionId" : "a\\"4\\u00e9"', ('a"4\u00e9', None)),
        (b'{"transactionId": 5, "eventoNotificacao": ""}', (None, None)),
        (b"\xff\xfe garbage", (None, None)),
        (b"[1, 2]", (None, None)),
        (b'{"a": {"transactionId": "nested"}}', (None, None)),
    ],
)
def test_identify_reads_ids_from_refused_bodies(body: bytes, expected: tuple) -> None:  # type: ignore[type-arg]
    assert identify(body) == expected


def quarantine_row(body: bytes, motivo: str, minute: int, tamanho: int | None = None) -> dict:  # type: ignore[type-arg]
    return {
        "recebido_em": WHEN.replace(minute=minute),
        "destino": "/ccee/***/contratos",
        "perfil": "PERFIL_A",
        "motivo": motivo,
        "detalhe": "refused by the strict rule of issue 2",
        "status_http": 422 if motivo == "schema_invalido" else 400,
        "content_type": "application/json",
        "tamanho": len(body) if tamanho is None else tamanho,
        "corpo": body,
        "instancia": "old-rx-1",
    }


NON_UUID = (
    b'{"eventoNotificacao":"CONTRATO.REGISTRADO",'
    b'"metadados":[{"nome":"ID_CONTRATO","valor":"7"}],"transactionId":"legacy-1"}'
)
NO_METADADOS = b'{"eventoNotificacao":"contrato.cancelado","transactionId":"legacy-2"}'
TRUNCATED_JSON = b'{"eventoNotificacao":"CONTRATO.REGISTRADO","transactionId":"legacy-3","meta'
MISSING_ID = b'{"eventoNotificacao":"CONTRATO.REGISTRADO","metadados":[]}'


def old_quarantine(data_dir: Path) -> None:
    """Five refusals of a strict receiver, in its schema (no transaction_id columns)."""
    rows = [
        quarantine_row(NON_UUID, "schema_invalido", 0),
        quarantine_row(NO_METADADOS, "schema_invalido", 1),
        quarantine_row(NON_UUID, "schema_invalido", 5),  # CCEE's retry of the first
        quarantine_row(TRUNCATED_JSON, "json_invalido", 2),
        quarantine_row(MISSING_ID, "schema_invalido", 3),
        # over the limit: only a prefix was kept, so it can never be replayed
        quarantine_row(NON_UUID[:40], "corpo_grande_demais", 4, tamanho=5_000_000),
    ]
    folder = partition_dir(lake_root(data_dir), QUARENTENA, DAY)
    folder.mkdir(parents=True)
    old_schema = pa.schema(
        [f for f in QUARENTENA_SCHEMA if f.name not in ("transaction_id", "evento_notificacao")]
    )
    for i in (0, 3):
        pq.write_table(
            pa.Table.from_pylist(rows[i : i + 3], schema=old_schema), folder / f"old-{i}.parquet"
        )


def delivered(data_dir: Path) -> list[tuple]:  # type: ignore[type-arg]
    return lake_rows(
        data_dir,
        "select transaction_id, evento_notificacao, metadados, recebido_em, destino, perfil, "
        "instancia, avisos, corpo from t order by recebido_em",
        table=NOTIFICACOES,
    )


def test_replay_writes_what_now_passes_exactly_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_quarantine(data)
    ids = [e.id for e in entries(data)]
    assert len(ids) == len(set(ids)) == 6  # the retry is its own entry

    dry = CliRunner().invoke(
        main,
        ["quarantine", "replay", "--data-dir", str(data), "--dry-run"],
        catch_exceptions=False,
    )
    assert dry.exit_code == 0, dry.output
    assert "would replay:      3" in dry.output
    assert delivered(data) == [] and not (lake_root(data) / MARKERS).exists()

    # the real command, as an operator runs it
    out = subprocess.run(
        [CLI, "quarantine", "replay", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "replayed:          3" in out
    assert "still refused:     3" in out
    assert "json_invalido: 1" in out and "schema_invalido: 1" in out
    assert "corpo_grande_demais: 1" in out

    rows = delivered(data)
    assert [(r[0], r[3]) for r in rows] == [
        ("legacy-1", WHEN),
        ("legacy-2", WHEN.replace(minute=1)),
        ("legacy-1", WHEN.replace(minute=5)),
    ]
    assert rows[0][2] == [{"nome": "ID_CONTRATO", "valor": "7"}]
    assert rows[0][4:8] == (
        "/ccee/***/contratos",
        "PERFIL_A",
        "replay",
        ["transaction_id_nao_uuid"],
    )
    assert rows[1][7] == ["transaction_id_nao_uuid", "codigo_fora_do_padrao", "metadados_ausentes"]
    assert rows[0][8] == NON_UUID.decode()
    # laid out like the receiver's files: one file per entry, in the day of first receipt
    folder = partition_dir(lake_root(data), NOTIFICACOES, DAY)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"replay-{e.id}.parquet"
        for e in entries(data)
        if e.transaction_id is None
        and e.motivo == "schema_invalido"
        and b"transactionId" in e.corpo
    )

    again = CliRunner().invoke(main, ["quarantine", "replay", "--data-dir", str(data)])
    assert "replayed:          0" in again.output
    assert "already replayed:  3" in again.output
    assert len(delivered(data)) == 3


def test_list_and_show_say_where_a_replayed_entry_went(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_quarantine(data)
    replay(data, motivo="schema_invalido")
    listed = CliRunner().invoke(main, ["quarantine", "list", "--data-dir", str(data), "--json"])
    assert listed.exit_code == 0, listed.output
    docs = json.loads(listed.stdout)
    assert [d["motivo"] for d in docs].count("schema_invalido") == 4
    replayed = [d for d in docs if d["arquivo_reprocessado"]]
    assert len(replayed) == 3
    only = CliRunner().invoke(
        main, ["quarantine", "list", "--data-dir", str(data), "--motivo", "json_invalido"]
    )
    assert only.exit_code == 0 and len(only.stdout.splitlines()) == 2  # header + 1 entry
    # the id of the truncated body is read although the body is not JSON (old rows lack it)
    trunc = next(d for d in docs if d["motivo"] == "json_invalido")
    assert trunc["transaction_id"] is None  # not stored by the old receiver...
    assert identify(TRUNCATED_JSON)[0] == "legacy-3"  # ...but readable by today's one

    target = replayed[0]
    shown = CliRunner().invoke(
        main, ["quarantine", "show", "--data-dir", str(data), target["id"][:8]]
    )
    assert shown.exit_code == 0, shown.output
    assert target["arquivo_reprocessado"] in shown.output
    assert f"replay-{target['id']}.parquet" in target["arquivo_reprocessado"]
    assert "legacy-1" in shown.output  # the raw body
    doc = json.loads(
        CliRunner()
        .invoke(main, ["quarantine", "show", "--data-dir", str(data), target["id"], "--json"])
        .stdout
    )
    assert doc["reprocessamento"]["arquivo"] == target["arquivo_reprocessado"]
    missing = CliRunner().invoke(
        main, ["quarantine", "show", "--data-dir", str(data), "ffffffffff"]
    )
    assert missing.exit_code == 1 and "no single quarantine entry" in missing.output
    since = CliRunner().invoke(
        main, ["quarantine", "list", "--data-dir", str(data), "--since", "2026-11-21", "--json"]
    )
    assert json.loads(since.stdout) == []


def test_a_crash_before_the_marker_or_a_compaction_never_duplicates(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_quarantine(data)
    first = replay(data)
    assert first.reprocessadas == 3
    markers = lake_root(data) / MARKERS
    # as if the process died after publishing the files but before writing the markers
    for m in markers.iterdir():
        m.unlink()
    # ...and the day was compacted meanwhile (the replay files are gone, merged into one)
    compacted = compact_day(data, NOTIFICACOES, DAY)
    assert compacted.arquivos == 3
    second = replay(data)
    assert (
        second.reprocessadas == 3
        and second.arquivos == [f"notificacoes/dt={DAY}/{compacted.destino}"] * 3
    )
    assert len(delivered(data)) == 3
    assert len(list(markers.iterdir())) == 3
    assert replay(data).ja_reprocessadas == 3


def test_the_receiver_stores_ids_of_refused_bodies_and_they_replay_after_a_fix(
    receiver_factory,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """End to end: a body refused today (no transactionId) is quarantined with the event
    code it carried; a body refused only for its size replays once the limit is raised."""
    rcv = receiver_factory("--max-body", "200")
    tx = str(uuid.uuid4())
    big = body_for(tx, extra="x" * 300)
    assert rcv.post(big).status_code == 413
    assert rcv.post(MISSING_ID).status_code == 422
    wait_until(lambda: len(lake_rows(rcv.data_dir, table=QUARENTENA)) == 2, what="quarantine rows")
    rows = lake_rows(
        rcv.data_dir,
        "select motivo, transaction_id, evento_notificacao from t order by motivo",
        table=QUARENTENA,
    )
    assert rows == [
        ("corpo_grande_demais", tx, "CONTRATO.REGISTRADO"),
        ("schema_invalido", None, "CONTRATO.REGISTRADO"),
    ]
    still = replay(rcv.data_dir, max_body=200)
    assert still.reprocessadas == 0 and still.recusadas == {
        "corpo_grande_demais": 1,
        "schema_invalido": 1,
    }
    fixed = replay(rcv.data_dir, max_body=1024)
    assert fixed.reprocessadas == 1
    assert [r[0] for r in delivered(rcv.data_dir)] == [tx]
    marker = msgspec.json.decode(
        (lake_root(rcv.data_dir) / MARKERS).glob("*.json").__next__().read_bytes()
    )
    assert marker["transaction_id"] == tx
