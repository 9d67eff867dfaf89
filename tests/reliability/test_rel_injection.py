"""Path and SQL injection: names from the wire never become file paths or unquoted SQL.

Hostile metadata names, event codes and an instance id go through the real receiver into the
lake and then through the real Dagster lake assets into the DuckDB warehouse. The lake keeps
its fixed layout, the warehouse keeps every table, and every hostile string comes back
verbatim as data.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import msgspec
import pytest
from support.credentials import TOKEN
from support.lake import lake_rows
from support.receiver import start_receiver

from pipelines.defs.catalog.assets import eventos_entidades
from pipelines.defs.lake.assets import notificacoes_e_metadados, quarentena
from pipelines.resources import CCEEResource, WarehouseResource
from settings import CCEE_TZ

HOSTILE_NAMES = [
    "../x",
    "../../../../etc/passwd",
    "/abs/path",
    "a'; DROP TABLE notificacoes; --",
    'b"); DROP TABLE metadados; --',
    "c` OR 1=1",
    "dt=2020-01-01/../../x",
    "NUL\x00byte",
    "back\\slash",
    "Ação São Paulo ünïcødé",
    "名前",
    "emoji 💥",
    "\u202eRTL override",
    "x" * 5000,
    "",
    "   ",
    "ID_CONTRATO",
    "id_contrato",  # collides with the above after normalisation
    "SELECT",
    "1leading_digit",
]
BAD_CODES = ["../x.Y", "A'; DROP.X", "CONTRATO/../X.Y", "A.B;DROP", "Ç.B", "A.B C"]
LONG_CODE = "E" * 300 + ".B"  # valid (no length limit in the contract): a 300-char entity


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for k in ("USERNAME", "PASSWORD", "PERFIL", "CERT", "CCEE_URL", "KEY", "DATA_DIR"):
        monkeypatch.delenv(f"CCEE_WEBHOOK_{k}", raising=False)
    monkeypatch.delenv("CCEE_WEBHOOK_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def test_hostile_names_stay_data(data_dir: Path) -> None:
    rcv = start_receiver(data_dir, "--instance-id", "../../evil/../inst ance")
    tid = str(uuid.uuid4())
    metadados = [
        {"nome": n, "valor": f"v{i}'; DROP TABLE x; --"} for i, n in enumerate(HOSTILE_NAMES)
    ]
    body = msgspec.json.encode(
        {"eventoNotificacao": "CONTRATO.REGISTRADO", "metadados": metadados, "transactionId": tid}
    )
    assert rcv.post(body).status_code == 201
    # The entity comes from the event code, and codes off the usual pattern are accepted
    # (flagged): hostile ones must stay data all the way into the warehouse's table names.
    for code in BAD_CODES:
        bad = msgspec.json.encode(
            {"eventoNotificacao": code, "metadados": [], "transactionId": str(uuid.uuid4())}
        )
        assert rcv.post(bad).status_code == 201, code
    long_tid = str(uuid.uuid4())
    long_body = msgspec.json.encode(
        {"eventoNotificacao": LONG_CODE, "metadados": metadados, "transactionId": long_tid}
    )
    assert rcv.post(long_body).status_code == 201
    # Hostile text in the path tail after a valid token is stored redacted, not used as a path.
    assert rcv.post(body, path=f"/ccee/{TOKEN}/..%2F..%2Fetc/x'; DROP").status_code == 201
    rcv.stop()

    # The lake keeps its fixed layout: table / dt=YYYY-MM-DD / safe file name, nothing else.
    lake = data_dir / "lake"
    layout = re.compile(
        r"(notificacoes|quarentena)/dt=\d{4}-\d{2}-\d{2}/[A-Za-z0-9][A-Za-z0-9.-]*\.parquet"
    )
    files = [p.relative_to(lake).as_posix() for p in lake.rglob("*") if p.is_file()]
    assert files and all(layout.fullmatch(f) for f in files), files
    assert [p for p in data_dir.parent.rglob("*evil*") if p.is_dir()] == []
    instancias = {r[0] for r in lake_rows(data_dir, "SELECT DISTINCT instancia FROM t")}
    assert instancias == {"../../evil/../inst ance"}  # kept verbatim as data
    stored = lake_rows(data_dir, f"SELECT metadados FROM t WHERE transaction_id = '{tid}'")
    assert [m["nome"] for m in stored[0][0]] == HOSTILE_NAMES
    flagged = lake_rows(data_dir, "SELECT evento_notificacao, avisos FROM t WHERE len(avisos) > 0")
    assert sorted(flagged) == sorted(
        (code, ["codigo_fora_do_padrao", "metadados_vazios"]) for code in BAD_CODES
    )

    # Through Dagster into the warehouse.
    partition = datetime.now(UTC).astimezone(CCEE_TZ).date().isoformat()
    result = dg.materialize(
        [notificacoes_e_metadados, eventos_entidades, quarentena],
        resources={"warehouse": WarehouseResource(data_dir=str(data_dir)), "ccee": CCEEResource()},
        partition_key=partition,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    failures = [
        e.event_specific_data.error.message  # type: ignore[union-attr]
        for e in result.all_events
        if e.is_step_failure
    ]
    assert result.success, f"the lake assets failed on hostile names: {failures}"

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert {"notificacoes", "metadados", "eventos_contrato", "quarentena"} <= tables
        assert [t for t in tables if not re.fullmatch(r"[a-z0-9_]+", t)] == []
        assert con.execute("SELECT count(*) FROM notificacoes").fetchone() == (2 + len(BAD_CODES),)
        codes = con.execute("SELECT evento_notificacao FROM notificacoes WHERE len(avisos) > 0")
        assert sorted(r[0] for r in codes.fetchall()) == sorted(BAD_CODES)
        nomes = con.execute(
            "SELECT nome, valor FROM metadados WHERE transaction_id = ? ORDER BY posicao", [tid]
        ).fetchall()
        assert [n for n, _ in nomes] == HOSTILE_NAMES
        assert [v for _, v in nomes] == [m["valor"] for m in metadados]
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'eventos_contrato'"
            ).fetchall()
        ]
        assert all(re.fullmatch(r"[a-z0-9_]{1,63}", c) for c in cols), cols
        assert len(cols) == len(set(cols))
        row = con.execute("SELECT count(*) FROM eventos_contrato WHERE transaction_id = ?", [tid])
        assert row.fetchone() == (1,)
