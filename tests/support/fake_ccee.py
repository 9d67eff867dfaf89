"""A small CCEE for the client tests: real HTTP(S) on 127.0.0.1, the contract enforced.

Every request is validated with `ccee.contract.validate_envelope` (a violation is answered
with an unexpectedSchemaFault and recorded), its SOAPAction checked against the body, and its
credentials checked (securityFault 2001 otherwise). It either serves CCEE's recorded sample
responses verbatim (`samples=True`) or keeps preferences and results in memory.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lxml import etree

from ccee.contract import (
    MSG_ATUALIZADA,
    MSG_EXCLUIDA,
    MSG_INCLUIDA,
    NS_BM,
    NS_BO,
    NS_MH,
    NS_SOAPENV,
    NS_WSSE,
    NS_XSI,
    SERVICES,
    ContractViolation,
    operation_for,
    parse_envelope,
    validate_envelope,
)
from ccee.faults import fault_envelope
from support.paths import SOAP_SAMPLES as SAMPLES_DIR


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int
    peer_cert: dict[str, Any] | None


@dataclass
class Scripted:
    """A canned answer served before normal handling: status+body, a delay, or a drop."""

    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    drop: bool = False


@dataclass
class FakeCCEE:
    codigo: str = "88888"
    username: str = "usuario.teste"
    password: str = "senha-teste"
    samples: bool = False
    eventos: list[str] = field(default_factory=list)
    preferencias: dict[str, str] = field(default_factory=dict)
    resultados: list[dict[str, str]] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.eventos:
            root = etree.parse(str(SAMPLES_DIR / "listarEventoNotificacao.response.xml"))
            self.eventos = [
                e.text or "" for e in root.iter(f"{{{NS_BO}}}codigo")
            ] + ["MONTANTE_ENERGIA.VALIDADO", "MONTANTE_ENERGIA.AJUSTADO"]

    def operations_called(self) -> list[str]:
        return [r.headers.get("SOAPAction", "") for r in self.requests]

    # -- request handling ---------------------------------------------------------------
    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        try:
            validate_envelope(body)
        except ContractViolation as exc:
            with self.lock:
                self.violations.append(str(exc))
            return 500, fault_envelope(
                "unexpectedSchemaFault", "4002", "Erro de schema", str(exc)[:500], path, None
            )
        root = parse_envelope(body)
        body_el = next(c for c in root.find(f"{{{NS_SOAPENV}}}Body") if isinstance(c.tag, str))
        op = operation_for(body_el)
        assert op is not None
        action = headers.get("SOAPAction", "")
        if action != op.name or path != SERVICES[op.service].path:
            return 500, fault_envelope(
                "securityFault", "2001", "Acesso Negado", "URI de entrada inválida", path, None,
                faultactor="02",
            )
        h = root.find(f"{{{NS_SOAPENV}}}Header")
        codigo = h.findtext(f"{{{NS_MH}}}messageHeader/{{{NS_MH}}}codigoPerfilAgente")
        user = h.findtext(f"{{{NS_WSSE}}}Security/{{{NS_WSSE}}}UsernameToken/{{{NS_WSSE}}}Username")
        pwd = h.findtext(f"{{{NS_WSSE}}}Security/{{{NS_WSSE}}}UsernameToken/{{{NS_WSSE}}}Password")
        if (user, pwd) != (self.username, self.password) or codigo != self.codigo:
            return 500, fault_envelope(
                "securityFault", "2001", "Acesso Negado",
                "Rejected: Usuario nao esta autorizado a usar o codigoPerfilAgente.", path,
                "00000000-0000-0000-0000-000000000001", faultactor="02",
            )
        if self.samples:
            return 200, (SAMPLES_DIR / f"{op.name}.response.xml").read_bytes()
        pag = h.find(f"{{{NS_MH}}}paginacao")
        numero = int(pag.findtext(f"{{{NS_MH}}}numero")) if pag is not None else 1
        size = int(pag.findtext(f"{{{NS_MH}}}quantidadeItens")) if pag is not None else 50
        return getattr(self, f"_{op.name}")(body_el, numero, size, path)

    def _bo(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{NS_BO}}}{name}")
        if text is not None:
            el.text = text
        return el

    def _evento(self, parent: etree._Element, codigo: str) -> None:
        ev = self._bo(parent, "eventoNotificacao")
        self._bo(ev, "codigo", codigo)
        ent, evt = codigo.split(".", 1)
        self._bo(self._bo(ev, "entidade"), "nome", ent)
        self._bo(self._bo(ev, "evento"), "nome", evt)

    def _respond(
        self, element: str, fill: Any, items: list[Any] | None, numero: int, size: int, path: str
    ) -> tuple[int, bytes]:
        env = etree.Element(
            f"{{{NS_SOAPENV}}}Envelope",
            nsmap={"hdr": NS_MH, "soapenv": NS_SOAPENV, "xsi": NS_XSI},
        )
        header = etree.SubElement(env, f"{{{NS_SOAPENV}}}Header")
        mh = etree.SubElement(header, f"{{{NS_MH}}}messageHeader")
        tid = etree.SubElement(mh, f"{{{NS_MH}}}transactionId")
        tid.text = "c8e02624-bab6-4f3e-a3c8-d7134d49a910"
        etree.SubElement(mh, f"{{{NS_MH}}}versao").set(f"{{{NS_XSI}}}nil", "true")
        page_items = None
        if items is not None:
            total = len(items)
            pages = max(1, -(-total // size))
            if total == 0 or numero > pages:
                return 500, fault_envelope(
                    "noDataFoundFault", "3001", "Nenhum dado encontrado",
                    "Nenhum registro encontrado", path, None,
                )
            page_items = items[(numero - 1) * size: numero * size]
            pg = etree.SubElement(header, f"{{{NS_MH}}}paginacao")
            for k, v in (("numero", numero), ("quantidadeItens", len(page_items)),
                         ("totalPaginas", pages), ("quantidadeTotalItens", total)):
                etree.SubElement(pg, f"{{{NS_MH}}}{k}").text = str(v)
        body = etree.SubElement(env, f"{{{NS_SOAPENV}}}Body")
        resp = etree.SubElement(body, f"{{{NS_BM}}}{element}", nsmap={"bmv2": NS_BM, "bov2": NS_BO})
        fill(resp, page_items)
        out = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
        validate_envelope(out)  # the server holds itself to the contract too
        return 200, out

    def _mensagem(self, element: str, text: str, path: str) -> tuple[int, bytes]:
        def fill(resp: etree._Element, _: Any) -> None:
            m = etree.SubElement(resp, f"{{{NS_BM}}}mensagem")
            self._bo(m, "descricao", text)
        return self._respond(element, fill, None, 1, 1, path)

    def _listarEventoNotificacao(
        self, body: etree._Element, numero: int, size: int, path: str
    ) -> tuple[int, bytes]:
        ent = body.findtext(f"{{{NS_BM}}}entidade/{{{NS_BO}}}nome") or ""
        evt = body.findtext(f"{{{NS_BM}}}evento/{{{NS_BO}}}nome") or ""
        items = [c for c in self.eventos
                 if (not ent or c.split(".")[0] == ent) and (not evt or c.split(".")[1] == evt)]

        def fill(resp: etree._Element, page: list[str]) -> None:
            lst = etree.SubElement(resp, f"{{{NS_BM}}}eventosNotificacao")
            for c in page:
                self._evento(lst, c)
        return self._respond("listarEventoNotificacaoResponse", fill, items, numero, size, path)

    def _listarPreferenciaNotificacao(
        self, body: etree._Element, numero: int, size: int, path: str
    ) -> tuple[int, bytes]:
        with self.lock:
            items = sorted(self.preferencias.items())

        def fill(resp: etree._Element, page: list[tuple[str, str]]) -> None:
            lst = etree.SubElement(resp, f"{{{NS_BM}}}preferencias")
            for codigo, url in page:
                p = self._bo(lst, "preferenciaNotificacao")
                self._bo(p, "enderecoDestino", url)
                self._evento(p, codigo)
        return self._respond(
            "listarPreferenciaNotificacaoResponse", fill, items, numero, size, path
        )

    def _pref(self, body: etree._Element) -> tuple[str, str | None]:
        p = body.find(f"{{{NS_BM}}}preferenciaNotificacao")
        return (
            p.findtext(f"{{{NS_BO}}}eventoNotificacao/{{{NS_BO}}}codigo") or "",
            p.findtext(f"{{{NS_BO}}}enderecoDestino"),
        )

    def _invalid(self, message: str, path: str) -> tuple[int, bytes]:
        return 500, fault_envelope(
            "invalidParametersFault", "3006", "Parâmetros Invalidos", message, path, None
        )

    def _incluirPreferenciaNotificacao(
        self, body: etree._Element, numero: int, size: int, path: str
    ) -> tuple[int, bytes]:
        codigo, url = self._pref(body)
        with self.lock:
            if codigo not in self.eventos:
                return self._invalid(f"Evento {codigo} inexistente", path)
            if codigo in self.preferencias:
                return self._invalid(f"Preferência para {codigo} já cadastrada", path)
            self.preferencias[codigo] = url or ""
        return self._mensagem("incluirPreferenciaNotificacaoResponse", MSG_INCLUIDA, path)

    def _atualizarPreferenciaNotificacao(
        self, body: etree._Element, numero: int, size: int, path: str
    ) -> tuple[int, bytes]:
        codigo, url = self._pref(body)
        with self.lock:
            if codigo not in self.preferencias:
                return self._invalid(f"Preferência para {codigo} inexistente", path)
            self.preferencias[codigo] = url or ""
        return self._mensagem("atualizarPreferenciaNotificacaoResponse", MSG_ATUALIZADA, path)

    def _excluirPreferenciaNotificacao(
        self, body: etree._Element, numero: int, size: int, path: str
    ) -> tuple[int, bytes]:
        codigo, _ = self._pref(body)
        with self.lock:
            if self.preferencias.pop(codigo, None) is None:
                return self._invalid(f"Preferência para {codigo} inexistente", path)
        return self._mensagem("excluirPreferenciaNotificacaoResponse", MSG_EXCLUIDA, path)

    def _listarResultadoNotificacao(
        self, body: etree._Element, numero: int, size: int, path: str
    ) -> tuple[int, bytes]:
        filters = {
            "evento": body.findtext(f"{{{NS_BM}}}eventoNotificacao/{{{NS_BO}}}codigo"),
            "dia": body.findtext(f"{{{NS_BM}}}periodo/{{{NS_BO}}}dia"),
            "situacao": body.findtext(f"{{{NS_BM}}}situacao/{{{NS_BO}}}nome"),
            "transactionId": body.findtext(f"{{{NS_BM}}}transactionId"),
        }
        items = [r for r in self.resultados
                 if all(not v or r.get(k) == v for k, v in filters.items())]

        def fill(resp: etree._Element, page: list[dict[str, str]]) -> None:
            lst = etree.SubElement(resp, f"{{{NS_BM}}}resultadosNotificacao")
            for r in page:
                el = self._bo(lst, "resultadoNotificacao")
                self._bo(el, "dataNotificacao", r["dataNotificacao"])
                self._bo(el, "dataOrigem", r["dataOrigem"])
                self._bo(self._bo(el, "participanteMercado"), "codigo", "666")
                p = self._bo(el, "preferenciaNotificacao")
                self._bo(p, "enderecoDestino", "https://receiver.example/ccee")
                self._evento(p, r["evento"])
                self._bo(self._bo(el, "situacao"), "nome", r["situacao"])
                self._bo(el, "transactionId", r["transactionId"])
        return self._respond("listarResultadoNotificacaoResponse", fill, items, numero, size, path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        with fake.lock:
            fake.requests.append(Recorded(
                self.path, dict(self.headers.items()), body, self.client_address[1], peer,
            ))
            scripted = fake.script.pop(0) if fake.script else None
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)  # the slow server under test, not synchronisation
            if scripted.drop:
                self.close_connection = True
                self.connection.close()
                return
            self._send(scripted.status, scripted.body)
            return
        status, out = fake.handle(self.path, dict(self.headers.items()), body)
        self._send(status, out)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeCCEE


class RunningServer:
    """Start/stop a FakeCCEE on 127.0.0.1:<free port>, optionally behind (mutual) TLS."""

    def __init__(self, fake: FakeCCEE, ssl_context: ssl.SSLContext | None = None) -> None:
        self.fake = fake
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.fake = fake
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> RunningServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
