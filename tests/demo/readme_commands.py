"""The README's shell commands, read from its ```bash blocks, and what the demo test does with
each: run it as printed after the demo, run it with a stated loopback substitution, leave it to
another test that runs the very same command, or leave it out as deployment/development only
with a reason. A command in none of these tables fails the test, so the README cannot drift.

Every block runs in a fresh shell at the repository root that has run the demo's export line
(as the README tells a new user to), then the block's own `export` lines; a server line starts
in the background (its own session) for the rest of its block, answers over HTTP on loopback,
and is stopped (SIGTERM) when the block ends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: what the demo writes and its export line names; the test's demo ran in a temp folder instead
README_DEMO_FOLDER = '"$PWD"/data/demo'
_FENCE = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
_TRAILING_COMMENT = re.compile(r"\s+#\s.*$")


@dataclass
class Command:
    line: str  # as printed, trailing comment removed
    stdin: str = ""  # `# >>> …` lines after a `python -i` line: what the reader types


def bash_blocks(readme: Path) -> list[list[Command]]:
    """Each ```bash block of the README as its command lines (comment-only lines dropped)."""
    blocks = []
    for m in _FENCE.finditer(readme.read_text(encoding="utf-8")):
        commands: list[Command] = []
        for raw in m.group(1).splitlines():
            text = raw.strip()
            if text.startswith("# >>> ") and commands:
                commands[-1].stdin += text.removeprefix("# >>> ") + "\n"
            elif text and not text.startswith("#"):
                commands.append(Command(_TRAILING_COMMENT.sub("", text)))
        blocks.append(commands)
    return blocks


def is_export(line: str) -> bool:
    return line.startswith("export ")


# -- what a run must show ------------------------------------------------------------------
#: (combined stdout + stderr, the demo) -> None; asserts the output is the one the README means
Check = Callable[[str, Any], None]


def has(*words: str) -> Check:
    def check(out: str, demo: Any) -> None:
        for w in words:
            assert w in out, f"{w!r} not in output:\n{out[-3000:]}"

    return check


def rounded(*words: str) -> Check:
    """The words, and no figure printed with five or more decimals (figures are rounded)."""

    def check(out: str, demo: Any) -> None:
        has(*words)(out, demo)
        assert not re.search(r"\d\.\d{5,}", out), out[-3000:]

    return check


def expired_in_ledger(out: str, demo: Any) -> None:
    """Every notification CCEE's ledger ended EXPIRADO is listed, and nothing else."""
    expired = {r[0] for r in demo.ledger(
        "SELECT transaction_id FROM notificacoes WHERE situacao = 'EXPIRADO'")}
    assert expired
    for tid in expired:
        assert tid in out, f"{tid} not listed:\n{out[-3000:]}"
    assert "NOTIFICADO" not in out


def retired_code_as_json(out: str, demo: Any) -> None:
    """`--json` is a JSON list of exactly the ledger's notifications of that code."""
    rows, _ = json.JSONDecoder().raw_decode(out, out.index("["))
    ledger = {r[0] for r in demo.ledger(
        "SELECT transaction_id FROM notificacoes WHERE codigo = 'CONTRATO.CANCELAMENTO_VALIDADO'")}
    assert ledger and {r["transaction_id"] for r in rows} == ledger
    assert {r["evento_notificacao"] for r in rows} == {"CONTRATO.CANCELAMENTO_VALIDADO"}


def schema_invalid_entries(out: str, demo: Any) -> None:
    n = demo.warehouse("SELECT count(*) FROM quarentena WHERE motivo = 'schema_invalido'")[0][0]
    assert n > 0 and f"{n} entries" in out, out[-2000:]
    assert "json_invalido" not in out


def nothing_replayable(out: str, demo: Any) -> None:
    n = demo.warehouse("SELECT count(*) FROM quarentena")[0][0]
    assert re.search(r"would replay:\s+0\b", out), out[-2000:]
    assert re.search(rf"still refused:\s+{n}\b", out), out[-2000:]


# -- the tables ----------------------------------------------------------------------------
@dataclass
class Server:
    """A server line: `path` must answer 200 on loopback once started; `subs` replace parts of
    the line and `add` is appended to it (a free port, no browser), for the reason `why`."""

    path: str
    add: str = ""
    scheme: str = "http"
    #: (old, new) replacements, `{port}` / `{cert}` / `{key}` / `{data}` filled in by the test
    subs: list[tuple[str, str]] = field(default_factory=list)
    why: str = ""


DG_LAUNCH = (
    "uv run dg launch --assets 'group:lake' --partition \"$(TZ=America/Sao_Paulo date +%F)\""
)

#: run as printed (after the block's exports), exit 0 and this output
RUN: dict[str, Check] = {
    "uv run ccee-webhook events": has("CONTRATO.REGISTRADO", "MONTANTE_ENERGIA.VALIDADO"),
    "uv run ccee-webhook prefs list": has(
        "10 preferences", "CONTRATO.CANCELAMENTO_VALIDADO", "/ccee/***/contrato"),
    "uv run ccee-webhook results --situacao EXPIRADO": expired_in_ledger,
    "uv run ccee-webhook results --evento CONTRATO.CANCELAMENTO_VALIDADO --json":
        retired_code_as_json,
    "uv run ccee-webhook quarantine list --motivo schema_invalido": schema_invalid_entries,
    "uv run ccee-webhook quarantine replay --dry-run": nothing_replayable,
    "uv run python -c 'import duckdb, settings; duckdb.connect(settings.warehouse_path(), "
    "read_only=True).sql(\"SELECT dia, evento_notificacao, notificacoes, notificado, expirado, "
    "round(latencia_ccee_p95_s, 1) AS latencia_ccee_p95_s FROM sla_entrega ORDER BY ALL\")"
    ".show()'": rounded("latencia_ccee_p95_s", "CONTRATO.CANCELAMENTO_VALIDADO"),
    "uv run python -i -c 'import duckdb, settings; con = duckdb.connect("
    "settings.warehouse_path(), read_only=True)'": has("transaction_id", "evento_notificacao"),
    "uv run python -c 'import duckdb, settings; duckdb.connect(settings.warehouse_path(), "
    "read_only=True).sql(\"SELECT estado_atual, count(*) AS contratos, count(anomalia) AS "
    "com_anomalia FROM contratos GROUP BY ALL ORDER BY 2 DESC\").show()'":
        has("estado_atual", "com_anomalia", "REGISTRADO"),
    "uv run python -c 'import duckdb, settings; duckdb.connect(settings.warehouse_path(), "
    "read_only=True).sql(\"SELECT perfil, id_contrato, anomalia, sequencia FROM contratos WHERE "
    "anomalia IS NOT NULL\").show()'": has("id_contrato", "sequencia"),
    "uv run python -c 'import duckdb, settings; duckdb.connect(settings.warehouse_path(), "
    "read_only=True).sql(\"SELECT mes_referencia, submercado, round(sum(montante_mwh), 1) AS "
    "mwh_vigente, sum(declaracoes) AS declaracoes FROM montantes_vigentes GROUP BY ALL ORDER BY "
    "ALL\").show()'": rounded("mwh_vigente", "declaracoes"),
    DG_LAUNCH: has("RUN_SUCCESS", "notificacoes"),
    "uv run ccee-webhook alerts": has("expiracao", "aberto"),
    "uv run ccee-webhook alerts --evaluate": has("evaluated", "perda_de_dados"),
    "uv run python notebooks/energy_amount_events.py": has("Montantes de energia", "MWh"),
}

#: checks that read the warehouse themselves, whatever the command they check reads
_CHECKS_READING_WAREHOUSE: set[Check] = {schema_invalid_entries, nothing_replayable}

#: DuckDB refuses to open the warehouse read-only while its one writer holds it: the writer
#: never runs beside a block that opens the file, by its command or by its check
WAREHOUSE_WRITER = {DG_LAUNCH}
WAREHOUSE = (
    WAREHOUSE_WRITER
    | {line for line in RUN if "warehouse_path()" in line}
    | {line for line, check in RUN.items() if check in _CHECKS_READING_WAREHOUSE}
    | {
        "uv run ccee-webhook alerts", "uv run ccee-webhook alerts --evaluate",
        "uv run python notebooks/energy_amount_events.py",
    }
)

#: servers, started and probed over HTTP(S) on loopback, stopped at the end of their block
SERVERS: dict[str, Server] = {
    "uv run ccee-webhook simulate --time-scale 0 --events-per-hour 0": Server(
        "/admin/stats", add=" --port {port}",
        why="a free port instead of the default 8880 (other sessions share this machine)"),
    "uv run ccee-webhook serve --host 0.0.0.0 --port 8443 --tls-cert cert.pem --tls-key key.pem":
        Server(
            "/healthz", scheme="https",
            subs=[("0.0.0.0", "127.0.0.1"), ("8443", "{port}"), ("cert.pem", "{cert}"),
                  ("key.pem", "{key}")],
            why="loopback instead of every interface, a free port, and a certificate for "
                "127.0.0.1 from the suite's test CA (tests/support/pki.py) instead of yours"),
    "uv run marimo edit notebooks/contract_events.py": Server(
        "/health", add=" --headless --port {port}", why="no browser to open, a free port"),
}

#: exports run with a stated substitution
EXPORT_SUBS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "export CCEE_WEBHOOK_CCEE_URL=http://127.0.0.1:8880 CCEE_WEBHOOK_USERNAME=demo.integracao "
    "CCEE_WEBHOOK_PASSWORD=local-only CCEE_WEBHOOK_PERFIL=88888": (
        [("8880", "{port}")], "the simulator's free port (see SERVERS)"),
    "export CCEE_WEBHOOK_TOKENS='12345:long-random-secret'": ([], "as printed"),
    "export CCEE_WEBHOOK_DATA_DIR=./data": (
        [("./data", "{data}")], "a temp folder: the test never writes into the repository"),
}

#: the same command, after the same export line, is run (and its server probed and stopped) by
#: another test
NEXT = "printed under Next: test_every_next_command_runs_as_printed runs it"
COVERED: dict[str, str] = {
    "uv run ccee-webhook demo": "the demo_run fixture runs it, smaller (a default run takes "
                                "about 70 seconds)",
    "uv run dg dev": NEXT,
    "uv run ccee-webhook report": NEXT,
    "uv run marimo run notebooks/delivery_health.py": NEXT,
}

#: not run here, each with the reason
DEPLOYMENT_ONLY: dict[str, str] = {
    "uv run pytest": "the suite itself",
    "uv run ruff check ccee_webhook settings ccee ingest simulator pipelines benchmarks tests && "
    "uv run mypy": "development: .ci/run runs the linters on every CI run",
    "bash .ci/run": "development: CI itself (installs Debian packages, runs everything)",
    "uv run python benchmarks/receiver.py": "development: a benchmark (minutes, needs wrk)",
    "uv run python benchmarks/lake_store.py": "development: a benchmark (minutes, SeaweedFS)",
    "uv run python benchmarks/lake_readers.py": "development: a benchmark (two minutes, "
                                                "SeaweedFS and a scratch venv for httpfs)",
    "uv run --group bench python benchmarks/flatten.py": "development: a benchmark (1M rows)",
    "export DAGSTER_HOME=\"$PWD/dagster_home\" CCEE_WEBHOOK_DATA_DIR=\"$PWD/data\"":
        "your own data, not the demo's: it writes Dagster's instance into the repository's "
        "dagster_home/; the demo's export line (run by every block here) is its tested twin",
    "export CCEE_WEBHOOK_ALERT_WEBHOOK_URL_FILE=/run/secrets/slack-webhook":
        "a deployment's secret file; the channels are tested against real loopback webhook "
        "and SMTP servers in tests/pipelines",
    "export CCEE_WEBHOOK_ALERT_SMTP_PASSWORD_FILE=/run/secrets/smtp": "as above",
    # scaling out: tests/scaleout runs these settings against SeaweedFS and PostgreSQL
    "export CCEE_WEBHOOK_LAKE_URL=s3://ccee-lake/prod": "an S3 bucket: tests/scaleout "
        "(test_high_availability.py) runs receivers with CCEE_WEBHOOK_LAKE_URL on SeaweedFS",
    "export AWS_ENDPOINT_URL=https://s3.example.com": "as above",
    "export AWS_ACCESS_KEY_ID=\"$(cat /run/secrets/s3-key-id)\" "
    "AWS_SECRET_ACCESS_KEY=\"$(cat /run/secrets/s3-secret)\" AWS_REGION=us-east-1":
        "a deployment's secret files; as above",
    "export CCEE_WEBHOOK_TOKENS_FILE=/run/secrets/ccee-tokens "
    "CCEE_WEBHOOK_INSTANCE_ID=rx-$(hostname)": "a deployment's secret file; as above",
    "uv run ccee-webhook serve --host 0.0.0.0 --port 8000": "every interface, behind a load "
        "balancer, on the bucket above: tests/scaleout runs three receivers on SeaweedFS",
    "createdb dagster": "a PostgreSQL server: tests/scaleout starts one with initdb",
    "export DAGSTER_HOME=/srv/dagster_home "
    "DAGSTER_POSTGRES_URL=\"$(cat /run/secrets/dagster-postgres-url)\"":
        "a deployment's folder and secret; tests/scaleout points DAGSTER_POSTGRES_URL at its "
        "PostgreSQL",
    "mkdir -p \"$DAGSTER_HOME\" && cp dagster_home/dagster.postgres.yaml "
    "\"$DAGSTER_HOME\"/dagster.yaml": "as above (/srv needs root)",
    "export CCEE_WEBHOOK_DATA_DIR=/srv/ccee-data CCEE_WEBHOOK_LAKE_URL=s3://ccee-lake/prod":
        "a deployment's folder and bucket; as above",
    "uv run dagster-daemon run -m pipelines.definitions": "the PostgreSQL-backed daemon on the "
        "bucket: tests/scaleout/test_high_availability.py runs it",
    "uv run dagster-webserver -m pipelines.definitions -h 0.0.0.0 -p 3000": "every interface, "
        "on the PostgreSQL instance above; its UI is what `dg dev` serves (probed by the Next "
        "test)",
}


def classified() -> set[str]:
    return set(RUN) | set(SERVERS) | set(EXPORT_SUBS) | set(COVERED) | set(DEPLOYMENT_ONLY)
