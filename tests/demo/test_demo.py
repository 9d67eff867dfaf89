"""`ccee-webhook demo` end to end: run it small, then reconcile CCEE's ledger with the warehouse.

The demo runs once (module fixture) as a real subprocess, with real child processes, real
SOAP, real Parquet, a real DuckDB file and real Dagster runs. The assertions are exact
reconciliations between two independent records: the simulator's SQLite ledger (what CCEE
sent and what it saw answered) and what the product stored and computed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import httpx
import pytest
import readme_commands as rc
from support.callbacks import body_for
from support.pki import Pki, make_pki
from support.processes import session_alive, stop_session
from support.waiting import free_port

from ccee.domain import lifecycle

RETIRED_CODE = "CONTRATO.CANCELAMENTO_VALIDADO"
DEMO_TIMEOUT = 900  # a bound, not a benchmark: 2 shared cores can be very busy
#: the repository root: the demo runs there, as the README tells a new user to
REPO = Path(__file__).resolve().parents[2]
DAYS = 2
#: lifecycle anomalies per generated event: a few in the fixture's ~150 events
ANOMALY_RATE = 0.05


def _command() -> list[str]:
    script = Path(sys.executable).with_name("ccee-webhook")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from ccee_webhook.cli import main; sys.exit(main())"]


def _clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    env["CCEE_WEBHOOK_DATA_DIR"] = str(data_dir)
    env["COLUMNS"] = "200"
    return env


def _processes_under(folder: Path) -> list[int]:
    """Live processes started for this demo folder: cwd inside it, or it on the command line."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            cmdline = raw.replace(b"\0", b" ").decode("utf-8", "replace")
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if state == "Z":
            continue
        if str(folder) in cmdline or cwd == str(folder) or cwd.startswith(str(folder) + "/"):
            found.append(int(entry.name))
    return found


def _refused(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect((parts.hostname, parts.port))
        except OSError:
            return True
    return False


class DemoRun:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.folder = self.data_dir / "demo"
        self.summary_path = root / "summary.json"
        self.sentinel = self.data_dir / "not-the-demo.txt"
        self.proc: subprocess.CompletedProcess[str] | None = None
        self.summary: dict[str, Any] = {}
        self.seconds = 0.0
        self.leftover: list[int] = []
        #: alerts.jsonl as the demo left it (later tests start Dagster's daemon, whose alert
        #: sensor evaluates the rules at the real clock and may append more)
        self.alert_log: list[dict[str, Any]] = []

    def ledger(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(f"file:{self.folder / 'simulator.sqlite3'}?mode=ro", uri=True)
        try:
            return [tuple(r) for r in con.execute(sql, params).fetchall()]
        finally:
            con.close()

    def warehouse(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.folder / "warehouse.duckdb"), read_only=True)
        try:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def lake(self, sql_from_lake: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect()
        try:
            glob = str(self.folder / "lake" / "notificacoes" / "dt=*" / "*.parquet")
            qglob = str(self.folder / "lake" / "quarentena" / "dt=*" / "*.parquet")
            sql = sql_from_lake.replace("{lake}", f"read_parquet('{glob}')").replace(
                "{quarentena}", f"read_parquet('{qglob}')"
            )
            return con.execute(sql).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    run = DemoRun(tmp_path_factory.mktemp("demo"))
    run.data_dir.mkdir()
    run.sentinel.write_text("the demo must not touch this\n")
    t0 = time.monotonic()
    run.proc = subprocess.run(
        [
            *_command(), "demo",
            "--days", str(DAYS), "--events-per-day", "72", "--time-scale", "7200",
            "--outage-hours", "3", "--invalid", "2", "--lose-201-rate", "0.1", "--seed", "11",
            "--anomaly-rate", str(ANOMALY_RATE),
            "--json-summary", str(run.summary_path),
        ],
        cwd=REPO,
        env=_clean_env(run.data_dir),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    run.seconds = time.monotonic() - t0
    run.leftover = _processes_under(run.folder)
    if run.summary_path.exists():
        run.summary = json.loads(run.summary_path.read_text())
    log = run.folder / "alerts.jsonl"
    if log.exists():
        run.alert_log = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    yield run


def test_demo_exits_zero_and_prints_the_summary(demo_run: DemoRun) -> None:
    p = demo_run.proc
    assert p is not None
    assert p.returncode == 0, f"stdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-5000:]}"
    for words in ("sent", "received", "deduplicated", "quarantined", "expired", "CCEE latency"):
        assert words in p.stdout
    assert "dg dev" in p.stdout and "marimo run notebooks/delivery_health.py" in p.stdout
    assert "duckdb.connect" in p.stdout
    # progress lines went to stderr, phase by phase
    for phase in ("local CCEE at", "subscriptions applied through SOAP",
                  f"{DAYS - 1} history day(s) replayed", "subscriptions re-applied through SOAP "
                  "(0 to add, 1 to update, 0 to delete, 9 unchanged)", "receiver stopped",
                  "receiver restarted", "dispatcher idle", "Dagster run"):
        assert phase in p.stderr
    assert len(demo_run.summary["dias"]) == DAYS
    # the default folder is $CCEE_WEBHOOK_DATA_DIR/demo; nothing else in the data dir touched
    assert Path(demo_run.summary["data_dir"]) == demo_run.folder.resolve()
    assert demo_run.sentinel.read_text() == "the demo must not touch this\n"


def test_no_process_is_left_running(demo_run: DemoRun) -> None:
    assert demo_run.leftover == []
    assert _refused(demo_run.summary["simulator_url"])
    assert _refused(demo_run.summary["receiver_url"])


def test_no_url_token_in_the_demo_logs(demo_run: DemoRun) -> None:
    """Children's output is logged with the demo's secrets masked (a library logging the
    destination URL must not put the token on disk)."""
    token_in_path = re.compile(r"/ccee/(?!\*\*\*)[A-Za-z0-9_\-]{16,}")
    logs = sorted((demo_run.folder / "logs").glob("*.log"))
    assert [p.name for p in logs] == ["receiver-1.log", "receiver-2.log", "simulator.log"]
    for p in logs:
        text = p.read_text(errors="replace")
        assert text.startswith("http://127.0.0.1:")  # the URL line comes first
        assert not token_in_path.search(text), p.name


def test_every_notified_notification_is_in_the_warehouse_exactly_once(demo_run: DemoRun) -> None:
    notified = {r[0] for r in demo_run.ledger(
        "SELECT transaction_id FROM notificacoes WHERE situacao = 'NOTIFICADO'")}
    rows = demo_run.warehouse("SELECT transaction_id FROM notificacoes")
    ids = [r[0] for r in rows]
    assert len(notified) > 50
    assert len(ids) == len(set(ids))  # one row per transaction_id
    assert set(ids) == notified


def test_deliveries_match_every_201_ccee_saw(demo_run: DemoRun) -> None:
    """Each attempt CCEE saw answered 201 is one stored delivery (lost 201s included)."""
    ledger = dict(demo_run.ledger(
        "SELECT transaction_id, count(*) FROM tentativas WHERE status_http = 201 "
        "GROUP BY transaction_id"))
    lake = dict(demo_run.lake("SELECT transaction_id, count(*) FROM {lake} GROUP BY ALL"))
    warehouse = dict(demo_run.warehouse("SELECT transaction_id, entregas FROM notificacoes"))
    assert lake == ledger
    assert warehouse == ledger
    total = sum(warehouse.values())
    assert total >= len(warehouse)
    lost = demo_run.ledger("SELECT count(*) FROM tentativas WHERE resposta_perdida = 1")[0][0]
    assert lost > 0, "the run should show duplicates (lost 201s)"
    assert total - len(warehouse) == lost
    s = demo_run.summary["armazem"]
    assert (s["entregas"], s["notificacoes"], s["deduplicadas"]) == (total, len(warehouse), lost)
    # the token never reaches the lake
    destinos = {r[0] for r in demo_run.lake("SELECT DISTINCT destino FROM {lake}")}
    assert destinos <= {"/ccee/***/contrato", "/ccee/***/montante-energia"}


def test_the_outage_produced_late_deliveries(demo_run: DemoRun) -> None:
    late = demo_run.ledger(
        "SELECT count(DISTINCT transaction_id) FROM tentativas "
        "WHERE erro = 'connection refused or unreachable' AND transaction_id IN "
        "(SELECT transaction_id FROM notificacoes WHERE situacao = 'NOTIFICADO')")[0][0]
    assert late > 0
    assert demo_run.summary["injetado"]["notificacoes_na_fila_ao_religar"] > 0
    slowest = demo_run.warehouse("SELECT max(latencia_ccee_max_s) FROM sla_entrega")[0][0]
    assert slowest > 3600  # some notifications waited hours for the receiver


def test_expired_notifications_are_absent_from_the_lake_and_flagged(demo_run: DemoRun) -> None:
    expired = dict(demo_run.ledger(
        "SELECT transaction_id, codigo FROM notificacoes WHERE situacao = 'EXPIRADO'"))
    invalid = set(demo_run.summary["injetado"]["invalidos"])
    assert len(invalid) == 2
    assert invalid <= set(expired)
    retired = {tx for tx, code in expired.items() if code == RETIRED_CODE}
    assert retired, "the retired endpoint should have produced EXPIRADO notifications"
    assert set(expired) == retired | invalid
    # never stored, so never in the lake nor in notificacoes
    in_lake = {r[0] for r in demo_run.lake("SELECT DISTINCT transaction_id FROM {lake}")}
    assert not in_lake & set(expired)
    in_wh = {r[0] for r in demo_run.warehouse("SELECT transaction_id FROM notificacoes")}
    assert not in_wh & set(expired)
    # each one was tried 289 times (every 5 minutes for 24 h) before giving up
    attempts = dict(demo_run.ledger(
        "SELECT transaction_id, count(*) FROM tentativas GROUP BY transaction_id"))
    assert {attempts[tx] for tx in expired} == {289}
    # CCEE's results, pulled over SOAP, flag them; sla_entrega counts them
    flagged = dict(demo_run.warehouse(
        "SELECT transaction_id, situacao FROM resultados_notificacao"))
    assert {tx for tx, sit in flagged.items() if sit == "EXPIRADO"} == set(expired)
    assert demo_run.warehouse("SELECT sum(expirado) FROM sla_entrega")[0][0] == len(expired)
    # the live day's retired-code notifications all went to the dead address and expired;
    # during the history days the same code still reached the receiver
    live_day = demo_run.summary["dias"][-1]
    by_day = demo_run.ledger(
        "SELECT dia = ?, situacao, endereco_destino FROM notificacoes WHERE codigo = ?",
        (live_day, RETIRED_CODE))
    dead = demo_run.summary["injetado"]["endereco_aposentado"]
    live = {(sit, url.startswith(dead)) for is_live, sit, url in by_day if is_live}
    assert live == {("EXPIRADO", True)}
    history = {(sit, url.startswith(dead)) for is_live, sit, url in by_day if not is_live}
    assert history <= {("NOTIFICADO", False)}


def test_sla_entrega_totals_equal_the_ledger(demo_run: DemoRun) -> None:
    ledger = Counter()
    for dia, code, situacao, n in demo_run.ledger(
        "SELECT dia, codigo, situacao, count(*) FROM notificacoes GROUP BY dia, codigo, situacao"
    ):
        ledger[(dia, code, "notificacoes")] += n
        ledger[(dia, code, situacao)] += n
    sla = Counter()
    for dia, code, n, notif, aguard, exp, outros, ausente, sem in demo_run.warehouse(
        "SELECT dia::VARCHAR, evento_notificacao, notificacoes, notificado, aguardando, expirado,"
        " outros, notificado_ausente_no_lago, no_lago_sem_resultado FROM sla_entrega"
    ):
        assert (aguard, outros, ausente, sem) == (0, 0, 0, 0), (dia, code)
        sla[(dia, code, "notificacoes")] += n
        if notif:
            sla[(dia, code, "NOTIFICADO")] += notif
        if exp:
            sla[(dia, code, "EXPIRADO")] += exp
    assert sla == ledger
    w = demo_run.summary["armazem"]
    c = demo_run.summary["ccee"]
    assert w["sla_notificacoes"] == c["notificacoes"] == sum(
        v for k, v in ledger.items() if k[2] == "notificacoes")
    assert w["sla_notificado"] == c["notificado"]
    assert w["sla_expirado"] == c["expirado"]
    assert c["aguardando"] == 0
    # one results row per notification CCEE created, with the same state
    results = dict(demo_run.warehouse(
        "SELECT transaction_id, situacao FROM resultados_notificacao"))
    assert results == dict(demo_run.ledger("SELECT transaction_id, situacao FROM notificacoes"))


def test_quarantine_holds_exactly_the_invalid_callbacks(demo_run: DemoRun) -> None:
    invalid = demo_run.summary["injetado"]["invalidos"]
    marks = ",".join("?" * len(invalid))
    sent = demo_run.ledger(
        f"SELECT n.corpo, count(*) FROM tentativas t JOIN notificacoes n USING (transaction_id) "
        f"WHERE t.transaction_id IN ({marks}) AND t.status_http IS NOT NULL GROUP BY n.corpo",
        tuple(invalid),
    )
    expected = Counter({bytes(corpo).decode(): n for corpo, n in sent})
    assert sum(expected.values()) == 2 * 289  # the receiver was up for every attempt
    rows = demo_run.warehouse("SELECT corpo, motivo, status_http FROM quarentena")
    assert Counter(r[0] for r in rows) == expected
    assert {r[1] for r in rows} <= {"json_invalido", "schema_invalido"}
    assert {r[2] for r in rows} <= {400, 422}
    assert demo_run.summary["armazem"]["quarentena"] == len(rows)
    assert demo_run.summary["injetado"]["quarentena_esperada"] == len(rows)
    raw = demo_run.lake("SELECT count(*) FROM {quarentena}")[0][0]
    assert raw == len(rows)


def _contract_events(run: DemoRun) -> dict[tuple[str, int], list[tuple[str, str, str]]]:
    """Every CONTRATO notification in CCEE's ledger but the demo's invalid callbacks, per
    (perfil, id_contrato), in event-time order: (DATA_ORIGEM_EVENTO, state, situacao)."""
    invalid = set(run.summary["injetado"]["invalidos"])
    out: dict[tuple[str, int], list[tuple[str, str, str]]] = {}
    for tx, perfil, codigo, corpo, situacao in run.ledger(
        "SELECT transaction_id, perfil, codigo, corpo, situacao FROM notificacoes "
        "WHERE codigo LIKE 'CONTRATO.%'"
    ):
        if tx in invalid:
            continue
        meta = {m["nome"]: m["valor"] for m in json.loads(bytes(corpo))["metadados"]}
        out.setdefault((perfil, int(meta["ID_CONTRATO"])), []).append(
            (meta["DATA_ORIGEM_EVENTO"], codigo.split(".", 1)[1], situacao)
        )
    return {k: sorted(v) for k, v in out.items()}


def test_contratos_flags_exactly_the_anomalies_the_generator_injected(demo_run: DemoRun) -> None:
    """The warehouse's lifecycle detector against the simulator's truth (read by the demo
    before it stopped the simulator): the same contracts, each with the reason of its break.

    One thing changes what the warehouse can see: the live day's CANCELAMENTO_VALIDADO
    notifications go to the decommissioned receiver and expire. A break is never that code
    (the generator breaks with a non-terminal event), so every injected break reaches the
    warehouse; but an "event after a terminal state" whose terminal step expired is seen as
    a transition CANCELADO → X that the lifecycle does not allow. CCEE's ledger says which."""
    injetado = demo_run.summary["injetado"]
    injected = {(a["perfil"], a["id_contrato"]): a for a in injetado["anomalias"]}
    assert injected, "the demo's --anomaly-rate injected no anomaly in this run"
    assert injetado["taxa_anomalias"] == ANOMALY_RATE
    got = {
        (p, c): m
        for p, c, m in demo_run.warehouse(
            "SELECT perfil, id_contrato, anomalia FROM contratos WHERE anomalia IS NOT NULL"
        )
    }
    assert set(got) == set(injected)

    sent = _contract_events(demo_run)
    want: dict[tuple[str, int], str] = {}
    for key, a in injected.items():
        seq = sent[key]
        i = seq.index((a["data_origem"], a["para"], "NOTIFICADO"))  # the break was delivered
        assert i > 0 and seq[i - 1][1] == a["de"]  # the truth agrees with CCEE's ledger
        assert all(sit == "NOTIFICADO" for _, _, sit in seq[: i - 1])
        if seq[i - 1][2] == "NOTIFICADO":
            want[key] = lifecycle.motivo(a["tipo"], a["de"], a["para"])
            assert want[key] == a["motivo"]
        else:  # its terminal step went to the decommissioned receiver
            assert (a["de"], seq[i - 1][2]) == (RETIRED_CODE.split(".", 1)[1], "EXPIRADO")
            assert a["tipo"] == lifecycle.APOS_TERMINAL
            want[key] = lifecycle.motivo(
                lifecycle.TRANSICAO_NAO_PREVISTA, seq[i - 2][1], a["para"]
            )
    assert got == want
    assert demo_run.summary["armazem"]["contratos_com_anomalia"] == len(got)
    p = demo_run.proc
    assert p is not None
    shown = re.search(r"│ anomalies\s*│\s*(\d+) │", p.stdout)
    assert shown is not None and int(shown.group(1)) == len(injected)


def test_typed_tables_and_reports_exist(demo_run: DemoRun) -> None:
    n_contrato = demo_run.warehouse("SELECT count(*) FROM eventos_contrato")[0][0]
    n_montante = demo_run.warehouse("SELECT count(*) FROM eventos_montante_energia")[0][0]
    n_notified = demo_run.warehouse("SELECT count(*) FROM notificacoes")[0][0]
    assert n_contrato > 0 and n_montante > 0
    assert n_contrato + n_montante == n_notified
    reports = [Path(p) for p in demo_run.summary["reports"]]
    assert sorted(p.name for p in reports) == [
        "contract_events.html", "delivery_health.html", "energy_amount_events.html",
        "event_volumes.html"]
    for p in reports:
        assert p.stat().st_size > 10_000
    assert demo_run.summary["checks_falhos"] == []
    assert len(demo_run.summary["dagster_runs"]) == 2


def test_refuses_to_wipe_a_folder_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("important")
    p = subprocess.run(
        [*_command(), "demo", "--data-dir", str(precious)],
        cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert p.returncode == 1
    assert "refusing to wipe" in p.stderr
    assert (precious / "notes.txt").read_text() == "important"
    assert _processes_under(precious) == []


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "demo"
    proc = subprocess.Popen(
        [*_command(), "demo", "--events-per-day", "48", "--time-scale", "600"],
        cwd=tmp_path, env=_clean_env(tmp_path / "data"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        seen = ""
        while "subscriptions applied" not in seen:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, f"demo ended early:\n{seen}"
            seen += line
            assert time.monotonic() < deadline, f"demo did not get going:\n{seen}"
        children = _processes_under(folder)
        assert len(children) == 2  # the simulator and the receiver, running
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130
        assert "interrupted" in seen + err
        assert _processes_under(folder) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- the first hour: what the demo prints under "Next" runs as printed ------------------------
SERVER_START_TIMEOUT = 300  # dg dev loads the definitions in a code server: slow on 2 busy cores
STOP_WITHIN = 10.0


def _next_commands(stdout: str) -> list[str]:
    """The shell lines under "Next" (comments dropped), in order."""
    assert "\nNext\n" in stdout, stdout[-2000:]
    section = stdout.split("\nNext\n", 1)[1]
    return [
        line.strip() for line in section.splitlines()
        if line.startswith("  ") and not line.strip().startswith("#")
    ]


def _user_env() -> dict[str, str]:
    """A new user's shell: none of our settings exported, no DAGSTER_HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CCEE_WEBHOOK_", "DAGSTER_"))}
    env.pop("VIRTUAL_ENV", None)
    return env


def _serve_and_stop(script: str, url: str, log: Path, force_after: float | None) -> float:
    """Start a server in its own session, wait until `url` answers, send SIGTERM to its
    process group (what Ctrl-C does in a terminal). With `force_after`, a group still alive
    that long after SIGTERM gets the README's documented `kill -KILL -- -PGID`. Returns how
    long the whole group took to exit after the first signal."""
    proc = _start_server(script, url, log)
    try:
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        forced = False
        while session_alive(proc.pid) and time.monotonic() - t0 < 30:
            if force_after is not None and not forced and time.monotonic() - t0 > force_after:
                subprocess.run(["bash", "-c", f"kill -KILL -- -{proc.pid}"], check=False)
                forced = True
            time.sleep(0.1)
        return time.monotonic() - t0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_every_next_command_runs_as_printed(demo_run: DemoRun, tmp_path: Path) -> None:
    """From the repository root, in a fresh shell: the export line, then each command. Servers
    (dg dev, marimo run) get a free port appended, must answer over HTTP, and must stop within
    10 s, children included: marimo on SIGTERM; dg dev, whose graceful shutdown waits up to
    60 s per service (Dagster's own behaviour, documented in the README), once the README's
    process-group kill follows SIGTERM."""
    p = demo_run.proc
    assert p is not None and p.returncode == 0
    commands = _next_commands(p.stdout)
    export = commands[0]
    assert export.startswith("export ") and "DAGSTER_HOME=/" in export
    rest = commands[1:]
    assert [c for c in rest if c.startswith("uv run dg dev")] == ["uv run dg dev"]
    assert "uv run ccee-webhook report" in rest
    assert "uv run marimo run notebooks/delivery_health.py" in rest
    reports = demo_run.folder / "reports"
    before = {f.name: f.stat().st_mtime_ns for f in reports.glob("*.html")}
    for i, command in enumerate(rest):
        if command.startswith(("uv run dg dev", "uv run marimo run")):
            port = free_port()
            extra = f" -p {port}" if "dg dev" in command else f" --headless --port {port}"
            path = "/server_info" if "dg dev" in command else "/"
            grace = 5.0 if "dg dev" in command else None
            took = _serve_and_stop(
                f"{export}\nexec {command}{extra}", f"http://127.0.0.1:{port}{path}",
                tmp_path / f"server-{i}.log", grace,
            )
            assert took < STOP_WITHIN, f"{command} took {took:.1f} s to stop"
            continue
        done = subprocess.run(
            ["bash", "-c", f"set -e\n{export}\n{command}"], cwd=REPO, env=_user_env(),
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        if "duckdb" in command:
            assert "latencia_ccee_p95_s" in done.stdout
            assert not re.search(r"\d\.\d{5,}", done.stdout), done.stdout  # figures rounded
    after = {f.name: f.stat().st_mtime_ns for f in reports.glob("*.html")}
    assert set(after) == set(before) and all(after[k] > before[k] for k in after)


def test_day_partitions_start_where_the_demo_data_starts(demo_run: DemoRun) -> None:
    """With the demo's settings, Dagster's daily partitions begin at the first CCEE day and
    every one of them is materialized for every partitioned asset (none missing)."""
    p = demo_run.proc
    assert p is not None and p.returncode == 0
    export = _next_commands(p.stdout)[0]
    probe = (
        "import json, dagster as dg\n"
        "from pipelines.definitions import defs\n"
        "from pipelines.partitions import daily\n"
        "graph = defs().resolve_asset_graph()\n"
        "keys = daily.get_partition_keys()\n"
        "with dg.DagsterInstance.get() as inst:\n"
        "    missing = {k.to_user_string(): sorted(set(keys) - inst.get_materialized_partitions(k))"
        " for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}\n"
        "print(json.dumps({'keys': keys, 'missing': missing}))\n"
    )
    done = subprocess.run(
        ["bash", "-c", f"{export}\nexec {sys.executable} -c \"$PROBE\""], cwd=REPO,
        env=_user_env() | {"PROBE": probe}, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["keys"][0] == demo_run.summary["dias"][0]
    assert found["keys"] == demo_run.summary["particoes"]
    assert found["missing"] and all(v == [] for v in found["missing"].values()), found


def test_the_outage_and_the_expirations_raise_alerts(demo_run: DemoRun) -> None:
    """As of the outage the receiver is silent; as of the end that incident is resolved and
    every expiration in CCEE's ledger is in one open `expiracao` incident; alerts.jsonl, as the
    demo left it, holds exactly the alerts its summary lists."""
    heads = [x.split(" at ")[0] for x in demo_run.summary["alertas"]]
    assert "aberto silencio:88888" in heads and "resolvido silencio:88888" in heads
    assert heads.index("aberto silencio:88888") < heads.index("resolvido silencio:88888")
    assert "aberto expiracao:88888" in heads
    records = demo_run.alert_log
    assert [(r["chave"], r["estado"]) for r in records] == [
        tuple(h.split(" ", 1)[::-1]) for h in heads]
    expired = {r[0] for r in demo_run.ledger(
        "SELECT transaction_id FROM notificacoes WHERE situacao = 'EXPIRADO'")}
    exp = next(r for r in records if r["chave"] == "expiracao:88888")
    assert exp["contagem"] == len(expired)
    assert {exp["primeiro_transaction_id"], exp["ultimo_transaction_id"]} <= expired


# -- the README: each of its commands runs as printed after the demo, or is listed -----------
def _fill(text: str, subs: list[tuple[str, str]], values: dict[str, str]) -> str:
    for old, new in subs:
        assert old in text, (old, text)
        text = text.replace(old, new.format(**values))
    return text


def _start_server(
    script: str, url: str, log: Path, ca: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `script` in its own session and wait until `url` answers 200 (https: a
    certificate from `ca`)."""
    trust = ssl.create_default_context(cafile=None if ca is None else str(ca))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", script], cwd=REPO, env=_user_env() | {"COLUMNS": "200"},
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    try:
        while True:
            assert proc.poll() is None, f"{script!r} exited:\n{log.read_text()[-3000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=3, trust_env=False, verify=trust).status_code == 200:
                    return proc
            assert time.monotonic() < deadline, f"{url} never answered:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
    except BaseException:
        stop_session(proc)
        raise


@dataclass
class _ReadmeRun:
    """What every README block shares: the demo, its export line, the test's PKI and folder."""

    demo: DemoRun
    readme_export: str
    demo_export: str
    pki: Pki
    tmp: Path
    timings: list[tuple[str, float]]

    def block(self, n: int, block: list[rc.Command]) -> None:
        """Run one ```bash block in a fresh shell that has run the demo's export line."""
        values = {"port": str(free_port()), "cert": str(self.pki.server_cert),
                  "key": str(self.pki.server_key), "data": str(self.tmp / f"own-data-{n}")}
        prefix = [self.demo_export]
        servers: list[tuple[str, subprocess.Popen[bytes]]] = []
        try:
            for cmd in block:
                line = cmd.line
                if line == self.readme_export or line in rc.COVERED or line in rc.DEPLOYMENT_ONLY:
                    continue
                if line in rc.EXPORT_SUBS:
                    prefix.append(_fill(line, rc.EXPORT_SUBS[line][0], values))
                    continue
                t0 = time.monotonic()
                if line in rc.SERVERS:
                    assert not servers, "one server per block (one free port)"
                    servers.append((line, self.server(n, line, prefix, values)))
                else:
                    self.run(line, cmd.stdin, prefix)
                self.timings.append((line, time.monotonic() - t0))
        finally:
            for line, proc in servers:
                took = stop_session(proc)
                assert took < STOP_WITHIN, f"{line} took {took:.1f} s to stop"

    def server(
        self, n: int, line: str, prefix: list[str], values: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        spec = rc.SERVERS[line]
        command = _fill(line, spec.subs, values) + spec.add.format(**values)
        base = f"{spec.scheme}://127.0.0.1:{values['port']}"
        proc = _start_server("\n".join([*prefix, f"exec {command}"]), base + spec.path,
                             self.tmp / f"server-{n}.log", self.pki.ca_pem)
        if spec.scheme == "https":  # the receiver: a callback with the README's token → 201
            try:
                answer = httpx.post(
                    f"{base}/ccee/long-random-secret", content=body_for(), trust_env=False,
                    verify=ssl.create_default_context(cafile=str(self.pki.ca_pem)),
                    headers={"Content-Type": "application/json"})
                assert answer.status_code == 201, answer.text
            except BaseException:
                stop_session(proc)
                raise
        return proc

    def run(self, line: str, stdin: str, prefix: list[str]) -> None:
        done = subprocess.run(
            ["bash", "-c", "\n".join(["set -e", *prefix, line])], cwd=REPO,
            env=_user_env() | {"COLUMNS": "200"}, input=stdin, capture_output=True, text=True,
            timeout=300,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"{line}\n{out[-4000:]}"
        rc.RUN[line](out, self.demo)

    def lanes(self, blocks: list[tuple[int, list[rc.Command]]]) -> None:
        """The blocks on two lanes at once (2 cores), each lane in README order."""
        lanes: list[list[tuple[int, list[rc.Command]]]] = [[], []]
        for item in blocks:
            min(lanes, key=len).append(item)
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(lambda lane=lane: [self.block(*b) for b in lane])
                       for lane in lanes]
            for f in futures:
                f.result()


def test_every_readme_command_runs_as_printed(demo_run: DemoRun, tmp_path: Path) -> None:
    """Every command line of the README's ```bash blocks is run as printed from the repository
    root after the demo, run with a stated loopback substitution, run by another test, or
    listed as deployment/development only with a reason (tests/demo/readme_commands.py); a new
    line in none of these fails here. Each block runs in a fresh shell that has run the demo's
    export line (the README's own, pointing at this test's demo folder instead of
    ./data/demo), then the block's exports; servers are probed over HTTP(S) on loopback and
    must stop within 10 s of SIGTERM at the end of their block. Blocks run two at a time: the
    one writing the warehouse (`dg launch`) beside those that never open it, then the
    warehouse's readers."""
    p = demo_run.proc
    assert p is not None and p.returncode == 0
    next_commands = _next_commands(p.stdout)
    demo_export = next_commands[0]
    readme_export = demo_export.replace(
        shlex.quote(str(demo_run.folder.resolve())), rc.README_DEMO_FOLDER)
    blocks = rc.bash_blocks(REPO / "README.md")
    lines = [c.line for block in blocks for c in block]
    assert readme_export in lines, "the README must print the demo's export line"
    known = rc.classified() | {readme_export}
    unknown = [line for line in lines if line not in known]
    assert not unknown, f"README commands neither run nor listed in readme_commands.py: {unknown}"
    assert not known - set(lines), f"listed but not in the README: {known - set(lines)}"
    for line, why in rc.COVERED.items():
        if why == rc.NEXT:
            assert line in next_commands[1:], line

    run = _ReadmeRun(demo_run, readme_export, demo_export, make_pki(tmp_path), tmp_path, [])
    numbered = list(enumerate(blocks))
    touches = [any(c.line in rc.WAREHOUSE for c in b) for _, b in numbered]
    writer = [b for b in numbered if any(c.line in rc.WAREHOUSE_WRITER for c in b[1])]
    assert len(writer) == 1
    t0 = time.monotonic()
    # the writer's lane first: it alone, the others filled with blocks that never open the file
    with ThreadPoolExecutor(2) as pool:
        others = [b for b, t in zip(numbered, touches, strict=True) if not t]
        futures = [pool.submit(run.block, *writer[0]),
                   pool.submit(lambda: [run.block(*b) for b in others])]
        for f in futures:
            f.result()
    run.lanes([b for b, t in zip(numbered, touches, strict=True) if t and b is not writer[0]])
    wall = time.monotonic() - t0
    ran = {line for line, _ in run.timings}
    assert ran == set(rc.RUN) | set(rc.SERVERS)
    print("README-COMMANDS", f"{len(ran)} commands in {wall:.1f} s:",
          "; ".join(f"{t:.1f}s {line[:50]}" for line, t in run.timings))
