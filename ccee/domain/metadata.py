"""Metadata names CCEE sends and their types: name → DuckDB type + parser.

A parser is a SQL expression over the raw text `{v}` (never NULL when evaluated) that yields
the typed value or NULL when the text does not parse. Parsers are strict on purpose: a value
that does not match is kept verbatim in `erros_conversao` rather than rounded or guessed.
Names not listed here become VARCHAR columns. Add a name here to type it from the next run on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ccee.domain.events import CONTRATO, MONTANTE_ENERGIA


@dataclass(frozen=True)
class Tipo:
    """A DuckDB column type and the SQL that parses raw text into it."""

    duckdb: str
    parser: str

    def parse(self, raw_sql: str) -> str:
        return self.parser.format(v=raw_sql)


TEXTO = Tipo("VARCHAR", "{v}")
INTEIRO = Tipo(
    "BIGINT",
    r"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]{{1,19}}') "
    r"THEN TRY_CAST({v} AS BIGINT) END",
)
INSTANTE = Tipo(
    "TIMESTAMPTZ",
    r"CASE WHEN regexp_full_match({v}, "
    r"'[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ][0-9:.]+(Z|[+-][0-9:]+)?') "
    r"THEN TRY_CAST({v} AS TIMESTAMPTZ) END",
)
DATA = Tipo(
    "DATE",
    r"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
    r"THEN TRY_CAST({v} AS DATE) END",
)
MES = Tipo(
    "DATE",
    r"CASE WHEN regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}') "
    r"THEN TRY_STRPTIME({v}, '%Y-%m')::DATE END",
)
DECIMAL_18_6 = Tipo(
    "DECIMAL(18,6)",
    r"CASE WHEN regexp_full_match({v}, "
    r"'[+-]?[0-9]{{1,12}}(\.[0-9]{{1,6}})?') "
    r"THEN TRY_CAST({v} AS DECIMAL(18,6)) END",
)
LOGICO = Tipo("BOOLEAN", "CASE lower({v}) WHEN 'true' THEN true WHEN 'false' THEN false END")

# Metadata names exactly as CCEE sends them.
ID_CONTRATO = "ID_CONTRATO"
DATA_ORIGEM_EVENTO = "DATA_ORIGEM_EVENTO"
MES_REFERENCIA = "MES_REFERENCIA"
AMBIENTE_CONTRATACAO = "AMBIENTE_CONTRATACAO"
SUBMERCADO = "SUBMERCADO"
MONTANTE_MWH = "MONTANTE_MWH"

#: Known metadata names and their types.
REGISTRO: dict[str, Tipo] = {
    ID_CONTRATO: INTEIRO,
    DATA_ORIGEM_EVENTO: INSTANTE,  # CCEE's event time: decides what is in force (invariant 5)
    MES_REFERENCIA: MES,
    AMBIENTE_CONTRATACAO: TEXTO,  # open set (ACL, ACR, …): new values must not break a load
    SUBMERCADO: TEXTO,
    MONTANTE_MWH: DECIMAL_18_6,
}

#: Entities whose tables always exist, with these columns first (CCEE's documented metadata),
#: so readers can rely on them before the first notification of the kind arrives.
ENTIDADES: dict[str, tuple[str, ...]] = {
    CONTRATO: (ID_CONTRATO, DATA_ORIGEM_EVENTO, MES_REFERENCIA, AMBIENTE_CONTRATACAO),
    MONTANTE_ENERGIA: (
        ID_CONTRATO,
        DATA_ORIGEM_EVENTO,
        MES_REFERENCIA,
        SUBMERCADO,
        MONTANTE_MWH,
        AMBIENTE_CONTRATACAO,
    ),
}

_POR_TIPO: dict[str, Tipo] = {
    t.duckdb: t for t in (TEXTO, INTEIRO, INSTANTE, DATA, DECIMAL_18_6, LOGICO)
}


def tipo_de(nome: str) -> Tipo:
    """The registry type of a metadata name; unknown names are text."""
    return REGISTRO.get(nome, TEXTO)


def parser_para(nome: str, duckdb_type: str) -> Tipo:
    """Parser for an existing column: the registry's if it still agrees with the column type."""
    registered = REGISTRO.get(nome)
    if registered is not None and registered.duckdb == duckdb_type:
        return registered
    return _POR_TIPO.get(duckdb_type, Tipo(duckdb_type, "TRY_CAST({v} AS " + duckdb_type + ")"))
