"""The webhook receiver: CCEE's callback contract as a Litestar app.

`POST /ccee/{token}[/{anything}]` → 201 only once the delivery is fsync'd to the lake.
Order of checks: method (405) → client IP allow-list (403) → token (404, nothing stored) →
body size (413) → content type (415) → UTF-8 (400) → JSON (400) → a non-empty string
`transactionId` and `eventoNotificacao` in an object (422); any other deviation is stored with
its `avisos`. Every rejection after the token check is quarantined with the bounded raw body.
Only a persistence failure yields a 5xx (503).

The callback route is a raw ASGI handler mounted in the Litestar app (the hot path: see
`Receiver.callback`); health, readiness, metrics and the OpenAPI document are plain Litestar
handlers, and Litestar's exception handlers still answer anything unexpected with a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

import msgspec
from litestar import Litestar, Request, Response, asgi, get
from litestar.exceptions import HTTPException
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send
from obstore.store import S3Store

from ingest.auth import (
    PREFIX,
    REDACTED,
    IpAllowList,
    TokenMatcher,
    redacted_destino,
    split_token,
)
from ingest.fsops import FileOps
from ingest.lake_schema import NOTIFICACOES, QUARANTINE_BODY_LIMIT, QUARENTENA
from ingest.lake_writer import (
    BatchFiles,
    FlushObserver,
    GroupCommitWriter,
    LakeWriter,
    ParquetBatchFiles,
    PersistenceError,
)
from ingest.logs import ACCESS_LOGGER, access_log
from ingest.metrics import CONTENT_TYPE, GAUGE_REFRESH, Metrics
from ingest.object_store import open_store
from ingest.openapi import OPENAPI_JSON
from ingest.problems import PROBLEM_MEDIA_TYPE, problem, problem_body
from ingest.quarantine import identify
from ingest.records import Entrega, Rejeicao, entregas_table, rejeicoes_table
from ingest.s3_lake import ObjectBatchFiles
from ingest.validation import Rejected, TooLarge, check_content_type, decode_body
from ingest.wal import WalLake
from settings import ReceiverSettings, S3Lake, SenderToken

errors_log = logging.getLogger("ingest.app")

_PREFIX_SLASH = PREFIX + "/"
_PREFIX_LEN = len(PREFIX)
_JSON = b"application/json"
_PROBLEM = PROBLEM_MEDIA_TYPE.encode()
_ALLOW_POST = [(b"allow", b"POST")]
_RETRY_AFTER = [(b"retry-after", b"60")]
#: Logged when the client disconnects before its body is complete (nothing is answered);
#: nginx's "client closed request".
CLIENT_GONE = 499


class _Recebido(msgspec.Struct):
    status: str
    transactionId: str


_ok_encoder = msgspec.json.Encoder()

#: Concurrent create-only PUTs per table on an object-store lake.
OBJECT_STORE_FLUSHES = 4


def _recebido(transaction_id: str) -> bytes:
    return _ok_encoder.encode(_Recebido("recebido", transaction_id))


def scope_path(scope: Scope) -> str:
    """The request path as sent (percent-decoded), from `raw_path`: the mount has already
    rewritten `scope["path"]` (normalised, relative to `/ccee`)."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:  # optional in ASGI: the mount's remainder (`/TOKEN/x/`, `/` for `/ccee`)
        return PREFIX + scope["path"].rstrip("/")
    text = raw.decode("latin-1")
    return unquote(text) if "%" in text else text


def _content_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, int]:
    """(Content-Type, declared Content-Length or 0), in one pass over the raw headers."""
    content_type: str | None = None
    length = 0
    for name, value in headers:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length" and value.isdigit():
            length = int(value)
    return content_type, length


def redact_path(path: str) -> str:
    """A path safe to log for an unauthenticated request: everything after `/ccee/` hidden
    (a misplaced token may sit in any segment)."""
    if path == PREFIX or not path.startswith(_PREFIX_SLASH):
        return path if not path.startswith(PREFIX) else PREFIX + REDACTED
    _, tail = split_token(path[len(PREFIX) :])
    return redacted_destino(PREFIX, "/" + REDACTED if tail else "")


#: Builds a table's writer from its files and flush observer, in place of group commit.
WriterFactory = Callable[[BatchFiles[Any], FlushObserver], LakeWriter[Any]]


class Receiver:
    """Per-process state: tokens, writers, metrics; `callback` implements the callback contract."""

    def __init__(
        self,
        settings: ReceiverSettings,
        ops: FileOps | None = None,
        writer_for: WriterFactory | None = None,
    ) -> None:
        self.settings = settings
        self.writer_for = writer_for
        self.instancia = settings.resolved_instance_id()
        self.tokens = TokenMatcher(settings.tokens)
        self.allow = IpAllowList(settings.allow_ips)
        self.metrics = Metrics()
        # Per-request JSON lines (None when logging is off or not configured).
        self.access = access_log() if settings.log_requests else None
        self.in_flight = 0  # requests inside `handle`
        self.metrics.in_progress = lambda: self.in_flight
        self.lake = settings.lake()
        store = open_store(self.lake) if isinstance(self.lake, S3Lake) else None
        self.notificacoes: LakeWriter[Entrega] = self._writer(
            NOTIFICACOES, entregas_table, Entrega, store, ops
        )
        self.quarentena: LakeWriter[Rejeicao] = self._writer(
            QUARENTENA, rejeicoes_table, Rejeicao, store, ops
        )

    def _writer(
        self,
        table: str,
        to_arrow: Callable[[list[Any]], Any],
        row_type: type,
        store: S3Store | None,
        ops: FileOps | None,
    ) -> LakeWriter[Any]:
        observer = self.metrics.flush_observer(table)
        files: BatchFiles[Any]
        if store is not None:
            files = ObjectBatchFiles(store, table, to_arrow, self.instancia)
        else:
            assert isinstance(self.lake, Path)
            files = ParquetBatchFiles(self.lake, table, to_arrow, self.instancia, ops)
        writer: LakeWriter[Any]
        if self.writer_for is not None:  # a benchmark's baseline (benchmarks/baseline_writers.py)
            writer = self.writer_for(files, observer)
        elif isinstance(files, ObjectBatchFiles):
            # No local state: each flush is one create-only PUT, answered once acknowledged.
            # PUTs wait on the network, not a local log, so several run at once.
            writer = GroupCommitWriter(
                files,
                observer,
                max_delay=self.settings.commit_delay_ms / 1000,
                undecided=self.undecided,
                max_concurrent=OBJECT_STORE_FLUSHES,
            )
        else:
            assert isinstance(files, ParquetBatchFiles)
            wal = WalLake(
                files,
                row_type,
                publish_after=self.settings.publish_after_ms / 1000,
                on_publish=self.metrics.publish_observer(files.table),
            )
            writer = GroupCommitWriter(
                wal,
                observer,
                max_delay=self.settings.commit_delay_ms / 1000,
                undecided=self.undecided,
                # One log, one append at a time: what queues during an append is the next batch.
                max_concurrent=1,
            )
        self.metrics.pending[table] = writer.pending
        self.metrics.backlog[table] = writer.backlog
        return writer

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        await self.notificacoes.start()
        await self.quarentena.start()
        errors_log.info(
            "receiver started",
            extra={
                "instancia": self.instancia,
                "persistencia": "group-commit" if self.writer_for is None else "baseline",
                "lago": self.lake.url if isinstance(self.lake, S3Lake) else str(self.lake),
                "tokens": len(self.settings.tokens),
            },
        )
        refresher = (
            asyncio.get_running_loop().create_task(self._refresh_gauges())
            if self.metrics.shared
            else None
        )
        try:
            yield
        finally:
            if refresher is not None:
                refresher.cancel()
            # Graceful shutdown: everything queued is flushed (and acknowledged) before exit.
            await self.notificacoes.close()
            await self.quarentena.close()
            self.metrics.process_exiting()
            errors_log.info("receiver stopped; lake flushed", extra={"instancia": self.instancia})

    async def _refresh_gauges(self) -> None:
        """With several workers, another worker may answer the scrape: keep this one's
        gauges in the shared folder at most `GAUGE_REFRESH` seconds old."""
        while True:
            self.metrics.sync()
            await asyncio.sleep(GAUGE_REFRESH)

    def undecided(self) -> int:
        """Requests in progress that are not yet waiting on a writer (may still enqueue)."""
        return self.in_flight - self.notificacoes.pending() - self.quarentena.pending()

    async def callback(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`/ccee...` as a raw ASGI handler mounted in the Litestar app.

        The framework's per-request machinery (Request and Headers objects, signature
        parsing, Response → ASGIResponse) cost more than the 15 % of a plain Litestar app's
        throughput the whole receiver may spend (benchmarks/receiver.py); this route needs
        none of it: it reads two headers, the path and the body, and answers bytes.
        """
        started = time.perf_counter()
        recebido_em = datetime.now(UTC)
        method = scope.get("method", "")
        client = scope.get("client")
        host = client[0] if client else None
        fields: dict[str, Any] = {
            "ts": recebido_em,
            "nivel": "info",
            "logger": ACCESS_LOGGER,
            "msg": method,
            "cliente": host,
        }
        self.in_flight += 1
        status = 500  # logged if an unexpected error escapes (Litestar answers the 500)
        try:
            status, body, extra = await self._callback(scope, receive, recebido_em, host, fields)
        finally:
            self.in_flight -= 1
            if self.access is not None:
                fields["status"] = status
                fields["ms"] = round((time.perf_counter() - started) * 1000, 3)
                self.access.emit(fields)
        if status == CLIENT_GONE:
            return  # the client went away before sending its whole body: nobody to answer
        headers = [
            (b"content-type", _JSON if status == 201 else _PROBLEM),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send(
            cast(
                "HTTPResponseStartEvent",
                {"type": "http.response.start", "status": status, "headers": headers},
            )
        )
        await send(cast("HTTPResponseBodyEvent", {"type": "http.response.body", "body": body}))

    async def _callback(
        self,
        scope: Scope,
        receive: Receive,
        recebido_em: datetime,
        client: str | None,
        fields: dict[str, Any],
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """The callback contract → (status, body, extra headers)."""
        path = scope_path(scope)
        fields["destino"] = redact_path(path)
        if path != PREFIX and not path.startswith(_PREFIX_SLASH):  # /cceeX: the mount's match
            return self._refuse(fields, 404, "rota_desconhecida", "no route at this address")
        if fields["msg"] != "POST":
            return self._refuse(
                fields, 405, "metodo_nao_permitido", "only POST is allowed here", _ALLOW_POST
            )
        if not self.allow.allows(client):
            return self._refuse(
                fields, 403, "ip_nao_permitido", "client address is not in the allow-list"
            )

        sender: SenderToken | None = None
        if self.tokens.enabled:
            token, tail = split_token(path[_PREFIX_LEN:])
            sender = self.tokens.match(token) if token else None
            if sender is None:
                return self._refuse(
                    fields, 404, "token_desconhecido", "no receiver at this address"
                )
            destino = redacted_destino(PREFIX, self.tokens.scrub(tail))
        else:  # --insecure-no-token: the path carries no secret
            destino = path
        perfil = sender.perfil if sender else None
        fields["destino"], fields["perfil"] = destino, perfil

        content_type, declared = _content_headers(scope["headers"])
        body, size = b"", 0
        try:
            read = await self._read_body(receive, declared)
            if read is None:
                self.metrics.reject("cliente_desconectou")
                fields["motivo"] = "cliente_desconectou"
                return CLIENT_GONE, b"", []
            body, size = read
            if content_type != "application/json":
                check_content_type(content_type)
            nota, corpo = decode_body(body)
        except Rejected as rej:
            status, problem_json = await self._quarantine(
                rej, recebido_em, destino, perfil, content_type, body, size, fields
            )
            return status, problem_json, []

        fields["transaction_id"] = nota.transaction_id
        fields["evento"] = nota.evento_notificacao
        if nota.avisos:
            fields["avisos"] = nota.avisos
        entrega = Entrega(
            transaction_id=nota.transaction_id,
            evento_notificacao=nota.evento_notificacao,
            metadados=nota.metadados,
            recebido_em=recebido_em,
            destino=destino,
            perfil=perfil,
            corpo=corpo,
            instancia=self.instancia,
            avisos=nota.avisos,
        )
        try:
            await self.notificacoes.write(entrega)
        except PersistenceError as exc:
            fields["erro"] = str(exc)
            return self._refuse(
                fields,
                503,
                "persistencia_falhou",
                "the delivery could not be stored durably; it was not accepted, please retry",
                _RETRY_AFTER,
            )
        self.metrics.accept(nota.transaction_id, perfil)
        return 201, _recebido(nota.transaction_id), []

    def _refuse(
        self,
        fields: dict[str, Any],
        status: int,
        motivo: str,
        detail: str,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """A refusal that stores nothing (before the token is known, or a failed write)."""
        self.metrics.reject(motivo)
        fields["motivo"] = motivo
        return status, problem_body(status, motivo, detail), headers or []

    async def _read_body(self, receive: Receive, declared_size: int) -> tuple[bytes, int] | None:
        """Read at most `max_body` bytes; over the limit, keep the quarantine prefix and stop.
        None when the client disconnects first."""
        limit = self.settings.max_body
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # http.disconnect
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                chunks.append(chunk)
            if size > limit or (declared_size > limit and size >= QUARANTINE_BODY_LIMIT):
                break
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if size > limit or declared_size > limit:
            raise TooLarge(body[:QUARANTINE_BODY_LIMIT], max(size, declared_size), limit)
        return body, size

    async def _quarantine(
        self,
        rej: Rejected,
        recebido_em: datetime,
        destino: str,
        perfil: str | None,
        content_type: str | None,
        body: bytes,
        size: int,
        fields: dict[str, Any],
    ) -> tuple[int, bytes]:
        if isinstance(rej, TooLarge):
            body, size = rej.prefix, rej.size
        self.metrics.reject(rej.motivo)
        fields["motivo"], fields["detalhe"] = rej.motivo, rej.detail[:300]
        transaction_id, evento = identify(body)
        row = Rejeicao(
            recebido_em=recebido_em,
            destino=destino,
            perfil=perfil,
            motivo=rej.motivo,
            detalhe=rej.detail,
            status_http=rej.status,
            content_type=content_type,
            tamanho=size,
            corpo=body[:QUARANTINE_BODY_LIMIT],
            instancia=self.instancia,
            transaction_id=transaction_id,
            evento_notificacao=evento,
        )
        try:
            await self.quarentena.write(row)
        except PersistenceError as exc:
            # The sender is still told what is wrong with its request; CCEE retries anyway.
            fields["erro_quarentena"] = str(exc)
            errors_log.error("quarantine write failed", extra={"erro": str(exc)})
        return rej.status, problem_body(rej.status, rej.motivo, rej.detail, rej.campo)

    async def ready(self) -> Response[bytes]:
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.notificacoes.check_writable)
            await loop.run_in_executor(None, self.quarentena.check_writable)
        except OSError as exc:
            return problem(503, "lago_indisponivel", f"the lake is not writable: {exc.strerror}")
        return Response(content=b'{"status":"pronto"}', media_type="application/json")


def create_app(
    settings: ReceiverSettings,
    ops: FileOps | None = None,
    writer_for: WriterFactory | None = None,
) -> Litestar:
    """Build the receiver. `ops` is the lake's filesystem seam (tests inject disk failures);
    `writer_for` replaces the durable group-commit writer (the benchmark's baselines only)."""
    settings.validate()
    receiver = Receiver(settings, ops, writer_for)

    @asgi(PREFIX, is_mount=True, copy_scope=False)
    async def callback(scope: Scope, receive: Receive, send: Send) -> None:
        await receiver.callback(scope, receive, send)

    @get("/healthz")
    async def healthz() -> Response[bytes]:
        return Response(content=b'{"status":"vivo"}', media_type="application/json")

    @get("/readyz")
    async def readyz() -> Response[bytes]:
        return await receiver.ready()

    @get("/openapi.json")
    async def openapi() -> Response[bytes]:
        return Response(content=OPENAPI_JSON, media_type="application/json")

    @get("/metrics")
    async def metrics() -> Response[bytes]:
        return Response(content=receiver.metrics.render(), media_type=CONTENT_TYPE)

    def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
        motivo = {404: "rota_desconhecida", 405: "metodo_nao_permitido"}.get(
            exc.status_code, "erro_http"
        )
        receiver.metrics.reject(motivo)
        return problem(exc.status_code, motivo, str(exc.detail))

    def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        errors_log.error(
            "unhandled error",
            exc_info=exc,
            extra={"destino": redact_path(request.url.path)},
        )
        receiver.metrics.reject("erro_interno")
        return problem(500, "erro_interno", "internal error; the delivery was not accepted")

    app = Litestar(
        route_handlers=[callback, healthz, readyz, openapi, metrics],
        lifespan=[receiver.lifespan],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        openapi_config=None,
        logging_config=None,
    )
    app.state.receiver = receiver
    return app
