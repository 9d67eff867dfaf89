"""The CCEE BSv2 client: one method per operation, typed results, faults as exceptions.

zeep builds every request from the project's own WSDL (`ccee/wsdl/`), with the WSDL's header
parts in CCEE's order (messageHeader, Security, paginacao), and reads the write operations'
answers; listing answers (possibly thousands of results) are read with lxml, ~5x faster.
Listings are lazy generators that hold one page at a time. A client is not thread-safe: use
one per thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, TypeVar

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.helpers import serialize_object
from zeep.proxy import ServiceProxy
from zeep.settings import Settings

from ccee.config import Profile, select_profile
from ccee.contract import (
    NS_BM,
    NS_MH,
    NS_SOAPENV,
    NS_XSI,
    NSMAP_REQUEST,
    OPERATIONS,
    SERVICES,
    safe_parser,
)
from ccee.errors import (
    CCEEError,
    CCEEFault,
    CCEETransportError,
    ConfigError,
    NoDataFoundError,
)
from ccee.faults import fault_from_parts, parse_fault
from ccee.mensagem import is_event_code
from ccee.models import (
    EventoNotificacao,
    Pagina,
    PreferenciaNotificacao,
    ResultadoNotificacao,
    parse_data_hora,
)
from ccee.transport import RetryingTransport, RetryPolicy, build_session

NS_BS = "http://xmlns.energia.org.br/BS/v2"
DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")
_XSI_NIL = f"{{{NS_XSI}}}nil"


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _plain(el: etree._Element) -> Any:
    """Element -> text (leaf) or {localname: value | [values]}, like zeep's serialize_object."""
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        if el.get(_XSI_NIL) in ("true", "1"):
            return None
        return el.text
    out: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        value = _plain(child)
        if name in out:
            previous = out[name]
            if isinstance(previous, list):
                previous.append(value)
            else:
                out[name] = [previous, value]
        else:
            out[name] = value
    return out


def _split_code(codigo: str | None) -> tuple[str | None, str | None]:
    if codigo and "." in codigo:
        entidade, evento = codigo.split(".", 1)
        return entidade, evento
    return None, None


def _evento(data: Any) -> EventoNotificacao:
    codigo = _text(_get(data, "codigo")) or ""
    ent, evt = _split_code(codigo)
    return EventoNotificacao(
        codigo=codigo,
        entidade=_text(_get(data, "entidade", "nome")) or ent,
        evento=_text(_get(data, "evento", "nome")) or evt,
    )


def _preferencia(data: Any) -> PreferenciaNotificacao:
    evento = _evento(_get(data, "eventoNotificacao"))
    return PreferenciaNotificacao(
        evento_notificacao=evento.codigo,
        endereco_destino=_text(_get(data, "enderecoDestino")),
        entidade=evento.entidade,
        evento=evento.evento,
    )


def _resultado(data: Any) -> ResultadoNotificacao:
    evento = _evento(_get(data, "preferenciaNotificacao", "eventoNotificacao"))
    invalidos: list[str] = []
    origem_raw = _text(_get(data, "dataOrigem"))
    origem, ok = parse_data_hora(origem_raw)
    if not ok:
        invalidos.append("data_origem")
    notif_raw = _text(_get(data, "dataNotificacao"))
    notif, ok = parse_data_hora(notif_raw)
    if not ok:
        invalidos.append("data_notificacao")
    if evento.codigo and not is_event_code(evento.codigo):
        invalidos.append("evento_notificacao")
    return ResultadoNotificacao(
        transaction_id=_text(_get(data, "transactionId")),
        evento_notificacao=evento.codigo or None,
        entidade=evento.entidade,
        evento=evento.evento,
        endereco_destino=_text(_get(data, "preferenciaNotificacao", "enderecoDestino")),
        participante_mercado=_text(_get(data, "participanteMercado", "codigo")),
        situacao=_text(_get(data, "situacao", "nome")),
        data_origem=origem,
        data_origem_raw=origem_raw,
        data_notificacao=notif,
        data_notificacao_raw=notif_raw,
        invalidos=tuple(invalidos),
    )


def _check_code(codigo: str) -> str:
    if not is_event_code(codigo):
        raise ValueError(f"event code must be ENTIDADE.EVENTO (A-Z, 0-9, _), got {codigo!r}")
    return codigo


def _check_url(url: str) -> str:
    if not url.startswith(("https://", "http://")) or len(url) < 10:
        raise ValueError("destination must be an http(s) URL")
    return url


def _check_dia(dia: date | str | None) -> str | None:
    if dia is None:
        return None
    if isinstance(dia, date):
        return dia.isoformat()
    try:
        return date.fromisoformat(dia).isoformat()
    except ValueError:
        raise ValueError(f"dia must be YYYY-MM-DD, got {dia!r}") from None


def _check_paging(page_size: int, start_page: int) -> None:
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    if start_page < 1:
        raise ValueError(f"start_page must be >= 1, got {start_page}")


class CCEEClient:
    """Talks to CCEE (or the simulator) as one participant profile.

    `retries` is the number of attempts for transport failures (timeouts, connection errors,
    5xx without a SOAP fault); `backoff` the first delay in seconds, doubled per attempt with
    jitter up to `max_backoff`.
    """

    def __init__(
        self,
        profile: Profile,
        timeout: float = 30.0,
        retries: int = 4,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 1:
            raise ValueError("retries must be >= 1 (it counts attempts)")
        self.profile = profile
        self.session = session if session is not None else build_session(profile)
        self.transport = RetryingTransport(
            self.session, timeout, RetryPolicy(retries, backoff, max_backoff), sleep
        )
        self._proxies: dict[str, ServiceProxy] = {}
        self._zeep: dict[str, zeep.Client] = {}

    @classmethod
    def from_profile(cls, name: str | None = None, **kwargs: Any) -> CCEEClient:
        """Client for a configured profile (`--perfil` name or codigo; default per config)."""
        return cls(select_profile(name), **kwargs)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CCEEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------
    def _proxy(self, service: str) -> ServiceProxy:
        proxy = self._proxies.get(service)
        if proxy is None:
            svc = SERVICES[service]
            client = zeep.Client(
                str(svc.wsdl_path),
                transport=self.transport,
                settings=Settings(strict=False, xml_huge_tree=False),
            )
            for prefix, ns in NSMAP_REQUEST.items():
                if prefix != "soapenv":
                    client.set_ns_prefix(prefix, ns)
            proxy = client.create_service(
                f"{{{NS_BS}}}{service}SOAPBinding", self.profile.url + svc.path
            )
            self._proxies[service] = proxy
            self._zeep[service] = client
        return proxy

    def _soap_headers(self, page: int | None, size: int | None) -> dict[str, Any]:
        p = self.profile
        missing = [
            n
            for n, v in (
                ("codigo (CCEE_WEBHOOK_PERFIL)", p.codigo),
                ("username (CCEE_WEBHOOK_USERNAME)", p.username),
                ("password (CCEE_WEBHOOK_PASSWORD)", p.password),
            )
            if not v
        ]
        if missing:
            raise ConfigError(f"{p.describe()} lacks {', '.join(missing)}")
        assert p.password is not None
        password: dict[str, Any] = {"_value_1": p.password.reveal()}
        if p.password_type:
            password["Type"] = p.password_type
        headers: dict[str, Any] = {
            "messageHeader": {"codigoPerfilAgente": p.codigo},
            "Security": {"UsernameToken": {"Username": p.username, "Password": password}},
        }
        if page is not None:
            headers["paginacao"] = {"numero": page, "quantidadeItens": size}
        return headers

    def _call(
        self, operation: str, page: int | None = None, size: int | None = None, **body: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(response headers, response body) as plain dicts; faults raised as CCEEFault."""
        op = OPERATIONS[operation]
        method = getattr(self._proxy(op.service), operation)
        if op.paginated:
            # zeep builds the request; the (possibly large) answer is read with lxml,
            # several times faster than zeep's object model for thousands of results.
            with self._zeep[op.service].settings(raw_response=True):
                response = method(_soapheaders=self._soap_headers(page, size), **body)
            return self._read_listing(operation, response)
        try:
            result = method(_soapheaders=self._soap_headers(page, size), **body)
        except zeep.exceptions.Fault as exc:
            raise fault_from_parts(
                exc.detail, exc.code, exc.message, exc.actor, perfil=self.profile.codigo,
                usuario=self.profile.username,
            ) from None
        except zeep.exceptions.TransportError as exc:
            raise CCEETransportError(
                f"{operation}: unusable HTTP {exc.status_code} answer from {self.profile.url}",
                status_code=exc.status_code,
            ) from None
        except (zeep.exceptions.XMLParseError, zeep.exceptions.ValidationError) as exc:
            raise CCEEError(f"{operation}: answer does not follow the contract: {exc}") from None
        plain = serialize_object(result, dict)
        if isinstance(plain, dict) and "body" in plain and "header" in plain:
            return plain.get("header") or {}, plain.get("body") or {}
        return {}, plain if isinstance(plain, dict) else {}

    def _read_listing(
        self, operation: str, response: requests.Response
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        fault = parse_fault(
            response.content, perfil=self.profile.codigo, usuario=self.profile.username
        )
        if fault is not None:
            raise fault
        if response.status_code != 200:
            raise CCEETransportError(
                f"{operation}: HTTP {response.status_code} without a SOAP fault",
                status_code=response.status_code,
            )
        try:
            root = etree.fromstring(response.content, safe_parser())
        except etree.XMLSyntaxError as exc:
            raise CCEEError(f"{operation}: answer is not XML: {exc}") from None
        header = root.find(f"{{{NS_SOAPENV}}}Header")
        body = root.find(f"{{{NS_SOAPENV}}}Body")
        expected = f"{{{NS_BM}}}{OPERATIONS[operation].response_element}"
        answer = body.find(expected) if body is not None else None
        if answer is None:
            raise CCEEError(f"{operation}: answer has no {OPERATIONS[operation].response_element}")
        headers: dict[str, Any] = {}
        pag = header.find(f"{{{NS_MH}}}paginacao") if header is not None else None
        if pag is not None:
            headers["paginacao"] = {
                k: _int(pag.findtext(f"{{{NS_MH}}}{k}"))
                for k in ("numero", "quantidadeItens", "totalPaginas", "quantidadeTotalItens")
            }
        plain = _plain(answer)
        return headers, plain if isinstance(plain, dict) else {}

    def _pages(
        self,
        operation: str,
        list_path: tuple[str, ...],
        convert: Callable[[Any], T],
        page_size: int,
        start_page: int,
        body: dict[str, Any],
    ) -> Iterator[Pagina[T]]:
        _check_paging(page_size, start_page)
        page = start_page
        while True:
            try:
                header, resp = self._call(operation, page, page_size, **body)
            except NoDataFoundError:
                return
            items = [convert(x) for x in _as_list(_get(resp, *list_path))]
            pag = header.get("paginacao") or {}
            total = pag.get("totalPaginas")
            yield Pagina(
                numero=pag.get("numero") or page,
                total_paginas=total,
                quantidade_total_itens=pag.get("quantidadeTotalItens"),
                itens=items,
            )
            # quantidadeItens in the answer is the count on this page: never used for paging.
            if not items or total is None or page >= total:
                return
            page += 1

    # -- EventoNotificacaoBSv2 --------------------------------------------------------
    def listar_eventos(
        self, entidade: str | None = None, evento: str | None = None
    ) -> list[EventoNotificacao]:
        """Events CCEE offers for notification, optionally filtered by entity/event name."""
        body = {"entidade": {"nome": entidade or ""}, "evento": {"nome": evento or ""}}
        out: list[EventoNotificacao] = []
        for pagina in self._pages(
            "listarEventoNotificacao",
            ("eventosNotificacao", "eventoNotificacao"),
            _evento,
            DEFAULT_PAGE_SIZE,
            1,
            body,
        ):
            out.extend(pagina.itens)
        return out

    # -- PreferenciaNotificacaoBSv2 ---------------------------------------------------
    def listar_preferencias(
        self, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[PreferenciaNotificacao]:
        """Every preference of the profile, page by page."""
        for pagina in self._pages(
            "listarPreferenciaNotificacao",
            ("preferencias", "preferenciaNotificacao"),
            _preferencia,
            page_size,
            1,
            {"preferencias": {}},
        ):
            yield from pagina.itens

    def _mensagem(self, operation: str, preferencia: dict[str, Any]) -> str:
        _, body = self._call(operation, preferenciaNotificacao=preferencia)
        return _text(_get(body, "mensagem", "descricao")) or ""

    def incluir_preferencia(self, codigo: str, endereco_destino: str) -> str:
        """Subscribe `endereco_destino` to event `codigo`; returns CCEE's success message."""
        return self._mensagem(
            "incluirPreferenciaNotificacao",
            {
                "enderecoDestino": _check_url(endereco_destino),
                "eventoNotificacao": {"codigo": _check_code(codigo)},
            },
        )

    def atualizar_preferencia(self, codigo: str, endereco_destino: str) -> str:
        """Point the existing preference for `codigo` at a new destination."""
        return self._mensagem(
            "atualizarPreferenciaNotificacao",
            {
                "enderecoDestino": _check_url(endereco_destino),
                "eventoNotificacao": {"codigo": _check_code(codigo)},
            },
        )

    def excluir_preferencia(self, codigo: str) -> str:
        """Delete the preference for `codigo`."""
        return self._mensagem(
            "excluirPreferenciaNotificacao",
            {
                "eventoNotificacao": {"codigo": _check_code(codigo)},
            },
        )

    # -- ResultadoNotificacaoBSv2 -----------------------------------------------------
    def paginas_resultados(
        self,
        evento: str | None = None,
        dia: date | str | None = None,
        situacao: str | None = None,
        transaction_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[Pagina[ResultadoNotificacao]]:
        """Delivery results page by page (resume a pull with `start_page`)."""
        body: dict[str, Any] = {}
        if evento:
            body["eventoNotificacao"] = {"codigo": _check_code(evento)}
        dia_text = _check_dia(dia)
        if dia_text:
            body["periodo"] = {"dia": dia_text}
        if situacao:
            body["situacao"] = {"nome": situacao}
        if transaction_id:
            body["transactionId"] = transaction_id
        return self._pages(
            "listarResultadoNotificacao",
            ("resultadosNotificacao", "resultadoNotificacao"),
            _resultado,
            page_size,
            start_page,
            body,
        )

    def listar_resultados(
        self,
        evento: str | None = None,
        dia: date | str | None = None,
        situacao: str | None = None,
        transaction_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        start_page: int = 1,
    ) -> Iterator[ResultadoNotificacao]:
        """Delivery results, one at a time (lazy; one page in memory)."""
        for pagina in self.paginas_resultados(
            evento, dia, situacao, transaction_id, page_size, start_page
        ):
            yield from pagina.itens


__all__ = ["CCEEClient", "CCEEFault"]
