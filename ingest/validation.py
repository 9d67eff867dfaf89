"""Request validation for CCEE callbacks: media type, UTF-8, JSON, `Mensagem` schema.

Each failure is a `Rejected` carrying the HTTP status, a machine reason (`motivo`, stored in
the quarantine) and a human detail naming exactly what is wrong (the problem's `detail`).
"""

from __future__ import annotations

import msgspec

from ccee.mensagem import Mensagem, decode_mensagem
from ingest.problems import field_of

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


def decode_body(body: bytes) -> tuple[Mensagem, str]:
    """Validate a callback body → (message, body as text, verbatim); raises `Rejected`."""
    try:
        corpo = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(
            400, "utf8_invalido", f"body is not valid UTF-8 (invalid byte at offset {exc.start})"
        ) from None
    payload = body[3:] if body.startswith(UTF8_BOM) else body  # RFC 8259 allows ignoring it
    try:
        return decode_mensagem(payload), corpo
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise Rejected(422, "schema_invalido", message, field_of(message)) from None
    except msgspec.DecodeError as exc:
        raise Rejected(400, "json_invalido", str(exc)) from None
    except RecursionError:
        # msgspec's decoder recurses per nesting level; a hostile body must not become a 500
        raise Rejected(400, "json_invalido", "JSON nested too deeply") from None
