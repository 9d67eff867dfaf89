"""The quarantine as a dead-letter queue: identify, list, show and replay refused requests.

A quarantined request is kept (bounded raw body, reason, time) in `lake/quarentena/`. When the
acceptance rule changes, `replay` re-checks each kept body under today's rule and writes the
ones that now pass into `lake/notificacoes/` as ordinary deliveries (`instancia` = `replay`,
`recebido_em` = when CCEE really delivered it, so the day partition and latencies stay true).

Exactly once: an entry's id is a digest of what the receiver stored (stable across compaction,
which rewrites files but not rows); its delivery file is named after that id and written whole
and atomically, then a marker `lake/_reprocessados/<id>.json` records where it went. Running
replay again skips every entry with a marker, and a crash between the two steps is repaired
by the next run (the file is found, the marker is written, nothing is written twice).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pyarrow.parquet as pq

from ingest.fsops import FileOps, publish_atomically
from ingest.lake_files import compacted_sources, partition_days, partition_files
from ingest.lake_schema import (
    NOTIFICACOES,
    QUARENTENA,
    conform,
    partition_day,
    partition_dir,
)
from ingest.lake_writer import ParquetBatchFiles
from ingest.records import Entrega, entregas_table
from ingest.validation import Rejected, check_content_type, decode_body
from settings import DEFAULT_MAX_BODY, S3Lake, lake_location

#: `instancia` of every delivery written by a replay.
REPLAY_INSTANCE = "replay"
#: Folder (under the lake root) of the replay markers; `_` keeps it out of every reader's glob.
MARKERS = "_reprocessados"
#: Only the first bytes of a body are scanned for its ids.
SCAN_LIMIT = 64 * 1024

_FIELD = r'"{name}"\s*:\s*"((?:[^"\\\x00-\x1f]|\\.){{1,512}})"'
_TRANSACTION_ID = re.compile(_FIELD.format(name="transactionId").encode())
_EVENTO = re.compile(_FIELD.format(name="eventoNotificacao").encode())
_any = msgspec.json.Decoder()


def _unescape(raw: bytes) -> str:
    """A JSON string's content; raw text when its escapes are broken (truncated, hostile)."""
    try:
        value = msgspec.json.decode(b'"' + raw + b'"')
    except (msgspec.DecodeError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")
    return value if isinstance(value, str) else raw.decode("utf-8", "replace")


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def identify(body: bytes) -> tuple[str | None, str | None]:
    """(transactionId, eventoNotificacao) of a refused body, best effort.

    A parsable JSON object gives its string fields; anything else (truncated, malformed,
    invalid UTF-8) is scanned for `"transactionId": "…"` in its first bytes. Used so that an
    expired notification can be linked to its refused attempts."""
    head = body[:SCAN_LIMIT]
    try:
        doc = _any.decode(head)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        # not JSON, too deep or not UTF-8: fall back to the scan below
        doc = None
    if isinstance(doc, dict):
        tx, ev = (doc.get(k) for k in ("transactionId", "eventoNotificacao"))
        return _text_or_none(tx), _text_or_none(ev)
    found = [rx.search(head) for rx in (_TRANSACTION_ID, _EVENTO)]
    tx_id, evento = (_unescape(m.group(1)) if m else None for m in found)
    return tx_id, evento


class Entrada(msgspec.Struct, frozen=True):
    """One quarantined request, with its stable id and where it sits in the lake."""

    id: str
    arquivo: str
    linha: int
    recebido_em: datetime
    destino: str
    perfil: str | None
    motivo: str
    detalhe: str
    status_http: int
    content_type: str | None
    tamanho: int
    corpo: bytes
    instancia: str
    transaction_id: str | None
    evento_notificacao: str | None

    @property
    def dia(self) -> date:
        return partition_day(self.recebido_em)

    @property
    def truncado(self) -> bool:
        """The body was cut at the quarantine limit: it can never be replayed whole."""
        return self.tamanho > len(self.corpo)


class Marcador(msgspec.Struct, frozen=True):
    """Where a replayed entry went (the replay ledger)."""

    id: str
    arquivo: str
    transaction_id: str
    evento_notificacao: str
    avisos: list[str]
    reprocessado_em: datetime


def entry_id(recebido_em: datetime, instancia: str, destino: str, motivo: str, corpo: bytes) -> str:
    """16 hex digits over what the receiver stored for the request.

    Two distinct requests share an id only if one receiver process stored the same body for
    the same path at the same microsecond; such twins are one entry (replayed once)."""
    micros = int((recebido_em - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)
    h = hashlib.sha256()
    for part in (str(micros).encode(), instancia.encode(), destino.encode(), motivo.encode()):
        h.update(part)
        h.update(b"\x00")
    h.update(corpo)
    return h.hexdigest()[:16]


class QuarantineError(RuntimeError):
    """The quarantine cannot be read or replayed here (the message says why)."""


def local_lake_root(data_dir: Path) -> Path:
    """The lake folder; list/show/replay work on a local lake only, for now."""
    where = lake_location(data_dir)
    if isinstance(where, S3Lake):
        raise QuarantineError(
            "quarantine list/show/replay read a local lake only; CCEE_WEBHOOK_LAKE_URL points "
            "at object storage (copy quarentena/ locally, or run where the lake is a folder)"
        )
    return Path(where)


def entries(
    data_dir: Path, since: date | None = None, motivo: str | None = None
) -> Iterator[Entrada]:
    """Every quarantined request (days ≥ `since`, with reason `motivo`), oldest day first."""
    root = local_lake_root(data_dir)
    for day in partition_days(data_dir, QUARENTENA):
        if since is not None and day < since:
            continue
        for path in partition_files(data_dir, QUARENTENA, day):
            assert isinstance(path, Path)  # local_lake_root refused an object-store lake
            table = conform(QUARENTENA, pq.read_table(path))
            for linha, row in enumerate(table.to_pylist()):
                if motivo is not None and row["motivo"] != motivo:
                    continue
                yield Entrada(
                    id=entry_id(
                        row["recebido_em"],
                        row["instancia"],
                        row["destino"],
                        row["motivo"],
                        row["corpo"],
                    ),
                    arquivo=str(path.relative_to(root)),
                    linha=linha,
                    **row,
                )


def find(data_dir: Path, entry: str) -> Entrada | None:
    """The entry with this id (or a unique id prefix of at least 6 digits)."""
    if len(entry) < 6:
        return None
    matches = [e for e in entries(data_dir) if e.id.startswith(entry.lower())]
    return matches[0] if len({m.id for m in matches}) == 1 else None


def marker_path(data_dir: Path, entry: str) -> Path:
    return local_lake_root(data_dir) / MARKERS / f"{entry}.json"


def marker(data_dir: Path, entry: str) -> Marcador | None:
    """The replay ledger's record for an entry, if it was replayed."""
    try:
        return msgspec.json.decode(marker_path(data_dir, entry).read_bytes(), type=Marcador)
    except FileNotFoundError:
        return None


def recheck(entry: Entrada, max_body: int = DEFAULT_MAX_BODY) -> Entrega | Rejected:
    """The delivery an entry becomes under today's rule, or why it is still refused."""
    if entry.truncado:
        return Rejected(
            413,
            "corpo_grande_demais",
            f"only the first {len(entry.corpo)} of {entry.tamanho} bytes were kept",
        )
    if entry.tamanho > max_body:
        return Rejected(
            413, "corpo_grande_demais", f"{entry.tamanho} bytes exceed the limit of {max_body}"
        )
    try:
        check_content_type(entry.content_type)
        nota, corpo = decode_body(entry.corpo)
    except Rejected as rej:
        return rej
    return Entrega(
        transaction_id=nota.transaction_id,
        evento_notificacao=nota.evento_notificacao,
        metadados=nota.metadados,
        recebido_em=entry.recebido_em,
        destino=entry.destino,
        perfil=entry.perfil,
        corpo=corpo,
        instancia=REPLAY_INSTANCE,
        avisos=nota.avisos,
    )


def delivery_name(entry: str) -> str:
    """File stem of an entry's replayed delivery: fixed, so a second write is detectable."""
    return f"{REPLAY_INSTANCE}-{entry}"


@dataclass
class Resumo:
    """What a replay did (or, with dry_run, would do)."""

    examinadas: int = 0
    reprocessadas: int = 0
    ja_reprocessadas: int = 0
    recusadas: dict[str, int] = field(default_factory=dict)
    arquivos: list[str] = field(default_factory=list)


def _already_published(data_dir: Path, entrega: Entrega, stem: str) -> str | None:
    """The delivery file of a replay that crashed before its marker (or was compacted)."""
    root, day = local_lake_root(data_dir), partition_day(entrega.recebido_em)
    folder = partition_dir(root, NOTIFICACOES, day)
    name = f"{stem}.parquet"
    if (folder / name).exists():
        return str((folder / name).relative_to(root))
    for compacted in partition_files(data_dir, NOTIFICACOES, day):
        if isinstance(compacted, Path) and name in compacted_sources(compacted):
            return str(compacted.relative_to(root))
    return None


def replay(
    data_dir: Path,
    since: date | None = None,
    motivo: str | None = None,
    dry_run: bool = False,
    max_body: int = DEFAULT_MAX_BODY,
    ops: FileOps | None = None,
    progress: Callable[[int], None] | None = None,
) -> Resumo:
    """Write every entry that passes today's rule into the lake, once; see the module doc."""
    ops = ops or FileOps()
    root = local_lake_root(data_dir)
    files = ParquetBatchFiles(root, NOTIFICACOES, entregas_table, REPLAY_INSTANCE, ops)
    resumo = Resumo()
    for entry in entries(data_dir, since, motivo):
        resumo.examinadas += 1
        if progress is not None:
            progress(resumo.examinadas)
        if marker_path(data_dir, entry.id).exists():
            resumo.ja_reprocessadas += 1
            continue
        outcome = recheck(entry, max_body)
        if isinstance(outcome, Rejected):
            resumo.recusadas[outcome.motivo] = resumo.recusadas.get(outcome.motivo, 0) + 1
            continue
        resumo.reprocessadas += 1
        if dry_run:
            continue
        stem = delivery_name(entry.id)
        arquivo = _already_published(data_dir, outcome, stem)
        if arquivo is None:
            (path,) = files.publish([outcome], stem)
            arquivo = str(path.relative_to(root))
        resumo.arquivos.append(arquivo)
        record = Marcador(
            id=entry.id,
            arquivo=arquivo,
            transaction_id=outcome.transaction_id,
            evento_notificacao=outcome.evento_notificacao,
            avisos=list(outcome.avisos),
            reprocessado_em=datetime.now(UTC),
        )
        publish_atomically(
            ops,
            root / MARKERS,
            f"{entry.id}.json",
            lambda fh, record=record: fh.write(msgspec.json.encode(record)),  # type: ignore[misc]
        )
    return resumo
