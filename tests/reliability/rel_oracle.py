"""An independent oracle for CCEE's callback contract.

The oracle is written from the contract (docs/contracts.md, CCEE's guide), not from the
receiver's code, so the fuzz tests can catch the two disagreeing: a 201 for every JSON object
with a non-empty string transactionId and eventoNotificacao, with exactly the documented
`avisos`; the documented 4xx for everything else.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

EVENT_CODE = re.compile(r"[A-Z0-9_]+\.[A-Z0-9_]+")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
BOM = b"\xef\xbb\xbf"


#: The deviation codes of docs/contracts.md, in the order they are stored.
AVISOS = (
    "transaction_id_nao_uuid",
    "codigo_fora_do_padrao",
    "campo_extra",
    "metadados_ausentes",
    "metadados_vazios",
    "metadados_nao_lista",
    "metadado_nao_objeto",
    "metadado_campo_extra",
    "nome_ausente",
    "nome_nao_texto",
    "valor_ausente",
    "valor_nulo",
    "valor_nao_texto",
)


class Verdict(msgspec.Struct, frozen=True):
    """What the receiver must answer: 201 (with the `avisos` it must store), or the 4xx
    family with its `motivo`."""

    status: int
    motivo: str | None = None
    #: for schema failures: which rule of the contract the body breaks
    why: str | None = None
    avisos: tuple[str, ...] = ()


def _content_type_ok(value: str | None) -> bool:
    if value is None:
        return True
    media, _, params = value.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        return False
    for param in params.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


def _no_lone_surrogates(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_no_lone_surrogates(v) for v in value)
    if isinstance(value, dict):
        return all(_no_lone_surrogates(k) and _no_lone_surrogates(v) for k, v in value.items())
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def judge(body: bytes, content_type: str | None, max_body: int) -> Verdict:
    """The contract's answer for an authenticated POST of `body`."""
    if len(body) > max_body:
        return Verdict(413, "corpo_grande_demais")
    if not _content_type_ok(content_type):
        return Verdict(415, "tipo_de_conteudo")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return Verdict(400, "utf8_invalido")
    payload = body[len(BOM) :] if body.startswith(BOM) else body
    try:
        doc = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return Verdict(400, "json_invalido")
    if not _no_lone_surrogates(doc):
        return Verdict(400, "json_invalido")
    if not isinstance(doc, dict):
        return Verdict(422, "schema_invalido", "not an object")
    for name in ("transactionId", "eventoNotificacao"):
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            return Verdict(422, "schema_invalido", f"{name} missing, empty or not a string")
    return Verdict(201, avisos=deviations(doc))


def deviations(doc: dict[str, Any]) -> tuple[str, ...]:
    """The `avisos` a conforming receiver stores for an accepted callback."""
    found: set[str] = set()
    if UUID.fullmatch(doc["transactionId"]) is None:
        found.add("transaction_id_nao_uuid")
    if EVENT_CODE.fullmatch(doc["eventoNotificacao"]) is None:
        found.add("codigo_fora_do_padrao")
    if set(doc) - {"transactionId", "eventoNotificacao", "metadados"}:
        found.add("campo_extra")
    metadados = doc.get("metadados")
    if metadados is None:
        found.add("metadados_ausentes")
    elif not isinstance(metadados, list):
        found.add("metadados_nao_lista")
    elif not metadados:
        found.add("metadados_vazios")
    for m in metadados if isinstance(metadados, list) else []:
        if not isinstance(m, dict):
            found.add("metadado_nao_objeto")
            continue
        if set(m) - {"nome", "valor"}:
            found.add("metadado_campo_extra")
        if m.get("nome") is None:
            found.add("nome_ausente")
        elif not isinstance(m["nome"], str):
            found.add("nome_nao_texto")
        if "valor" not in m:
            found.add("valor_ausente")
        elif m["valor"] is None:
            found.add("valor_nulo")
        elif not isinstance(m["valor"], str):
            found.add("valor_nao_texto")
    return tuple(a for a in AVISOS if a in found)


def problem_ok(status: int, content_type: str | None, content: bytes) -> str | None:
    """None when `content` is a well-formed problem+json for `status`, else what is wrong."""
    if not (content_type or "").startswith("application/problem+json"):
        return f"content-type {content_type!r}"
    try:
        doc = json.loads(content)
    except ValueError:
        return "problem body is not JSON"
    if not isinstance(doc, dict) or doc.get("status") != status:
        return f"problem status {doc.get('status') if isinstance(doc, dict) else doc!r}"
    if not isinstance(doc.get("motivo"), str) or not isinstance(doc.get("detail"), str):
        return "problem lacks motivo/detail"
    return None
