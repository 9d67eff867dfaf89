"""`notificacoes` + `metadados` → one wide, typed `eventos_<entidade>` table per entity.

The mapping from wire names to tables and columns is remembered in two small catalog tables,
so a name keeps its column forever (collisions get `_2`, `_3`, … in order of first sight,
ties broken alphabetically), a new name is an `ALTER TABLE ADD COLUMN`, and history is
never rewritten by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import duckdb

from ccee.domain.metadata import ENTIDADES, parser_para, tipo_de
from pipelines.core.connections import transaction
from pipelines.core.names import quote_ident, snake_ascii, unique_name

FIXED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("transaction_id", "VARCHAR NOT NULL"),
    ("perfil", "VARCHAR"),
    ("evento_notificacao", "VARCHAR"),
    ("evento", "VARCHAR"),
    ("recebido_em", "TIMESTAMPTZ"),
    ("dt", "DATE NOT NULL"),
)
ERROS = "erros_conversao"
RESERVED = {c for c, _ in FIXED_COLUMNS} | {ERROS}

DDL = """
CREATE TABLE IF NOT EXISTS _catalogo_entidades (
    entidade VARCHAR NOT NULL PRIMARY KEY, tabela VARCHAR NOT NULL UNIQUE,
    criado_em TIMESTAMPTZ DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS _catalogo_colunas (
    entidade VARCHAR NOT NULL, nome VARCHAR NOT NULL, coluna VARCHAR NOT NULL,
    tipo VARCHAR NOT NULL, ordem INTEGER NOT NULL,
    criado_em TIMESTAMPTZ DEFAULT current_timestamp, PRIMARY KEY (entidade, nome));
"""


class CatalogColumn(NamedTuple):
    """One row of `_catalogo_colunas`: a wire name, its column, its DuckDB type, its place."""

    nome: str
    coluna: str
    tipo: str
    ordem: int


class Statement(NamedTuple):
    """SQL text and the named parameters (`$name`) it is executed with."""

    sql: str
    params: dict[str, Any]


@dataclass
class EntityLoad:
    """Per-entity rows, typed values and cast failures of one load."""

    linhas: dict[str, int] = field(default_factory=dict)
    valores_tipados: int = 0
    erros_conversao: int = 0
    tabelas_novas: list[str] = field(default_factory=list)
    colunas_novas: list[str] = field(default_factory=list)

    @property
    def taxa_erros(self) -> float:
        return self.erros_conversao / self.valores_tipados if self.valores_tipados else 0.0


def ensure_catalog(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT entidade, tabela FROM _catalogo_entidades").fetchall())


def _register_entities(
    con: duckdb.DuckDBPyConnection, entidades: list[str], carga: EntityLoad
) -> dict[str, str]:
    known = _tables(con)
    existing = set(
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    )
    for entidade in sorted(set(entidades) - set(known)):
        base = "eventos_" + snake_ascii(entidade, fallback="sem_entidade")
        tabela = unique_name(base, set(known.values()) | existing)
        con.execute(
            "INSERT INTO _catalogo_entidades (entidade, tabela) VALUES (?, ?)", [entidade, tabela]
        )
        known[entidade] = tabela
        carga.tabelas_novas.append(tabela)
    return known


def _register_columns(
    con: duckdb.DuckDBPyConnection,
    entidade: str,
    tabela: str,
    nomes: list[str],
    carga: EntityLoad,
) -> list[CatalogColumn]:
    """Columns of an entity, adding any new name; in catalog order.

    `nomes` comes in first-seen order. A new table is created with all its columns before
    `erros_conversao`; names that appear later are appended with ALTER TABLE ADD COLUMN.
    """
    new_table = tabela in carga.tabelas_novas
    rows = [
        CatalogColumn(*r)
        for r in con.execute(
            "SELECT nome, coluna, tipo, ordem FROM _catalogo_colunas WHERE entidade = ? "
            "ORDER BY ordem",
            [entidade],
        ).fetchall()
    ]
    known = {r.nome for r in rows}
    taken = RESERVED | {r.coluna for r in rows}
    ordem = max((r.ordem for r in rows), default=-1)
    for nome in [n for n in nomes if n not in known]:
        coluna = unique_name(snake_ascii(nome), taken)
        taken.add(coluna)
        tipo = tipo_de(nome).duckdb
        ordem += 1
        if not new_table:
            con.execute(
                f"ALTER TABLE {quote_ident(tabela)} ADD COLUMN {quote_ident(coluna)} {tipo}"
            )
        con.execute(
            "INSERT INTO _catalogo_colunas (entidade, nome, coluna, tipo, ordem) "
            "VALUES (?, ?, ?, ?, ?)",
            [entidade, nome, coluna, tipo, ordem],
        )
        rows.append(CatalogColumn(nome, coluna, tipo, ordem))
        carga.colunas_novas.append(f"{tabela}.{coluna}")
    if new_table:
        cols = [f"{quote_ident(c)} {t}" for c, t in FIXED_COLUMNS]
        cols += [f"{quote_ident(r.coluna)} {r.tipo}" for r in rows]
        cols.append(f"{quote_ident(ERROS)} VARCHAR")
        con.execute(f"CREATE TABLE {quote_ident(tabela)} ({', '.join(cols)})")
    return rows


def _insert_sql(tabela: str, entidade: str, colunas: list[CatalogColumn]) -> Statement:
    """The INSERT of one entity's rows for days [$lo, $hi] (parameters bound by the caller's
    `lo`/`hi`): one column per catalogued name, typed by the registry's parser, cast failures
    kept as JSON in `erros_conversao`.

    Identifiers are quoted; every value (metadata names, the entity, column names used as
    JSON keys) is a named parameter. `tests/pipelines/golden/` holds the text for a small
    registry.
    """
    params: dict[str, Any] = {"entidade": entidade}
    raw_cols, typed_cols, errs = [], [], []
    for i, col in enumerate(colunas):
        raw = f"_r{i}"
        params[f"nome_{i}"] = col.nome
        raw_cols.append(
            f"arg_min_null(m.valor, m.posicao) FILTER (WHERE m.nome = $nome_{i}) AS {raw}"
        )
        parsed = parser_para(col.nome, col.tipo).parse(raw)
        if col.tipo == "VARCHAR":
            typed_cols.append(f"{raw} AS {quote_ident(col.coluna)}")
        else:
            params[f"coluna_{i}"] = col.coluna
            typed_cols.append(
                f"CASE WHEN {raw} IS NOT NULL THEN {parsed} END AS {quote_ident(col.coluna)}"
            )
            errs.append(
                f"{{'k': $coluna_{i}, 'v': CASE WHEN {raw} IS NOT NULL "
                f"AND ({parsed}) IS NULL THEN {raw} END}}"
            )
    erros = "NULL::VARCHAR"
    if errs:
        lst = f"list_filter([{', '.join(errs)}], lambda x: x.v IS NOT NULL)"
        erros = f"CASE WHEN len({lst}) > 0 THEN to_json(map_from_entries({lst}))::VARCHAR END"
    fixed = ", ".join(quote_ident(c) for c, _ in FIXED_COLUMNS)
    target = ", ".join([fixed, *(quote_ident(c.coluna) for c in colunas), quote_ident(ERROS)])
    raw_select = "".join(f",\n                   {c}" for c in raw_cols)
    typed_select = "".join(f",\n               {c}" for c in typed_cols)
    sql = f"""
        INSERT INTO {quote_ident(tabela)} ({target})
        WITH brutos AS (
            SELECT n.transaction_id, any_value(n.perfil) AS perfil,
                   any_value(n.evento_notificacao) AS evento_notificacao,
                   any_value(n.evento) AS evento, any_value(n.primeiro_recebimento) AS recebido_em,
                   any_value(n.dt) AS dt{raw_select}
            FROM notificacoes n
            LEFT JOIN metadados m ON m.transaction_id = n.transaction_id AND m.dt = n.dt
              AND m.dt BETWEEN $lo AND $hi
            WHERE n.dt BETWEEN $lo AND $hi
              AND coalesce(n.entidade, '') = $entidade
            GROUP BY n.transaction_id
        )
        SELECT transaction_id, perfil, evento_notificacao, evento, recebido_em, dt{typed_select},
               {erros}
        FROM brutos ORDER BY dt, recebido_em, transaction_id
    """
    return Statement(sql, params)


def load_entity_tables(con: duckdb.DuckDBPyConnection, d0: date, d1: date) -> EntityLoad:
    """Replace days [d0, d1] in every `eventos_<entidade>` table, in one transaction."""
    carga = EntityLoad()
    days = {"lo": d0, "hi": d1}
    ensure_catalog(con)
    with transaction(con):
        pares = con.execute(
            """
            SELECT coalesce(n.entidade, '') AS entidade, m.nome, min(m.posicao) AS p
            FROM notificacoes n
            LEFT JOIN metadados m ON m.transaction_id = n.transaction_id AND m.dt = n.dt
              AND m.dt BETWEEN $lo AND $hi
            WHERE n.dt BETWEEN $lo AND $hi
            GROUP BY ALL ORDER BY entidade, p NULLS LAST, m.nome
            """,
            days,
        ).fetchall()
        nomes: dict[str, list[str]] = {e: list(ns) for e, ns in ENTIDADES.items()}
        for entidade, nome, _ in pares:
            nomes.setdefault(entidade, [])
            if nome is not None and nome not in nomes[entidade]:
                nomes[entidade].append(nome)
        presentes = {p[0] for p in pares}
        tabelas = _register_entities(con, list(nomes), carga)
        for entidade, tabela in sorted(tabelas.items()):
            colunas = _register_columns(con, entidade, tabela, nomes.get(entidade, []), carga)
            con.execute(f"DELETE FROM {quote_ident(tabela)} WHERE dt BETWEEN $lo AND $hi", days)
            if entidade not in presentes:
                continue
            insert = _insert_sql(tabela, entidade, colunas)
            con.execute(insert.sql, {**insert.params, **days})
            typed = [c.coluna for c in colunas if c.tipo != "VARCHAR"]
            counts = ", ".join(f"count({quote_ident(c)})" for c in typed) or "0"
            row = con.execute(
                f"""
                SELECT count(*), coalesce(sum(len(json_keys({quote_ident(ERROS)}::JSON))), 0),
                       {counts}
                FROM {quote_ident(tabela)} WHERE dt BETWEEN $lo AND $hi
                """,
                days,
            ).fetchone()
            assert row is not None
            carga.linhas[tabela] = int(row[0])
            carga.erros_conversao += int(row[1])
            carga.valores_tipados += int(row[1]) + sum(int(x) for x in row[2:] if typed)
    return carga


def entity_tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """entidade → table name, for every entity ever seen."""
    ensure_catalog(con)
    return _tables(con)
