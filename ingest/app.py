"""The webhook receiver: CCEE's callback contract as a Litestar app.

`POST /ccee/{token}[/{anything}]` → 201 only once the delivery is fsync'd to the lake.
Order of checks: client IP allow-list (403) → token (404, nothing stored) → body size (413) →
content type (415) → UTF-8 (400) → JSON (400) → schema (422). Every rejection after the token
check is quarantined with the bounded raw body. Only a persistence failure yields a 5xx (503).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
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
    DiscardingWriter,
    FsyncPerRequestWriter,
    GroupCommitWriter,
    LakeWriter,
    ParquetBatchFiles,
    PersistenceError,
)
from ingest.metrics import Metrics
from ingest.object_store import open_store
from ingest.openapi import OPENAPI_JSON
from ingest.problems import problem
from ingest.records import Entrega, Rejeicao, entregas_table, rejeicoes_table
from ingest.s3_lake import ObjectBatchFiles
from ingest.validation import Rejected, TooLarge, check_content_type, decode_body
from ingest.wal import WalLake
from settings import ReceiverSettings, S3Lake, SenderToken

log = logging.getLogger("ingest.access")
errors_log = logging.getLogger("ingest.app")

_ok_encoder = msgspec.json.Encoder()

#: Concurrent create-only PUTs per table on an object-store lake.
OBJECT_STORE_FLUSHES = 4


def redact_path(path: str) -> str:
    """A path safe to log for an unauthenticated request: everything after `/ccee/` hidden
    (a misplaced token may sit in any segment)."""
    if path == PREFIX or not path.startswith(PREFIX + "/"):
        return path
    _, tail = split_token(path[len(PREFIX) :])
    return redacted_destino(PREFIX, "/" + REDACTED if tail else "")


class Receiver:
    """Per-process state: tokens, writers, metrics; `handle` implements the callback contract."""

    def __init__(self, settings: ReceiverSettings, ops: FileOps | None = None) -> None:
        self.settings = settings
        self.instancia = settings.resolved_instance_id()
        self.tokens = TokenMatcher(settings.tokens)
        self.allow = IpAllowList(settings.allow_ips)
        self.metrics = Metrics()
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
        mode = self.settings.persistence
        files: BatchFiles[Any]
        if store is not None:
            files = ObjectBatchFiles(store, table, to_arrow, self.instancia)
        else:
            assert isinstance(self.lake, Path)
            files = ParquetBatchFiles(self.lake, table, to_arrow, self.instancia, ops)
        writer: LakeWriter[Any]
        if mode == "off":
            writer = DiscardingWriter()
        elif mode == "fsync-per-request":
            writer = FsyncPerRequestWriter(files, observer)
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
        # Everything alive now (app, routes, libraries) lives as long as the process: keep it
        # out of the garbage collector's full passes, which otherwise stall the event loop
        # (measured in benchmarks/receiver.py: the durable mode's p99 fell from ~75 to ~25 ms).
        gc.freeze()
        errors_log.info(
            "receiver started",
            extra={
                "instancia": self.instancia,
                "persistencia": self.settings.persistence,
                "lago": self.lake.url if isinstance(self.lake, S3Lake) else str(self.lake),
                "tokens": len(self.settings.tokens),
            },
        )
        try:
            yield
        finally:
            # Graceful shutdown: everything queued is flushed (and acknowledged) before exit.
            await self.notificacoes.close()
            await self.quarentena.close()
            errors_log.info("receiver stopped; lake flushed", extra={"instancia": self.instancia})

    def undecided(self) -> int:
        """Requests in progress that are not yet waiting on a writer (may still enqueue)."""
        return self.in_flight - self.notificacoes.pending() - self.quarentena.pending()

    async def handle(self, request: Request[Any, Any, Any], rest: str | None) -> Response[bytes]:
        started = time.perf_counter()
        recebido_em = datetime.now(UTC)
        client = request.client.host if request.client else None
        fields: dict[str, Any] = {"cliente": client}
        self.in_flight += 1
        try:
            response = await self._handle(request, rest, recebido_em, client, fields)
        finally:
            self.in_flight -= 1
        if self.settings.log_requests:
            fields["status"] = response.status_code
            fields["ms"] = round((time.perf_counter() - started) * 1000, 3)
            log.info("POST", extra=fields)
        return response

    async def _handle(
        self,
        request: Request[Any, Any, Any],
        rest: str | None,
        recebido_em: datetime,
        client: str | None,
        fields: dict[str, Any],
    ) -> Response[bytes]:
        fields["destino"] = redact_path(request.url.path)
        if not self.allow.allows(client):
            self.metrics.reject("ip_nao_permitido")
            fields["motivo"] = "ip_nao_permitido"
            return problem(403, "ip_nao_permitido", "client address is not in the allow-list")

        sender: SenderToken | None = None
        if self.tokens.enabled:
            token, tail = split_token(rest or "")
            sender = self.tokens.match(token) if token else None
            if sender is None:
                self.metrics.reject("token_desconhecido")
                fields["motivo"] = "token_desconhecido"
                return problem(404, "token_desconhecido", "no receiver at this address")
            destino = redacted_destino(PREFIX, self.tokens.scrub(tail))
        else:  # --insecure-no-token: the path carries no secret
            destino = request.url.path
        perfil = sender.perfil if sender else None
        fields["destino"], fields["perfil"] = destino, perfil

        content_type = request.headers.get("content-type")
        body, size = b"", 0
        try:
            body, size = await self._read_body(request)
            check_content_type(content_type)
            mensagem, corpo = decode_body(body)
        except Rejected as rej:
            return await self._quarantine(
                rej, recebido_em, destino, perfil, content_type, body, size, fields
            )

        fields["transaction_id"] = mensagem.transactionId
        fields["evento"] = mensagem.eventoNotificacao
        entrega = Entrega(
            transaction_id=mensagem.transactionId,
            evento_notificacao=mensagem.eventoNotificacao,
            metadados=[(m.nome, m.valor) for m in mensagem.metadados],
            recebido_em=recebido_em,
            destino=destino,
            perfil=perfil,
            corpo=corpo,
            instancia=self.instancia,
        )
        try:
            await self.notificacoes.write(entrega)
        except PersistenceError as exc:
            self.metrics.reject("persistencia_falhou")
            fields["motivo"], fields["erro"] = "persistencia_falhou", str(exc)
            return problem(
                503,
                "persistencia_falhou",
                "the delivery could not be stored durably; it was not accepted, please retry",
                headers={"Retry-After": "60"},
            )
        self.metrics.accept(mensagem.transactionId, perfil)
        return Response(
            content=_ok_encoder.encode(
                {"status": "recebido", "transactionId": mensagem.transactionId}
            ),
            status_code=201,
            media_type="application/json",
        )

    async def _read_body(self, request: Request[Any, Any, Any]) -> tuple[bytes, int]:
        """Read at most `max_body` bytes; over the limit, keep the quarantine prefix and stop."""
        limit = self.settings.max_body
        declared = request.headers.get("content-length")
        declared_size = int(declared) if declared and declared.isdigit() else 0
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            chunks.append(chunk)
            if size > limit or (declared_size > limit and size >= QUARANTINE_BODY_LIMIT):
                break
        if size > limit or declared_size > limit:
            raise TooLarge(
                b"".join(chunks)[:QUARANTINE_BODY_LIMIT], max(size, declared_size), limit
            )
        return b"".join(chunks), size

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
    ) -> Response[bytes]:
        if isinstance(rej, TooLarge):
            body, size = rej.prefix, rej.size
        self.metrics.reject(rej.motivo)
        fields["motivo"], fields["detalhe"] = rej.motivo, rej.detail[:300]
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
        )
        try:
            await self.quarentena.write(row)
        except PersistenceError as exc:
            # The sender is still told what is wrong with its request; CCEE retries anyway.
            fields["erro_quarentena"] = str(exc)
            errors_log.error("quarantine write failed", extra={"erro": str(exc)})
        return problem(rej.status, rej.motivo, rej.detail, rej.campo)

    async def ready(self) -> Response[bytes]:
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.notificacoes.check_writable)
            await loop.run_in_executor(None, self.quarentena.check_writable)
        except OSError as exc:
            return problem(503, "lago_indisponivel", f"the lake is not writable: {exc.strerror}")
        return Response(content=b'{"status":"pronto"}', media_type="application/json")


def create_app(settings: ReceiverSettings, ops: FileOps | None = None) -> Litestar:
    """Build the receiver. `ops` is the lake's filesystem seam (tests inject disk failures)."""
    settings.validate()
    receiver = Receiver(settings, ops)

    @post(PREFIX, request_max_body_size=None, status_code=201)
    async def callback_root(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await receiver.handle(request, None)

    @post(PREFIX + "/{rest:path}", request_max_body_size=None, status_code=201)
    async def callback(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[bytes]:
        return await receiver.handle(request, rest)

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
    async def metrics() -> Response[str]:
        return Response(content=receiver.metrics.render(), media_type="text/plain; version=0.0.4")

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
        route_handlers=[callback_root, callback, healthz, readyz, openapi, metrics],
        lifespan=[receiver.lifespan],
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        openapi_config=None,
        logging_config=None,
    )
    app.state.receiver = receiver
    return app
