"""One alert per incident, and an outbox so a channel that is down gets the alert later.

State lives in `alerts_state.sqlite3` in the data folder (stdlib sqlite3, WAL mode), so the
Dagster daemon's sensor and a one-off evaluation (the demo, a test) share it safely:

- `incidentes`: the incidents open now, keyed by the rules' stable `chave`, with the latest
  condition seen (counts grow silently while the incident stays open: no repeat);
- `outbox`: one row per (alert, external channel), sent at most `max_messages_per_hour` per
  channel per hour, retried with exponential backoff when the channel fails.

Opening/resolving an incident, queueing its messages and appending it to `alerts.jsonl`
happen under one write transaction, so two evaluators never raise the same alert twice.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from pipelines.core import alerts_log
from pipelines.core.alert_channels import Channel, ChannelError, text
from pipelines.core.alert_rules import Condition
from pipelines.core.alerts_log import Alert

FILE_NAME = "alerts_state.sqlite3"
#: first retry after this, doubling up to RETRY_MAX_S
RETRY_BASE_S = 60.0
RETRY_MAX_S = 3600.0
#: a claimed outbox row is invisible to other senders this long (a sender that died mid-send)
LEASE_S = 300.0
#: sent outbox rows are kept this long (rate limiting looks back one hour)
KEEP_SENT_S = 7 * 86400.0

DDL = """
CREATE TABLE IF NOT EXISTS incidentes (
    chave TEXT PRIMARY KEY,
    regra TEXT NOT NULL,
    aberto_em TEXT NOT NULL,
    condicao TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    canal TEXT NOT NULL,
    alerta TEXT NOT NULL,
    criado_em REAL NOT NULL,
    tentativas INTEGER NOT NULL DEFAULT 0,
    proxima_em REAL NOT NULL,
    ultimo_erro TEXT,
    enviado_em REAL
);
CREATE INDEX IF NOT EXISTS outbox_pendentes ON outbox (canal, enviado_em, proxima_em);
"""

_cond_dec = msgspec.json.Decoder(Condition)
_alert_dec = msgspec.json.Decoder(Alert)


class Delivery(msgspec.Struct, frozen=True):
    """What one outbox flush did, per channel."""

    enviados: dict[str, int]
    falhas: dict[str, str]
    pendentes: dict[str, int]


def scrub(value: str, secrets: Collection[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        if s:
            value = value.replace(s, "***")
    return value


def scrub_condition(c: Condition, secrets: Collection[str]) -> Condition:
    """Every text field of a condition with the secrets masked (keys included, so the state
    file never holds one either)."""
    changes = {
        f: scrub(v, secrets)
        for f in c.__struct_fields__
        if isinstance(v := getattr(c, f), str)
    }
    return msgspec.structs.replace(c, **changes)


class IncidentStore:
    def __init__(self, data_dir: str | Path, secrets: Collection[str] = ()) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.data_dir = Path(data_dir)
        self.secrets = tuple(secrets)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(DDL)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _alert(
        self, c: Condition, estado: alerts_log.Estado, now: datetime, aberto_em: datetime,
        painel: str | None,
    ) -> Alert:
        s = self.secrets
        draft = Alert(
            id=uuid.uuid4().hex,
            chave=c.chave,
            regra=c.regra,
            estado=estado,
            em=now,
            aberto_em=aberto_em,
            resolvido_em=now if estado == "resolvido" else None,
            titulo=scrub(c.titulo, s),
            texto="",
            contagem=c.contagem,
            perfil=c.perfil,
            primeiro_transaction_id=c.primeiro_transaction_id,
            ultimo_transaction_id=c.ultimo_transaction_id,
            primeiro_em=c.primeiro_em,
            ultimo_em=c.ultimo_em,
            consulta=scrub(c.consulta, s) if c.consulta else None,
            painel=painel,
        )
        return msgspec.structs.replace(draft, texto=scrub(text(draft), s))

    def reconcile(
        self,
        conditions: Sequence[Condition],
        evaluated: Collection[str],
        now: datetime,
        channels: Iterable[str] = (),
        painel: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> list[Alert]:
        """Open incidents for new conditions, resolve those of `evaluated` rules that no longer
        hold, and queue the resulting alerts for `channels`; returns the new alerts.

        Rules not in `evaluated` (they could not run this time) keep their incidents as is."""
        now = now.astimezone(UTC)
        channels = list(channels)
        by_key = {c.chave: c for c in (scrub_condition(x, self.secrets) for x in conditions)}
        out: list[Alert] = []
        with self._write() as con:
            open_rows = {
                k: (regra, datetime.fromisoformat(t), _cond_dec.decode(cond))
                for k, regra, t, cond in con.execute(
                    "SELECT chave, regra, aberto_em, condicao FROM incidentes"
                )
            }
            for key, c in by_key.items():
                if key in open_rows:
                    con.execute(
                        "UPDATE incidentes SET condicao = ? WHERE chave = ?",
                        [msgspec.json.encode(c).decode(), key],
                    )
                    continue
                con.execute(
                    "INSERT INTO incidentes VALUES (?, ?, ?, ?)",
                    [key, c.regra, now.isoformat(), msgspec.json.encode(c).decode()],
                )
                out.append(self._alert(c, "aberto", now, now, painel))
            for key, (regra, aberto_em, last) in open_rows.items():
                if regra in evaluated and key not in by_key:
                    con.execute("DELETE FROM incidentes WHERE chave = ?", [key])
                    out.append(self._alert(last, "resolvido", now, aberto_em, painel))
            queued_at = clock()
            for a in out:
                encoded = msgspec.json.encode(a).decode()
                for ch in channels:
                    con.execute(
                        "INSERT INTO outbox (canal, alerta, criado_em, proxima_em) "
                        "VALUES (?, ?, ?, ?)",
                        [ch, encoded, queued_at, queued_at],
                    )
            alerts_log.append(self.data_dir, out)
        return out

    def open_keys(self) -> dict[str, datetime]:
        with self._connect() as con:
            return {
                k: datetime.fromisoformat(t)
                for k, t in con.execute("SELECT chave, aberto_em FROM incidentes")
            }

    def flush(
        self,
        channels: Sequence[Channel],
        max_per_hour: int,
        clock: Callable[[], float] = time.time,
    ) -> Delivery:
        """Send what is due, oldest first, within each channel's hourly budget; a failure
        postpones the rest of that channel to its next retry. Never raises for a channel."""
        enviados: dict[str, int] = {}
        falhas: dict[str, str] = {}
        for ch in channels:
            now = clock()
            with self._connect() as con:
                (sent,) = con.execute(
                    "SELECT count(*) FROM outbox WHERE canal = ? AND enviado_em > ?",
                    [ch.name, now - 3600.0],
                ).fetchone()
                due = con.execute(
                    "SELECT id, alerta, tentativas FROM outbox WHERE canal = ? "
                    "AND enviado_em IS NULL AND proxima_em <= ? ORDER BY id LIMIT ?",
                    [ch.name, now, max(0, max_per_hour - sent)],
                ).fetchall()
            enviados[ch.name] = 0
            for row_id, encoded, tentativas in due:
                if not self._claim(row_id, clock()):
                    continue  # another evaluator is sending it
                try:
                    ch.send(_alert_dec.decode(encoded))
                except ChannelError as exc:
                    self._failed(row_id, tentativas + 1, scrub(str(exc), self.secrets), clock())
                    falhas[ch.name] = scrub(str(exc), self.secrets)
                    break
                except Exception as exc:  # a bug in a channel must not stop the pipeline
                    msg = f"{type(exc).__name__}"
                    self._failed(row_id, tentativas + 1, msg, clock())
                    falhas[ch.name] = msg
                    break
                self._sent(row_id, clock())
                enviados[ch.name] += 1
        with self._write() as con:
            con.execute(
                "DELETE FROM outbox WHERE enviado_em IS NOT NULL AND enviado_em < ?",
                [clock() - KEEP_SENT_S],
            )
        return Delivery(enviados, falhas, self.pending())

    def pending(self) -> dict[str, int]:
        with self._connect() as con:
            return dict(
                con.execute(
                    "SELECT canal, count(*) FROM outbox WHERE enviado_em IS NULL GROUP BY canal"
                ).fetchall()
            )

    def _claim(self, row_id: int, now: float) -> bool:
        with self._write() as con:
            cur = con.execute(
                "UPDATE outbox SET proxima_em = ? WHERE id = ? AND enviado_em IS NULL "
                "AND proxima_em <= ?",
                [now + LEASE_S, row_id, now],
            )
            return cur.rowcount == 1

    def _sent(self, row_id: int, now: float) -> None:
        with self._write() as con:
            con.execute(
                "UPDATE outbox SET enviado_em = ?, ultimo_erro = NULL WHERE id = ?", [now, row_id]
            )

    def _failed(self, row_id: int, tentativas: int, erro: str, now: float) -> None:
        delay = min(RETRY_BASE_S * 2 ** (tentativas - 1), RETRY_MAX_S)
        with self._write() as con:
            con.execute(
                "UPDATE outbox SET tentativas = ?, proxima_em = ?, ultimo_erro = ? WHERE id = ?",
                [tentativas, now + delay, erro, row_id],
            )

    def retry_now(self) -> None:
        """Make every pending message due (the CLI's `--retry`, tests)."""
        with self._write() as con:
            con.execute("UPDATE outbox SET proxima_em = 0 WHERE enviado_em IS NULL")
