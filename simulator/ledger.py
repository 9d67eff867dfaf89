"""The results ledger: one row per notification (per transactionId), plus its attempts.

It is what `listarResultadoNotificacao` reads, and what the dispatcher writes as attempts
succeed, fail or expire. Filters follow CCEE's (evento, dia, situacao, transactionId); `dia`
is the São Paulo calendar day of `dataOrigem` (our reading, docs/contracts.md).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

import msgspec

from ccee.contract import SITUACAO_AGUARDANDO, SITUACAO_EXPIRADO, SITUACAO_NOTIFICADO
from settings import ccee_day
from simulator.store import Database
from simulator.timefmt import from_db, to_db


class Notificacao(msgspec.Struct, frozen=True):
    transaction_id: str
    perfil: str
    participante_mercado: str
    codigo: str
    endereco_destino: str
    corpo: bytes
    situacao: str
    data_origem: datetime
    data_notificacao: datetime | None
    encerrado_em: datetime | None
    tentativas: int
    proxima_tentativa: int


class Tentativa(msgspec.Struct, frozen=True):
    numero: int
    agendada_em: datetime
    enviada_em: datetime
    status_http: int | None
    erro: str | None
    resposta_perdida: bool


class Filtro(msgspec.Struct, frozen=True):
    perfil: str
    evento: str | None = None
    dia: date | None = None
    situacao: str | None = None
    transaction_id: str | None = None


_COLUMNS = (
    "transaction_id, perfil, participante_mercado, codigo, endereco_destino, corpo, situacao, "
    "data_origem, data_notificacao, encerrado_em, tentativas, proxima_tentativa"
)


def _row(r: sqlite3.Row) -> Notificacao:
    g = r.__getitem__
    return Notificacao(
        transaction_id=g("transaction_id"),
        perfil=g("perfil"),
        participante_mercado=g("participante_mercado"),
        codigo=g("codigo"),
        endereco_destino=g("endereco_destino"),
        corpo=bytes(g("corpo")),
        situacao=g("situacao"),
        data_origem=from_db(g("data_origem")),
        data_notificacao=from_db(g("data_notificacao")) if g("data_notificacao") else None,
        encerrado_em=from_db(g("encerrado_em")) if g("encerrado_em") else None,
        tentativas=g("tentativas"),
        proxima_tentativa=g("proxima_tentativa"),
    )


class Ledger:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- writes (dispatcher) ---------------------------------------------------------------
    def create(
        self,
        *,
        transaction_id: str,
        perfil: str,
        participante_mercado: str,
        codigo: str,
        endereco_destino: str,
        corpo: bytes,
        data_origem: datetime,
    ) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO notificacoes (transaction_id, perfil, participante_mercado, codigo, "
                "endereco_destino, corpo, situacao, data_origem, dia) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    transaction_id,
                    perfil,
                    participante_mercado,
                    codigo,
                    endereco_destino,
                    corpo,
                    SITUACAO_AGUARDANDO,
                    to_db(data_origem),
                    ccee_day(data_origem).isoformat(),
                ),
            )

    def record_attempt(
        self,
        transaction_id: str,
        numero: int,
        agendada_em: datetime,
        enviada_em: datetime,
        status_http: int | None,
        erro: str | None,
        resposta_perdida: bool = False,
    ) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO tentativas VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    transaction_id,
                    numero,
                    to_db(agendada_em),
                    to_db(enviada_em),
                    status_http,
                    erro,
                    int(resposta_perdida),
                ),
            )
            conn.execute(
                "UPDATE notificacoes SET tentativas = tentativas + 1, proxima_tentativa = ? "
                "WHERE transaction_id = ?",
                (numero + 1, transaction_id),
            )

    def mark_notified(self, transaction_id: str, at: datetime) -> None:
        self._close(transaction_id, SITUACAO_NOTIFICADO, at, notified=True)

    def mark_expired(self, transaction_id: str, at: datetime) -> None:
        self._close(transaction_id, SITUACAO_EXPIRADO, at, notified=False)

    def _close(self, transaction_id: str, situacao: str, at: datetime, notified: bool) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE notificacoes SET situacao = ?, encerrado_em = ?, "
                "data_notificacao = CASE WHEN ? THEN ? ELSE data_notificacao END "
                "WHERE transaction_id = ?",
                (situacao, to_db(at), int(notified), to_db(at), transaction_id),
            )

    # -- reads -----------------------------------------------------------------------------
    def get(self, transaction_id: str) -> Notificacao | None:
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM notificacoes WHERE transaction_id = ?", (transaction_id,)
        )
        return _row(rows[0]) if rows else None

    def pending(self) -> list[Notificacao]:
        """Notifications still waiting (resumed by the dispatcher after a restart)."""
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM notificacoes WHERE situacao = ? ORDER BY seq",
            (SITUACAO_AGUARDANDO,),
        )
        return [_row(r) for r in rows]

    def attempts(self, transaction_id: str) -> list[Tentativa]:
        rows = self._db.query(
            "SELECT numero, agendada_em, enviada_em, status_http, erro, resposta_perdida "
            "FROM tentativas WHERE transaction_id = ? ORDER BY numero",
            (transaction_id,),
        )
        return [
            Tentativa(
                numero=r["numero"],
                agendada_em=from_db(r["agendada_em"]),
                enviada_em=from_db(r["enviada_em"]),
                status_http=r["status_http"],
                erro=r["erro"],
                resposta_perdida=bool(r["resposta_perdida"]),
            )
            for r in rows
        ]

    def search(self, filtro: Filtro, offset: int, limit: int) -> tuple[int, list[Notificacao]]:
        """(total matching, the page) in a stable order (creation order)."""
        where = ["perfil = ?"]
        params: list[object] = [filtro.perfil]
        if filtro.evento:
            where.append("codigo = ?")
            params.append(filtro.evento)
        if filtro.dia:
            where.append("dia = ?")
            params.append(filtro.dia.isoformat())
        if filtro.situacao:
            where.append("situacao = ?")
            params.append(filtro.situacao)
        if filtro.transaction_id:
            where.append("transaction_id = ?")
            params.append(filtro.transaction_id)
        clause = " AND ".join(where)
        total = self._db.query(
            f"SELECT count(*) AS n FROM notificacoes WHERE {clause}", tuple(params)
        )[0]["n"]
        rows = self._db.query(
            f"SELECT {_COLUMNS} FROM notificacoes WHERE {clause} ORDER BY seq LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return int(total), [_row(r) for r in rows]

    def stats(self) -> dict[str, object]:
        by_state = {
            r["situacao"]: r["n"]
            for r in self._db.query(
                "SELECT situacao, count(*) AS n FROM notificacoes GROUP BY situacao"
            )
        }
        attempts = self._db.query(
            "SELECT count(*) AS n, coalesce(sum(resposta_perdida), 0) AS perdidas, "
            "coalesce(sum(status_http = 201), 0) AS ok FROM tentativas"
        )[0]
        return {
            "notificacoes": sum(by_state.values()),
            "por_situacao": by_state,
            "tentativas": attempts["n"],
            "tentativas_201": attempts["ok"],
            "respostas_201_perdidas": attempts["perdidas"],
        }
