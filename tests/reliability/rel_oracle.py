"""An independent oracle for CCEE's callback contract.

The oracle is written from the contract (docs/contracts.md, CCEE's guide), not from the
receiver's code, so the fuzz tests can catch the two disagreeing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

EVENT_CODE = re.compile(r"[A-Z0-9_]+\.[A-Z0-9_]+")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
BOM = b"\xef\xbb\xbf"


class Verdict(msgspec.Struct, frozen=True):
    """What the receiver must answer: 201, or the 4xx family with its `motivo`."""

    status: int
    motivo: str | None = None
    #: for schema failures: which rule of the contract the body breaks
    why: str | None = None


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
        return Verdict(422, "schema_invalido")
    evento, tid, metadados = (
        doc.get("eventoNotificacao"),
        doc.get("transactionId"),
        doc.get("metadados"),
    )
    if not isinstance(evento, str) or EVENT_CODE.fullmatch(evento) is None:
        why = "eventoNotificacao is not ENTIDADE.EVENTO"
        if isinstance(evento, str) and EVENT_CODE.fullmatch(evento.removesuffix("\n")):
            why = "eventoNotificacao with a trailing newline"
        return Verdict(422, "schema_invalido", why)
    if not isinstance(tid, str) or UUID.fullmatch(tid) is None:
        why = "transactionId is not a UUID"
        if isinstance(tid, str) and UUID.fullmatch(tid.removesuffix("\n")):
            why = "transactionId with a trailing newline"
        return Verdict(422, "schema_invalido", why)
    if not isinstance(metadados, list) or not all(
        isinstance(m, dict) and isinstance(m.get("nome"), str) and isinstance(m.get("valor"), str)
        for m in metadados
    ):
        return Verdict(422, "schema_invalido", "metadados is not a list of {nome, valor} strings")
    return Verdict(201)


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
