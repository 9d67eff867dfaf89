"""Request validation for CCEE callbacks: media type, UTF-8, JSON, the acceptance rule.

CCEE's published contract types every field as a plain string and requires none, and a
refusal makes CCEE re-send for 24 h and then expire the notification. So the rule is liberal:
every JSON object with a non-empty string `transactionId` and `eventoNotificacao` is a
notification and is stored; each way it departs from the usual shape (`ccee.mensagem.Mensagem`)
becomes a short code in `avisos` (see `AVISOS`). Only what cannot be a notification fails, as
a `Rejected` carrying the HTTP status, a machine reason (`motivo`, stored in the quarantine)
and a human detail naming exactly what is wrong (the problem's `detail`).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ccee.mensagem import EVENT_CODE_PATTERN, UUID_PATTERN, decode_mensagem

UTF8_BOM = b"\xef\xbb\xbf"


class Rejected(Exception):
    """A request from an authenticated sender that fails validation (quarantined)."""

    def __init__(self, status: int, motivo: str, detail: str, campo: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.motivo, self.detail, self.campo = status, motivo, detail, campo


class TooLarge(Rejected):
    """Body over the limit; keeps the bounded prefix read so far for the quarantine."""

    def __init__(self, prefix: bytes, size: int, limit: int) -> None:
        super().__init__(
            413,
            "corpo_grande_demais",
            f"body of at least {size} bytes exceeds the limit of {limit} bytes",
        )
        self.prefix, self.size = prefix, size


def check_content_type(value: str | None) -> None:
    """JSON media types only (`application/json`, `*/*+json`), in UTF-8 if a charset is given.

    A missing Content-Type is accepted: CCEE's contract defines JSON only, and refusing would
    make every retry of a real delivery fail the same way.
    """
    if value is None:
        return
    media, _, params = value.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise Rejected(
            415, "tipo_de_conteudo", f"Content-Type must be application/json, got {value[:100]!r}"
        )
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise Rejected(
                415, "tipo_de_conteudo", f"JSON must be UTF-8, got charset {val.strip()[:40]!r}"
            )


#: Every deviation the receiver accepts and flags, in the order codes appear in `avisos`.
AVISOS: dict[str, str] = {
    "transaction_id_nao_uuid": "transactionId is not a UUID (8-4-4-4-12 hex digits)",
    "codigo_fora_do_padrao": "eventoNotificacao is not ENTIDADE.EVENTO in A-Z, 0-9, _",
    "campo_extra": "the body has fields other than eventoNotificacao, metadados, transactionId",
    "metadados_ausentes": "metadados is missing or null",
    "metadados_vazios": "metadados is an empty list",
    "metadados_nao_lista": "metadados is not a list (stored as an empty metadados list)",
    "metadado_nao_objeto": "a metadados entry is not an object (nome NULL, valor its JSON text)",
    "metadado_campo_extra": "a metadados entry has fields other than nome and valor",
    "nome_ausente": "a metadados entry has no nome, or nome is null (stored as NULL)",
    "nome_nao_texto": "a nome is not a string (stored as its JSON text)",
    "valor_ausente": "a metadados entry has no valor (stored as NULL)",
    "valor_nulo": 'a valor is JSON null, not the string "null" (stored as NULL)',
    "valor_nao_texto": "a valor is a number, boolean, list or object (stored as its JSON text)",
}
_ORDER = {code: i for i, code in enumerate(AVISOS)}

_UUID = re.compile(UUID_PATTERN)
_EVENT_CODE = re.compile(EVENT_CODE_PATTERN)
_FIELDS = frozenset(("eventoNotificacao", "metadados", "transactionId"))
_ENTRY_FIELDS = frozenset(("nome", "valor"))
_any_decoder = msgspec.json.Decoder()
_json_text = msgspec.json.Encoder(order="deterministic")

Par = tuple[str | None, str | None]


class Notificacao(msgspec.Struct, frozen=True):
    """An accepted callback: what is stored, and how it deviates from the usual shape."""

    transaction_id: str
    evento_notificacao: str
    metadados: list[Par]
    avisos: tuple[str, ...] = ()


def decode_body(body: bytes) -> tuple[Notificacao, str]:
    """Validate a callback body → (notification, body as text, verbatim); raises `Rejected`.

    The usual shape decodes in one typed pass (the fast path of nearly every delivery); any
    departure from it falls back to a generic decode that records what deviates.
    """
    try:
        corpo = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(
            400, "utf8_invalido", f"body is not valid UTF-8 (invalid byte at offset {exc.start})"
        ) from None
    payload = body[3:] if body.startswith(UTF8_BOM) else body  # RFC 8259 allows ignoring it
    try:
        m = decode_mensagem(payload)
    except msgspec.ValidationError:
        return _lenient(payload), corpo
    except msgspec.DecodeError as exc:
        raise Rejected(400, "json_invalido", str(exc)) from None
    except RecursionError:
        # msgspec's decoder recurses per nesting level; a hostile body must not become a 500
        raise Rejected(400, "json_invalido", "JSON nested too deeply") from None
    return Notificacao(
        m.transactionId,
        m.eventoNotificacao,
        [(x.nome, x.valor) for x in m.metadados],
        () if m.metadados else ("metadados_vazios",),
    ), corpo


def _kind(value: Any) -> str:
    """JSON type name of a decoded value, for error details."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _required_text(doc: dict[str, Any], field: str) -> str:
    value = doc.get(field)
    if field not in doc:
        message = f"Object missing required field `{field}`"
    elif not isinstance(value, str):
        message = f"`{field}` must be a non-empty string, got {_kind(value)}"
    elif not value:
        message = f"`{field}` must be a non-empty string, got an empty string"
    else:
        return value
    raise Rejected(422, "schema_invalido", message, f"$.{field}")


def _text(value: Any, avisos: set[str], code: str) -> str:
    """A non-string nome/valor as its JSON text (the verbatim body keeps the original)."""
    avisos.add(code)
    return _json_text.encode(value).decode("utf-8")


def _entry(entry: Any, avisos: set[str]) -> Par:
    if not isinstance(entry, dict):
        avisos.add("metadado_nao_objeto")
        return None, _json_text.encode(entry).decode("utf-8")
    if not entry.keys() <= _ENTRY_FIELDS:
        avisos.add("metadado_campo_extra")
    nome = entry.get("nome")
    if nome is None:
        avisos.add("nome_ausente")
    elif not isinstance(nome, str):
        nome = _text(nome, avisos, "nome_nao_texto")
    valor = entry.get("valor")
    if "valor" not in entry:
        avisos.add("valor_ausente")
    elif valor is None:
        avisos.add("valor_nulo")
    elif not isinstance(valor, str):
        valor = _text(valor, avisos, "valor_nao_texto")
    return nome, valor


def _lenient(payload: bytes) -> Notificacao:
    """The acceptance rule on a body that is not of the usual shape (already valid JSON)."""
    try:
        doc = _any_decoder.decode(payload)
    except msgspec.DecodeError as exc:  # unreachable in practice: the typed pass parsed it
        raise Rejected(400, "json_invalido", str(exc)) from None
    except RecursionError:
        raise Rejected(400, "json_invalido", "JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise Rejected(422, "schema_invalido", f"Expected `object`, got `{_kind(doc)}`", "$")
    transaction_id = _required_text(doc, "transactionId")
    evento = _required_text(doc, "eventoNotificacao")
    avisos: set[str] = set()
    if not _UUID.match(transaction_id):
        avisos.add("transaction_id_nao_uuid")
    if not _EVENT_CODE.match(evento):
        avisos.add("codigo_fora_do_padrao")
    if not doc.keys() <= _FIELDS:
        avisos.add("campo_extra")
    raw = doc.get("metadados")
    metadados: list[Par] = []
    if raw is None:
        avisos.add("metadados_ausentes")
    elif not isinstance(raw, list):
        avisos.add("metadados_nao_lista")
    elif not raw:
        avisos.add("metadados_vazios")
    else:
        metadados = [_entry(e, avisos) for e in raw]
    return Notificacao(
        transaction_id, evento, metadados, tuple(sorted(avisos, key=_ORDER.__getitem__))
    )
