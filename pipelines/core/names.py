"""Identifier hygiene: metadata and entity names from the wire become safe ASCII snake_case.

Names arrive from CCEE (or anyone holding a token) and become DuckDB identifiers, so they are
normalised *and* always quoted; a name never reaches SQL unquoted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_IDENTIFIER = 63

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def snake_ascii(name: str, *, fallback: str = "campo") -> str:
    """`Data Origem (Evento)` → `data_origem_evento`; `ÁREA` → `area`; `dataOrigem` → `data_origem`.

    Accents are stripped (NFKD), camelCase is split, anything not `[a-z0-9]` becomes `_`.
    A leading digit gets an `m_` prefix; an empty result becomes `fallback`.
    """
    ascii_only = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    spaced = _CAMEL.sub("_", ascii_only).lower()
    cleaned = _NON_ALNUM.sub("_", spaced).strip("_")
    if not cleaned:
        cleaned = fallback
    if cleaned[0].isdigit():
        cleaned = f"m_{cleaned}"
    return cleaned[:MAX_IDENTIFIER].rstrip("_")


def unique_name(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base_2`, `base_3`, … : the first one not in `taken` (deterministic)."""
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = f"{base[: MAX_IDENTIFIER - len(suffix)]}{suffix}"
        if candidate not in used:
            return candidate
        n += 1


def quote_ident(name: str) -> str:
    """A DuckDB quoted identifier (embedded double quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal (embedded single quotes doubled): only for file paths in
    `read_parquet([...])` table expressions, where DuckDB takes no parameters."""
    return "'" + value.replace("'", "''") + "'"
