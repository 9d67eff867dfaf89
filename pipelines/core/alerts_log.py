"""`alerts.jsonl` in the data folder: every alert ever raised, one JSON object per line.

The always-on channel: written before any external channel is tried, so an operator (or the
`ccee-webhook alerts` command, or the dashboard) sees an alert even when mail and webhook are
down or not configured. Appends are single `write` calls of whole lines under an exclusive
lock, so concurrent writers (the Dagster daemon, the demo) never interleave a line.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal

import msgspec

FILE_NAME = "alerts.jsonl"

Estado = Literal["aberto", "resolvido"]


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One alert: an incident opened ("aberto") or cleared ("resolvido")."""

    id: str
    chave: str
    regra: str
    estado: Estado
    #: the instant the rules were evaluated at (UTC)
    em: datetime
    aberto_em: datetime
    resolvido_em: datetime | None = None
    titulo: str
    texto: str
    contagem: int
    perfil: str | None = None
    primeiro_transaction_id: str | None = None
    ultimo_transaction_id: str | None = None
    primeiro_em: datetime | None = None
    ultimo_em: datetime | None = None
    consulta: str | None = None
    painel: str | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Alert)


def path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / FILE_NAME


def append(data_dir: str | os.PathLike[str], alerts: Iterable[Alert]) -> None:
    """Append alerts durably (fsync) as whole lines."""
    payload = b"".join(_encoder.encode(a) + b"\n" for a in alerts)
    if not payload:
        return
    target = path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)


def read(data_dir: str | os.PathLike[str]) -> list[Alert]:
    """Every alert in file order; a torn or foreign line is skipped, never fatal."""
    target = path(data_dir)
    if not target.exists():
        return []
    out = []
    with target.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                out.append(_decoder.decode(line))
            except msgspec.DecodeError:
                continue  # a line cut by a crash mid-write, or written by hand
    return out


def open_incidents(alerts: Iterable[Alert]) -> list[Alert]:
    """The "aberto" alert of every incident whose latest alert is not "resolvido"."""
    latest: dict[str, Alert] = {}
    for a in alerts:
        latest[a.chave] = a
    return sorted(
        (a for a in latest.values() if a.estado == "aberto"), key=lambda a: a.aberto_em
    )


def since(alerts: Iterable[Alert], t: datetime) -> list[Alert]:
    return [a for a in alerts if a.em >= t]
