"""Notification preferences: one destination URL per event code per profile (CCEE's rule)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import msgspec

from simulator.store import Database
from simulator.timefmt import to_db


class Preferencia(msgspec.Struct, frozen=True):
    perfil: str
    codigo: str
    endereco_destino: str


class PreferenceError(Exception):
    """Base for preference rule violations (mapped to CCEE faults by the SOAP layer)."""

    def __init__(self, codigo: str) -> None:
        super().__init__(codigo)
        self.codigo = codigo


class PreferenceExists(PreferenceError):
    """incluir on a code that already has a destination for this profile."""


class PreferenceNotFound(PreferenceError):
    """atualizar/excluir on a code without a destination for this profile."""


class PreferenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def incluir(self, perfil: str, codigo: str, endereco: str, now: datetime) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO preferencias VALUES (?, ?, ?, ?, ?)",
                    (perfil, codigo, endereco, to_db(now), to_db(now)),
                )
        except sqlite3.IntegrityError:
            raise PreferenceExists(codigo) from None

    def atualizar(self, perfil: str, codigo: str, endereco: str, now: datetime) -> None:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE preferencias SET endereco_destino = ?, atualizado_em = ? "
                "WHERE perfil = ? AND codigo = ?",
                (endereco, to_db(now), perfil, codigo),
            )
            if cur.rowcount == 0:
                raise PreferenceNotFound(codigo)

    def excluir(self, perfil: str, codigo: str) -> None:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM preferencias WHERE perfil = ? AND codigo = ?", (perfil, codigo)
            )
            if cur.rowcount == 0:
                raise PreferenceNotFound(codigo)

    def listar(self, perfil: str) -> list[Preferencia]:
        rows = self._db.query(
            "SELECT perfil, codigo, endereco_destino FROM preferencias WHERE perfil = ? "
            "ORDER BY codigo",
            (perfil,),
        )
        return [Preferencia(r["perfil"], r["codigo"], r["endereco_destino"]) for r in rows]

    def destino(self, perfil: str, codigo: str) -> str | None:
        rows = self._db.query(
            "SELECT endereco_destino FROM preferencias WHERE perfil = ? AND codigo = ?",
            (perfil, codigo),
        )
        return rows[0]["endereco_destino"] if rows else None
