"""What the demo reports at the end: figures read back from the warehouse and CCEE's ledger.

Everything shown is measured, never assumed: the warehouse is opened read-only after Dagster
wrote it, and CCEE's side comes from the simulator's ledger counters. The same structure is
written as JSON (`--json-summary`) for scripts and the end-to-end test.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import msgspec
from rich.console import Console
from rich.table import Table

from ccee.domain import lifecycle


class CceeSide(msgspec.Struct, frozen=True):
    """CCEE's ledger (the simulator) once the dispatcher went idle."""

    notificacoes: int
    notificado: int
    expirado: int
    aguardando: int
    tentativas: int
    tentativas_201: int
    respostas_201_perdidas: int
    max_tentativas: int


class InjectedAnomaly(msgspec.Struct, frozen=True):
    """A contract lifecycle anomaly the simulator's generator injected on purpose (its truth,
    read before the simulator stops), for one profile that received the contract's events."""

    perfil: str
    id_contrato: int
    #: the reason `contratos.anomalia` gives for this break (ccee.domain.lifecycle.motivo)
    motivo: str
    tipo: str
    de: str
    para: str
    #: DATA_ORIGEM_EVENTO of the event that breaks the lifecycle
    data_origem: str


class Injected(msgspec.Struct, frozen=True):
    """What the demo did on purpose, with the transaction ids CCEE gave it."""

    invalidos: list[str]
    #: quarantine rows expected: attempts of the invalid callbacks the receiver answered
    quarentena_esperada: int
    codigo_aposentado: str
    endereco_aposentado: str
    outage_inicio: str
    outage_fim: str
    notificacoes_na_fila_ao_religar: int
    #: the generator's lifecycle anomaly rate and the anomalies it injected
    taxa_anomalias: float = 0.0
    anomalias: list[InjectedAnomaly] = msgspec.field(default_factory=list)


class WarehouseSide(msgspec.Struct, frozen=True):
    entregas: int
    notificacoes: int
    deduplicadas: int
    quarentena: int
    sla_notificacoes: int
    sla_notificado: int
    sla_aguardando: int
    sla_expirado: int
    sla_outros: int
    sla_notificado_ausente_no_lago: int
    sla_no_lago_sem_resultado: int
    latencia_ccee_p50_s: float | None
    latencia_ccee_p95_s: float | None
    latencia_ccee_max_s: float | None
    taxa_entrega: float | None
    tabelas: list[str]
    #: rows of `contratos` whose `anomalia` is set (the contract report's "Com anomalia")
    contratos_com_anomalia: int = 0


class Summary(msgspec.Struct, frozen=True):
    data_dir: str
    #: where the children listened (both stopped when the summary is printed)
    simulator_url: str
    receiver_url: str
    warehouse: str
    lake: str
    reports: list[str]
    simulator_db: str
    logs: str
    dagster_home: str
    #: CCEE days generated (all but the last replayed quickly; the last ran live)
    dias: list[str]
    particoes: list[str]
    #: the first day partition of the demo's Dagster definitions (its TOML file)
    inicio_particoes: str
    #: CCEE seconds per real second while the day ran
    escala: float
    ccee: CceeSide
    injetado: Injected
    armazem: WarehouseSide
    checks_falhos: list[str]
    dagster_runs: list[str]
    segundos: dict[str, float]
    #: True when --keep added this run to an earlier one (warehouse figures are cumulative)
    acumulado: bool = False
    #: the demo's TOML file (data folder, partitions start), for the commands under "Next"
    config: str = ""
    #: alerts raised by the rules (as of the outage, then of the end), "estado chave at: what"
    alertas: list[str] = msgspec.field(default_factory=list)


def read_warehouse(path: Path) -> WarehouseSide:
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")

        def one(sql: str) -> tuple[object, ...]:
            row = con.execute(sql).fetchone()
            assert row is not None
            return tuple(row)

        entregas, notificacoes = one(
            "SELECT coalesce(sum(entregas), 0), count(*) FROM notificacoes"
        )
        (quarentena,) = one("SELECT count(*) FROM quarentena")
        sla = one(
            "SELECT coalesce(sum(notificacoes), 0), coalesce(sum(notificado), 0), "
            "coalesce(sum(aguardando), 0), coalesce(sum(expirado), 0), coalesce(sum(outros), 0), "
            "coalesce(sum(notificado_ausente_no_lago), 0), coalesce(sum(no_lago_sem_resultado), 0) "
            "FROM sla_entrega"
        )
        lat = one(
            "SELECT round(quantile_cont(s, 0.5), 1), round(quantile_cont(s, 0.95), 1), "
            "round(max(s), 1) FROM ("
            "SELECT (epoch_us(data_notificacao) - epoch_us(data_origem)) / 1e6 AS s "
            "FROM resultados_notificacao WHERE situacao = 'NOTIFICADO')"
        )
        tabelas = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_name NOT LIKE '\\_%' ESCAPE '\\' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        (com_anomalia,) = (
            one("SELECT count(anomalia) FROM contratos") if "contratos" in tabelas else (0,)
        )
    finally:
        con.close()
    n_sla, notificado = int(sla[0]), int(sla[1])  # type: ignore[call-overload]

    def opt(v: object) -> float | None:
        return None if v is None else float(v)  # type: ignore[arg-type]

    return WarehouseSide(
        entregas=int(entregas),  # type: ignore[call-overload]
        notificacoes=int(notificacoes),  # type: ignore[call-overload]
        deduplicadas=int(entregas) - int(notificacoes),  # type: ignore[call-overload]
        quarentena=int(quarentena),  # type: ignore[call-overload]
        sla_notificacoes=n_sla,
        sla_notificado=notificado,
        sla_aguardando=int(sla[2]),  # type: ignore[call-overload]
        sla_expirado=int(sla[3]),  # type: ignore[call-overload]
        sla_outros=int(sla[4]),  # type: ignore[call-overload]
        sla_notificado_ausente_no_lago=int(sla[5]),  # type: ignore[call-overload]
        sla_no_lago_sem_resultado=int(sla[6]),  # type: ignore[call-overload]
        latencia_ccee_p50_s=opt(lat[0]),
        latencia_ccee_p95_s=opt(lat[1]),
        latencia_ccee_max_s=opt(lat[2]),
        taxa_entrega=notificado / n_sla if n_sla else None,
        tabelas=tabelas,
        contratos_com_anomalia=int(com_anomalia),  # type: ignore[call-overload]
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _rel(path: str) -> str:
    """A path as the user would type it: `$PWD/…` when inside the current folder (so it is
    absolute, as DAGSTER_HOME must be, and still short), else the absolute path."""
    p = Path(path).resolve()
    try:
        inside = p.relative_to(Path.cwd().resolve())
    except ValueError:
        return shlex.quote(str(p))
    return '"$PWD"' if str(inside) == "." else f'"$PWD"/{shlex.quote(str(inside))}'


def _shown(path: str) -> str:
    """A path for the eye (relative when inside the current folder)."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(p)


#: One row of the summary table: (label, figure, what it means); None leaves the row out.
Row = tuple[str, str, str] | None


def _sent(s: Summary) -> Row:
    c = s.ccee
    return ("sent", f"{c.notificacoes}", f"notifications CCEE created over {len(s.dias)} CCEE "
            f"day(s) ({c.tentativas} POST attempts, {c.tentativas_201} answered 201)")


def _received(s: Summary) -> Row:
    w = s.armazem
    return ("received", f"{w.entregas}",
            f"deliveries stored in the lake, for {w.notificacoes} distinct transactionIds")


def _deduplicated(s: Summary) -> Row:
    return ("deduplicated", f"{s.armazem.deduplicadas}",
            f"repeat deliveries folded into one row ({s.ccee.respostas_201_perdidas} 201 "
            "answers were lost on the way back, so CCEE re-sent)")


def _quarantined(s: Summary) -> Row:
    i = s.injetado
    return ("quarantined", f"{s.armazem.quarentena}",
            f"rejected requests: {len(i.invalidos)} invalid callback(s), each re-sent by CCEE "
            f"every 5 min for 24 h (expected {i.quarentena_esperada} from this run)")


def _expired(s: Summary) -> Row:
    return ("expired", f"{s.ccee.expirado}",
            f"EXPIRADO after {s.ccee.max_tentativas} attempts: {s.injetado.codigo_aposentado} "
            "still points at a decommissioned receiver, plus the invalid callbacks")


#: the lifecycle's kinds of anomaly, as the summary names them
KINDS = {
    lifecycle.TRANSICAO_NAO_PREVISTA: "transition(s) not allowed",
    lifecycle.APOS_TERMINAL: "event(s) after a terminal state",
}


def _anomalies(s: Summary) -> Row:
    i = s.injetado
    kinds = ", ".join(
        f"{n} {KINDS.get(tipo, tipo)}"
        for tipo, n in sorted(Counter(a.tipo for a in i.anomalias).items())
    )
    return ("anomalies", f"{len(i.anomalias)}",
            "contract lifecycle anomalies injected on purpose" + (f" ({kinds})" if kinds else "")
            + f"; the contract report (table contratos) lists {s.armazem.contratos_com_anomalia},"
            " each with its reason")


def _delivered(s: Summary) -> Row:
    w = s.armazem
    rate = f"; delivery rate {w.taxa_entrega:.1%}" if w.taxa_entrega is not None else ""
    return ("delivered", f"{s.ccee.notificado}", f"NOTIFICADO{rate}")


def _latency(s: Summary) -> Row:
    w, i = s.armazem, s.injetado
    outage = (
        f"the receiver was down {i.outage_inicio} → {i.outage_fim} CCEE time, "
        f"{i.notificacoes_na_fila_ao_religar} waiting at restart"
        if i.outage_inicio != "-" else "no receiver outage"
    )
    return ("CCEE latency", f"p50 {_duration(w.latencia_ccee_p50_s)}",
            f"p95 {_duration(w.latencia_ccee_p95_s)}, max {_duration(w.latencia_ccee_max_s)} "
            f"(dataNotificacao − dataOrigem; {outage}; the live day ran {s.escala:g}× faster "
            "than real time, earlier days were replayed in 5-minute ticks)")


def _sla(s: Summary) -> Row:
    w = s.armazem
    return ("SLA check", f"{w.sla_notificado_ausente_no_lago}",
            "notifications CCEE reports delivered but absent from the lake "
            f"(lake rows without a CCEE result: {w.sla_no_lago_sem_resultado})")


#: The summary table, in order. A new figure is a `Summary` field (with a default) and one
#: function here.
ROWS: list[Callable[[Summary], Row]] = [
    _sent, _received, _deduplicated, _quarantined, _expired, _anomalies, _delivered, _latency,
    _sla,
]

SLA_QUERY = (
    "SELECT dia, evento_notificacao, notificacoes, notificado, expirado, "
    "round(latencia_ccee_p95_s, 1) AS latencia_ccee_p95_s FROM sla_entrega ORDER BY ALL"
)


def next_steps(s: Summary) -> list[tuple[str, str]]:
    """(comment, shell command) pairs printed under "Next": each runs as printed from the
    folder the demo ran in, in one shell, in order (the first sets the environment)."""
    data = _rel(s.data_dir)
    config = _rel(s.config) if s.config else f"{data}/ccee-webhook.toml"
    code = (
        "import duckdb, settings; duckdb.connect(settings.warehouse_path(), read_only=True)"
        f'.sql("{SLA_QUERY}").show()'
    )
    return [
        ("point this shell at the demo's data (its own settings file and Dagster instance):",
         f"export CCEE_WEBHOOK_DATA_DIR={data} CCEE_WEBHOOK_CONFIG={config} "
         f"DAGSTER_HOME={_rel(s.dagster_home)}"),
        ("the assets, their runs and checks, in Dagster's UI (http://127.0.0.1:3000):",
         "uv run dg dev"),
        ("the HTML reports again, from the demo's warehouse:",
         "uv run ccee-webhook report"),
        ("the delivery-health dashboard (live, read-only):",
         "uv run marimo run notebooks/delivery_health.py"),
        ("ask the warehouse directly (DuckDB's Python API, read-only):",
         f"uv run python -c {shlex.quote(code)}"),
    ]


def render(s: Summary, console: Console) -> None:
    table = Table(title="ccee-webhook demo: what happened", show_header=True, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("figure", justify="right")
    table.add_column("what it means")
    for row in ROWS:
        line = row(s)
        if line is not None:
            table.add_row(*line)
    console.print(table)
    if s.acumulado:
        console.print(
            "[yellow]--keep:[/] the figures include the earlier demo runs kept in this folder"
        )
    w = s.armazem
    console.print(
        f"[bold]Days[/]       {s.dias[0]} … {s.dias[-1]} ({len(s.dias)} CCEE days; Dagster "
        f"partitions {s.particoes[0]} … {s.particoes[-1]}, all materialized)"
        if s.dias and s.particoes else "[bold]Days[/]       -"
    )
    console.print(f"[bold]Warehouse[/]  {_shown(s.warehouse)}  (tables: {', '.join(w.tabelas)})")
    console.print(f"[bold]Lake[/]       {_shown(s.lake)}")
    for r in s.reports:
        console.print(f"[bold]Report[/]     {_shown(r)}")
    console.print(f"[bold]CCEE ledger[/] {_shown(s.simulator_db)}  (the simulator's SQLite)")
    console.print(f"[bold]Logs[/]       {_shown(s.logs)}")
    for alert in s.alertas:
        console.print(f"[bold]Alert[/]      {alert}", soft_wrap=True)
    if s.checks_falhos:
        console.print(f"[yellow]Dagster checks that did not pass:[/] {', '.join(s.checks_falhos)}")
    total = sum(s.segundos.values())
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in s.segundos.items())
    console.print(f"[dim]wall time {total:.1f} s ({phases})[/]")
    console.print("\n[bold]Next[/]")
    for comment, command in next_steps(s):
        console.print(f"  # {comment}", style="dim", markup=False)
        console.print(f"  {command}", soft_wrap=True, markup=False)
