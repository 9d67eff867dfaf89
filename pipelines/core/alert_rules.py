"""Alert rules: what is wrong *now*, as conditions with a stable incident key.

Each rule is a pure function of the warehouse (parameterised DuckDB SQL) or of facts read from
the Dagster instance, evaluated at an instant `now`. A rule returns the conditions that hold;
`pipelines.core.incidents` turns their appearance and disappearance into one "aberto" and one
"resolvido" alert per incident. Time comparisons use CCEE's own timestamps (dataOrigem,
dataNotificacao) and the lake's receipt times, so a rule can also be evaluated as of a past
instant (the demo does, to show its outage).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import duckdb
import msgspec

from settings.alerts import AlertSettings

DATA_LOSS = "perda_de_dados"
EXPIRATION = "expiracao"
SILENCE = "silencio"
QUARANTINE_SPIKE = "quarentena_em_alta"
PULL_FAILING = "coleta_de_resultados_falhando"
FAILED_CHECK = "check_falhou"

#: rules evaluated on the warehouse; the other two need the Dagster instance
WAREHOUSE_RULES = (DATA_LOSS, EXPIRATION, SILENCE, QUARANTINE_SPIKE)

#: a notification stays open at CCEE this long (CCEE re-sends every 5 min for 24 h)
DELIVERY_WINDOW = timedelta(hours=24)


class Condition(msgspec.Struct, frozen=True, kw_only=True):
    """A rule that holds at `now`: what an operator needs to decide what to do."""

    regra: str
    #: the incident key: stable while the same problem lasts (rule + scope, never a count)
    chave: str
    titulo: str
    contagem: int
    perfil: str | None = None
    primeiro_transaction_id: str | None = None
    ultimo_transaction_id: str | None = None
    primeiro_em: datetime | None = None
    ultimo_em: datetime | None = None
    #: the query to open (DuckDB, on the warehouse) to see the affected rows
    consulta: str | None = None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }


def data_loss(
    con: duckdb.DuckDBPyConnection, now: datetime, s: AlertSettings
) -> list[Condition]:
    """NOTIFICADO at CCEE (longer ago than the grace period) but absent from the lake."""
    if not {"resultados_notificacao", "notificacoes"} <= _tables(con):
        return []
    rows = con.execute(
        """
        WITH r AS (
            SELECT perfil, transaction_id, coalesce(data_notificacao, atualizado_em) AS t
            FROM resultados_notificacao
            WHERE situacao = 'NOTIFICADO' AND dia >= ?
        )
        SELECT perfil, count(*), arg_min(transaction_id, t), arg_max(transaction_id, t),
               min(t), max(t)
        FROM r
        WHERE t < ? AND NOT EXISTS (
            SELECT 1 FROM notificacoes n WHERE n.transaction_id = r.transaction_id)
        GROUP BY perfil ORDER BY perfil
        """,
        [
            (now - timedelta(days=s.lookback_days)).date(),
            now - timedelta(minutes=s.data_loss_grace_minutes),
        ],
    ).fetchall()
    return [
        Condition(
            regra=DATA_LOSS,
            chave=f"{DATA_LOSS}:{perfil}",
            perfil=perfil,
            titulo=f"{n} notification(s) CCEE reports as delivered (NOTIFICADO) are absent "
            f"from the lake (perfil {perfil})",
            contagem=int(n),
            primeiro_transaction_id=t0,
            ultimo_transaction_id=t1,
            primeiro_em=a,
            ultimo_em=b,
            consulta="SELECT r.* FROM resultados_notificacao r WHERE r.situacao = 'NOTIFICADO' "
            f"AND r.perfil = '{perfil}' AND r.transaction_id NOT IN "
            "(SELECT transaction_id FROM notificacoes) ORDER BY r.data_notificacao",
        )
        for perfil, n, t0, t1, a, b in rows
    ]


def expirations(
    con: duckdb.DuckDBPyConnection, now: datetime, s: AlertSettings
) -> list[Condition]:
    """Notifications that expired (24 h of retries without a 201) within the window."""
    if "resultados_notificacao" not in _tables(con):
        return []
    window = int(DELIVERY_WINDOW.total_seconds())
    rows = con.execute(
        f"""
        WITH r AS (
            SELECT perfil, transaction_id, evento_notificacao,
                   coalesce(data_origem + INTERVAL {window} SECOND, atualizado_em) AS t
            FROM resultados_notificacao
            WHERE situacao = 'EXPIRADO'
               OR (situacao = 'AGUARDANDO_NOTIFICACAO'
                   AND data_origem + INTERVAL {window} SECOND <= ?)
        )
        SELECT perfil, count(*), arg_min(transaction_id, t), arg_max(transaction_id, t),
               min(t), max(t), string_agg(DISTINCT evento_notificacao, ', ')
        FROM r WHERE t > ? AND t <= ?
        GROUP BY perfil ORDER BY perfil
        """,
        [now, now - timedelta(hours=s.expiration_window_hours), now],
    ).fetchall()
    return [
        Condition(
            regra=EXPIRATION,
            chave=f"{EXPIRATION}:{perfil}",
            perfil=perfil,
            titulo=f"{n} notification(s) expired at CCEE after 24 h of retries (perfil "
            f"{perfil}; {codigos})",
            contagem=int(n),
            primeiro_transaction_id=t0,
            ultimo_transaction_id=t1,
            primeiro_em=a,
            ultimo_em=b,
            consulta="SELECT * FROM resultados_notificacao WHERE situacao = 'EXPIRADO' "
            f"AND perfil = '{perfil}' ORDER BY data_origem DESC",
        )
        for perfil, n, t0, t1, a, b, codigos in rows
    ]


def silence(con: duckdb.DuckDBPyConnection, now: datetime, s: AlertSettings) -> list[Condition]:
    """No delivery received for `silence_minutes` while CCEE has notifications waiting that
    long, or reports sends in that time: the receiver is down or unreachable."""
    if not {"resultados_notificacao", "notificacoes"} <= _tables(con):
        return []
    since = now - timedelta(minutes=s.silence_minutes)
    window = int(DELIVERY_WINDOW.total_seconds())
    (received,) = con.execute(  # type: ignore[misc]
        """SELECT count(*) FROM notificacoes
           WHERE (primeiro_recebimento > ? AND primeiro_recebimento <= ?)
              OR (ultimo_recebimento > ? AND ultimo_recebimento <= ?)""",
        [since, now, since, now],
    ).fetchone()
    if received:
        return []
    rows = con.execute(
        f"""
        WITH r AS (
            SELECT perfil, transaction_id, data_origem AS t FROM resultados_notificacao
            WHERE data_origem <= ? AND data_origem + INTERVAL {window} SECOND > ?
              AND NOT (situacao = 'NOTIFICADO' AND data_notificacao <= ?)
            UNION ALL
            SELECT perfil, transaction_id, data_notificacao AS t FROM resultados_notificacao
            WHERE situacao = 'NOTIFICADO' AND data_notificacao > ? AND data_notificacao <= ?
        )
        SELECT perfil, count(DISTINCT transaction_id), arg_min(transaction_id, t),
               arg_max(transaction_id, t), min(t), max(t)
        FROM r GROUP BY perfil ORDER BY perfil
        """,
        [since, now, now, since, now],
    ).fetchall()
    return [
        Condition(
            regra=SILENCE,
            chave=f"{SILENCE}:{perfil}",
            perfil=perfil,
            titulo=f"no delivery received for {s.silence_minutes:g} min while CCEE has {n} "
            f"notification(s) waiting or sent (perfil {perfil}): is the receiver reachable?",
            contagem=int(n),
            primeiro_transaction_id=t0,
            ultimo_transaction_id=t1,
            primeiro_em=a,
            ultimo_em=b,
            consulta="SELECT max(ultimo_recebimento) FROM notificacoes; "
            "SELECT situacao, count(*) FROM resultados_notificacao "
            f"WHERE perfil = '{perfil}' GROUP BY ALL",
        )
        for perfil, n, t0, t1, a, b in rows
    ]


def quarantine_spike(
    con: duckdb.DuckDBPyConnection, now: datetime, s: AlertSettings
) -> list[Condition]:
    """At least `quarantine_spike` rejected requests within the window (bodies never shown)."""
    if "quarentena" not in _tables(con):
        return []
    row = con.execute(
        """SELECT count(*), min(recebido_em), max(recebido_em) FROM quarentena
           WHERE recebido_em > ? AND recebido_em <= ?""",
        [now - timedelta(minutes=s.quarantine_window_minutes), now],
    ).fetchone()
    assert row is not None
    n, a, b = row
    if n < s.quarantine_spike:
        return []
    motivos = con.execute(
        """SELECT motivo, count(*) FROM quarentena WHERE recebido_em > ? AND recebido_em <= ?
           GROUP BY motivo ORDER BY count(*) DESC, motivo LIMIT 5""",
        [now - timedelta(minutes=s.quarantine_window_minutes), now],
    ).fetchall()
    detail = ", ".join(f"{m} {c}" for m, c in motivos)
    return [
        Condition(
            regra=QUARANTINE_SPIKE,
            chave=QUARANTINE_SPIKE,
            titulo=f"{n} requests quarantined in {s.quarantine_window_minutes:g} min "
            f"(threshold {s.quarantine_spike}): {detail}",
            contagem=int(n),
            primeiro_em=a,
            ultimo_em=b,
            consulta="SELECT motivo, count(*) FROM quarentena WHERE recebido_em > now() - "
            f"INTERVAL {int(s.quarantine_window_minutes)} MINUTE GROUP BY ALL ORDER BY 2 DESC",
        )
    ]


def evaluate_warehouse(
    con: duckdb.DuckDBPyConnection, now: datetime, s: AlertSettings
) -> list[Condition]:
    """Every warehouse rule at `now` (a missing table means nothing to alert on yet)."""
    return [
        *data_loss(con, now, s),
        *expirations(con, now, s),
        *silence(con, now, s),
        *quarantine_spike(con, now, s),
    ]


def pull_failing(
    failures: Sequence[datetime], last_success: datetime | None, now: datetime, s: AlertSettings
) -> list[Condition]:
    """The results pull has failed since its last success for `pull_failing_minutes` or more.

    `failures` are the start times of failed pull runs (any order)."""
    since = sorted(f for f in failures if last_success is None or f > last_success)
    if not since or now - since[0] < timedelta(minutes=s.pull_failing_minutes):
        return []
    last = "never" if last_success is None else last_success.isoformat(timespec="minutes")
    return [
        Condition(
            regra=PULL_FAILING,
            chave=PULL_FAILING,
            titulo=f"CCEE's results pull has failed {len(since)} time(s) since "
            f"{since[0].isoformat(timespec='minutes')} (last success: {last}); the data-loss "
            "and expiration rules are blind meanwhile",
            contagem=len(since),
            primeiro_em=since[0],
            ultimo_em=since[-1],
            consulta="dg dev → Runs → results_job (failed runs show the error)",
        )
    ]


class CheckOutcome(msgspec.Struct, frozen=True):
    """The latest evaluation of one asset check, read from the Dagster instance."""

    asset: str
    check: str
    passed: bool
    em: datetime
    partition: str | None = None


def failed_checks(outcomes: Iterable[CheckOutcome]) -> list[Condition]:
    """One incident per asset check whose latest evaluation did not pass."""
    return [
        Condition(
            regra=FAILED_CHECK,
            chave=f"{FAILED_CHECK}:{o.asset}:{o.check}",
            titulo=f"asset check {o.check} on {o.asset} did not pass"
            + (f" (partition {o.partition})" if o.partition else ""),
            contagem=1,
            primeiro_em=o.em,
            ultimo_em=o.em,
            consulta=f"dg dev → Assets → {o.asset} → Checks → {o.check}",
        )
        for o in sorted(outcomes, key=lambda o: (o.asset, o.check))
        if not o.passed
    ]
