"""The six BSv2 operations: request in, CCEE-shaped response (or fault) out.

Order of checks mirrors a gateway in front of a service: envelope shape (XSD), then
WS-Security + codigoPerfilAgente, then injected faults, then the operation itself.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

from lxml import etree

from ccee.contract import (
    MSG_ATUALIZADA,
    MSG_EXCLUIDA,
    MSG_INCLUIDA,
    SERVICES,
)
from ccee.faults import fault_envelope
from ccee.mensagem import parse_event_code
from simulator import soap_response as out
from simulator.clock import VirtualClock
from simulator.event_catalog import EventCatalog
from simulator.knobs import Knobs, SoapOutcome
from simulator.ledger import Filtro, Ledger
from simulator.participants import Participant, Participants
from simulator.preferences import PreferenceExists, PreferenceNotFound, PreferenceStore
from simulator.soap_errors import MSG_NOT_AUTHORISED, FaultKind, SimFault
from simulator.soap_request import SoapRequest, field, parse_request

log = logging.getLogger(__name__)

_PREF = "bm:preferenciaNotificacao"


class SoapReply:
    __slots__ = ("body", "status")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


def _fault(kind: FaultKind, message: str, service: str, transaction_id: str) -> SoapReply:
    body = fault_envelope(
        kind.element,
        kind.error_code,
        kind.faultstring,
        message,
        SERVICES[service].path if service in SERVICES else f"/ws/v2/{service}",
        transaction_id,
    )
    return SoapReply(500, body)


def _page_bounds(req: SoapRequest, total: int) -> tuple[int, int]:
    total_paginas = (total + req.tamanho_pagina - 1) // req.tamanho_pagina
    if total and req.pagina > total_paginas:
        raise SimFault(
            FaultKind.NO_DATA,
            f"Nenhum registro encontrado na página {req.pagina}: a consulta tem "
            f"{total_paginas} página(s). Verifique os parâmetros informados.",
        )
    offset = (req.pagina - 1) * req.tamanho_pagina
    return offset, req.tamanho_pagina


class SoapService:
    def __init__(
        self,
        clock: VirtualClock,
        catalog: EventCatalog,
        participants: Participants,
        preferences: PreferenceStore,
        ledger: Ledger,
        knobs: Knobs,
    ) -> None:
        self._clock = clock
        self._catalog = catalog
        self._participants = participants
        self._prefs = preferences
        self._ledger = ledger
        self._knobs = knobs
        self._handlers: dict[str, Callable[[SoapRequest, Participant, str], bytes]] = {
            "listarEventoNotificacao": self._listar_eventos,
            "incluirPreferenciaNotificacao": self._incluir,
            "atualizarPreferenciaNotificacao": self._atualizar,
            "excluirPreferenciaNotificacao": self._excluir,
            "listarPreferenciaNotificacao": self._listar_preferencias,
            "listarResultadoNotificacao": self._listar_resultados,
        }

    async def handle(self, service: str, data: bytes, soap_action: str | None) -> SoapReply:
        tx = str(uuid.uuid4())
        latency = self._knobs.soap_latency_s()
        if latency:
            await asyncio.sleep(latency)  # injected latency is real time, by definition
        try:
            if service not in SERVICES:
                raise SimFault(FaultKind.SECURITY, "URI de entrada inválida")
            req = parse_request(data, service)
            action = (soap_action or "").strip().strip('"')
            if action and action != req.operation.soap_action:
                raise SimFault(FaultKind.SECURITY, "URI de entrada inválida")
            who = self._participants.authenticate(req.username, req.password, req.perfil)
            if who is None:
                raise SimFault(FaultKind.SECURITY, MSG_NOT_AUTHORISED)
            outcome = self._knobs.soap_outcome(req.operation.name, req.pagina)
            if outcome is SoapOutcome.FAULT:
                raise SimFault(FaultKind.TECHNICAL, "Falha simulada do provedor da informação.")
            body = self._handlers[req.operation.name](req, who, tx)
            if outcome is SoapOutcome.MALFORMED:
                body = body[: max(1, len(body) // 2)]
            return SoapReply(200, body)
        except SimFault as f:
            return _fault(f.kind, f.message, service, tx)
        except Exception:
            log.exception("unexpected error in SOAP %s (transactionId %s)", service, tx)
            return _fault(FaultKind.TECHNICAL, "Erro inesperado no simulador.", service, tx)

    # -- helpers ---------------------------------------------------------------------------
    def _codigo(self, body: etree._Element, path: str) -> str:
        codigo = field(body, path)
        if not codigo:
            raise SimFault(
                FaultKind.INVALID_PARAMETERS,
                "Informe o código do evento de notificação. Verifique os parâmetros informados.",
            )
        if codigo not in self._catalog:
            raise SimFault(
                FaultKind.INVALID_PARAMETERS,
                f"Evento de notificação não encontrado: {codigo[:100]}. "
                "Verifique os parâmetros informados.",
            )
        return codigo

    @staticmethod
    def _destino(body: etree._Element) -> str:
        url = field(body, f"{_PREF}/bo:enderecoDestino") or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
            raise SimFault(
                FaultKind.INVALID_PARAMETERS,
                "Informe um endereço de destino válido (URL http ou https). "
                "Verifique os parâmetros informados.",
            )
        return url

    # -- operations ------------------------------------------------------------------------
    def _listar_eventos(self, req: SoapRequest, who: Participant, tx: str) -> bytes:
        eventos = self._catalog.events(
            field(req.body, "bm:entidade/bo:nome"), field(req.body, "bm:evento/bo:nome")
        )
        offset, limit = _page_bounds(req, len(eventos))
        page = eventos[offset : offset + limit]
        root, resp = out.envelope(
            req.operation, tx, out.paginate(len(eventos), req.pagina, limit, len(page))
        )
        out.fill_eventos(resp, page)
        return out.serialize(root)

    def _mensagem(self, req: SoapRequest, tx: str, descricao: str) -> bytes:
        root, resp = out.envelope(req.operation, tx, None)
        out.fill_mensagem(resp, descricao)
        return out.serialize(root)

    def _incluir(self, req: SoapRequest, who: Participant, tx: str) -> bytes:
        codigo = self._codigo(req.body, f"{_PREF}/bo:eventoNotificacao/bo:codigo")
        destino = self._destino(req.body)
        try:
            self._prefs.incluir(who.perfil, codigo, destino, self._clock.now())
        except PreferenceExists:
            raise SimFault(
                FaultKind.INVALID_PARAMETERS,
                f"Já existe preferência de notificação cadastrada para o evento {codigo}. "
                "Utilize a atualização da preferência.",
            ) from None
        return self._mensagem(req, tx, MSG_INCLUIDA)

    def _atualizar(self, req: SoapRequest, who: Participant, tx: str) -> bytes:
        codigo = self._codigo(req.body, f"{_PREF}/bo:eventoNotificacao/bo:codigo")
        destino = self._destino(req.body)
        try:
            self._prefs.atualizar(who.perfil, codigo, destino, self._clock.now())
        except PreferenceNotFound:
            raise SimFault(
                FaultKind.NO_DATA,
                f"Preferência de notificação não encontrada para o evento {codigo}.",
            ) from None
        return self._mensagem(req, tx, MSG_ATUALIZADA)

    def _excluir(self, req: SoapRequest, who: Participant, tx: str) -> bytes:
        codigo = self._codigo(req.body, f"{_PREF}/bo:eventoNotificacao/bo:codigo")
        try:
            self._prefs.excluir(who.perfil, codigo)
        except PreferenceNotFound:
            raise SimFault(
                FaultKind.NO_DATA,
                f"Preferência de notificação não encontrada para o evento {codigo}.",
            ) from None
        return self._mensagem(req, tx, MSG_EXCLUIDA)

    def _listar_preferencias(self, req: SoapRequest, who: Participant, tx: str) -> bytes:
        prefs = self._prefs.listar(who.perfil)
        offset, limit = _page_bounds(req, len(prefs))
        page = prefs[offset : offset + limit]
        root, resp = out.envelope(
            req.operation, tx, out.paginate(len(prefs), req.pagina, limit, len(page))
        )
        out.fill_preferencias(resp, [(p, parse_event_code(p.codigo)) for p in page])
        return out.serialize(root)

    def _listar_resultados(self, req: SoapRequest, who: Participant, tx: str) -> bytes:
        dia_txt = field(req.body, "bm:periodo/bo:dia")
        filtro = Filtro(
            perfil=who.perfil,
            evento=field(req.body, "bm:eventoNotificacao/bo:codigo"),
            dia=date.fromisoformat(dia_txt[:10]) if dia_txt else None,
            situacao=field(req.body, "bm:situacao/bo:nome"),
            transaction_id=field(req.body, "bm:transactionId"),
        )
        offset = (req.pagina - 1) * req.tamanho_pagina
        total, rows = self._ledger.search(filtro, offset, req.tamanho_pagina)
        _page_bounds(req, total)
        root, resp = out.envelope(
            req.operation, tx, out.paginate(total, req.pagina, req.tamanho_pagina, len(rows))
        )
        out.fill_resultados(resp, [(n, parse_event_code(n.codigo)) for n in rows])
        return out.serialize(root)
