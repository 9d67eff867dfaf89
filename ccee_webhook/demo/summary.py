"""What the demo reports at the end: figures read back from the warehouse and CCEE's ledger.

Everything shown is measured, never assumed: the warehouse is opened read-only after Dagster
wrote it, and CCEE's side comes from the simulator's ledger counters. The same structure is
written as JSON (`--json-summary`) for scripts and the end-to-end test.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import duckdb
import msgspec
from rich.console import Console
from rich.table import Table


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
    dias: list[str]
    particoes: list[str]
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
            "SELECT quantile_cont(s, 0.5), quantile_cont(s, 0.95), max(s) FROM ("
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
    """A path as the user would type it: relative to the current folder when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(p)


def render(s: Summary, console: Console) -> None:
    c, w, i = s.ccee, s.armazem, s.injetado
    table = Table(title="ccee-webhook demo: what happened", show_header=True, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("figure", justify="right")
    table.add_column("what it means")
    table.add_row(
        "sent", f"{c.notificacoes}",
        f"notifications CCEE created ({c.tentativas} POST attempts, "
        f"{c.tentativas_201} answered 201)",
    )
    table.add_row(
        "received", f"{w.entregas}",
        f"deliveries stored in the lake, for {w.notificacoes} distinct transactionIds",
    )
    table.add_row(
        "deduplicated", f"{w.deduplicadas}",
        f"repeat deliveries folded into one row ({c.respostas_201_perdidas} 201 answers "
        "were lost on the way back, so CCEE re-sent)",
    )
    table.add_row(
        "quarantined", f"{w.quarentena}",
        f"rejected requests: {len(i.invalidos)} invalid callback(s), each re-sent by CCEE "
        f"every 5 min for 24 h (expected {i.quarentena_esperada} from this run)",
    )
    table.add_row(
        "expired", f"{c.expirado}",
        f"EXPIRADO after {c.max_tentativas} attempts: {i.codigo_aposentado} still points at "
        "a decommissioned receiver, plus the invalid callbacks",
    )
    table.add_row(
        "delivered", f"{c.notificado}",
        f"NOTIFICADO; delivery rate {w.taxa_entrega:.1%}" if w.taxa_entrega is not None
        else "NOTIFICADO",
    )
    outage = (
        f"the receiver was down {i.outage_inicio} → {i.outage_fim} CCEE time, "
        f"{i.notificacoes_na_fila_ao_religar} waiting at restart"
        if i.outage_inicio != "-" else "no receiver outage"
    )
    table.add_row(
        "CCEE latency", f"p50 {_duration(w.latencia_ccee_p50_s)}",
        f"p95 {_duration(w.latencia_ccee_p95_s)}, max {_duration(w.latencia_ccee_max_s)} "
        f"(dataNotificacao − dataOrigem; {outage}; with CCEE time {s.escala:g}× faster, "
        f"each real millisecond of delivery counts {s.escala / 1000:g} CCEE seconds)",
    )
    table.add_row(
        "SLA check", f"{w.sla_notificado_ausente_no_lago}",
        "notifications CCEE reports delivered but absent from the lake "
        f"(lake rows without a CCEE result: {w.sla_no_lago_sem_resultado})",
    )
    console.print(table)
    if s.acumulado:
        console.print(
            "[yellow]--keep:[/] the figures include the earlier demo runs kept in this folder"
        )
    data = _rel(s.data_dir)
    console.print(f"[bold]Warehouse[/]  {_rel(s.warehouse)}  (tables: {', '.join(w.tabelas)})")
    console.print(f"[bold]Lake[/]       {_rel(s.lake)}")
    for r in s.reports:
        console.print(f"[bold]Report[/]     {_rel(r)}")
    console.print(f"[bold]CCEE ledger[/] {_rel(s.simulator_db)}  (the simulator's SQLite)")
    console.print(f"[bold]Logs[/]       {_rel(s.logs)}")
    for line in s.alertas:
        console.print(f"[bold]Alert[/]      {line}", soft_wrap=True)
    if s.checks_falhos:
        console.print(f"[yellow]Dagster checks that did not pass:[/] {', '.join(s.checks_falhos)}")
    total = sum(s.segundos.values())
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in s.segundos.items())
    console.print(f"[dim]wall time {total:.1f} s ({phases})[/]")
    q = shlex.quote
    console.print("\n[bold]Next[/]")
    console.print("  # the assets, their runs and checks, in Dagster's UI:", style="dim")
    console.print(
        f"  DAGSTER_HOME={q(_rel(s.dagster_home))} CCEE_WEBHOOK_DATA_DIR={q(data)} uv run dg dev",
        soft_wrap=True, markup=False,
    )
    console.print("  # the delivery-health dashboard (live, read-only):", style="dim")
    console.print(
        f"  CCEE_WEBHOOK_DATA_DIR={q(data)} uv run marimo run notebooks/delivery_health.py",
        soft_wrap=True, markup=False,
    )
    console.print("  # ask the warehouse directly (DuckDB, read-only):", style="dim")
    sql = (
        "SELECT dia, evento_notificacao, notificacoes, notificado, expirado, "
        "latencia_ccee_p95_s FROM sla_entrega ORDER BY ALL"
    )
    wh = _rel(s.warehouse)
    code = f'import duckdb; duckdb.connect("{wh}", read_only=True).sql("{sql}").show()'
    shown = f"'{code}'" if "'" not in code and '"' not in wh else q(code)
    console.print(f"  uv run python -c {shown}", soft_wrap=True, markup=False)
