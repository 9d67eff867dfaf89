"""The simulator's SQLite file: one connection, the schema, and a lock.

Preferences and the results ledger must survive a restart (CCEE keeps them), so they live
in a file; ":memory:" is accepted for throwaway runs.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS preferencias (
    perfil TEXT NOT NULL,
    codigo TEXT NOT NULL,
    endereco_destino TEXT NOT NULL,
    criado_em TEXT NOT NULL,
    atualizado_em TEXT NOT NULL,
    PRIMARY KEY (perfil, codigo)
);
CREATE TABLE IF NOT EXISTS notificacoes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id TEXT NOT NULL UNIQUE,
    perfil TEXT NOT NULL,
    participante_mercado TEXT NOT NULL,
    codigo TEXT NOT NULL,
    endereco_destino TEXT NOT NULL,
    corpo BLOB NOT NULL,
    situacao TEXT NOT NULL,
    data_origem TEXT NOT NULL,
    dia TEXT NOT NULL,
    data_notificacao TEXT,
    encerrado_em TEXT,
    tentativas INTEGER NOT NULL DEFAULT 0,
    proxima_tentativa INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notificacoes_filtro ON notificacoes (perfil, dia, codigo, situacao);
CREATE TABLE IF NOT EXISTS tentativas (
    transaction_id TEXT NOT NULL,
    numero INTEGER NOT NULL,
    agendada_em TEXT NOT NULL,
    enviada_em TEXT NOT NULL,
    status_http INTEGER,
    erro TEXT,
    resposta_perdida INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (transaction_id, numero)
);
"""


class Database:
    """A serialised SQLite connection (the simulator's writes are tiny and few)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
