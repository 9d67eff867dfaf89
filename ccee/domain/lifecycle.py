"""The contract lifecycle as a state machine: OUR READING of CCEE's guide, not CCEE's text.

CCEE publishes one notification per step of a contract (`CONTRATO.<EVENTO>`) but does not
publish the state machine itself. From the codes and their documented meaning we read:

    REGISTRADO ──▶ VALIDADO ──▶ CONCLUIDO ──▶ FINALIZADO ──▶ FINALIZACAO_VALIDADA (end)
        │            ▲  │  │
        │            │  ▼  └──────────────┐
        │         ATUALIZADO             │
        ▼                                 ▼
    CANCELADO ──▶ CANCELAMENTO_VALIDADO (end)      (VALIDADO ──▶ CANCELADO as well)

- A contract is registered, then validated or cancelled.
- A validated contract may be updated (ATUALIZADO), which needs a new validation (VALIDADO).
- A validated contract is concluded, finalised and the finalisation validated; or cancelled
  and the cancellation validated. Those two validations are terminal: nothing follows them.
- MONTANTE_ENERGIA events belong to another entity and do not move the contract's state.

The state of a contract is its latest CONTRATO event by DATA_ORIGEM_EVENTO (CCEE's retries
deliver out of order). A sequence is anomalous at the first step that is not an allowed
transition, or at any event after a terminal state. The first event seen needs no
predecessor: a contract registered before our data starts is normal.
"""

from __future__ import annotations

import itertools

from ccee.domain.events import (
    ATUALIZADO,
    CANCELADO,
    CANCELAMENTO_VALIDADO,
    CONCLUIDO,
    FINALIZACAO_VALIDADA,
    FINALIZADO,
    REGISTRADO,
    VALIDADO,
)

#: The first state of every contract.
INICIAL = REGISTRADO

#: state → the states that may follow it.
TRANSICOES: dict[str, frozenset[str]] = {
    REGISTRADO: frozenset({VALIDADO, CANCELADO}),
    VALIDADO: frozenset({ATUALIZADO, CONCLUIDO, CANCELADO}),
    ATUALIZADO: frozenset({VALIDADO}),
    CONCLUIDO: frozenset({FINALIZADO}),
    FINALIZADO: frozenset({FINALIZACAO_VALIDADA}),
    CANCELADO: frozenset({CANCELAMENTO_VALIDADO}),
    FINALIZACAO_VALIDADA: frozenset(),
    CANCELAMENTO_VALIDADO: frozenset(),
}

#: States after which the contract sees no further event.
TERMINAIS: frozenset[str] = frozenset({FINALIZACAO_VALIDADA, CANCELAMENTO_VALIDADO})

ESTADOS: tuple[str, ...] = tuple(TRANSICOES)

#: Kinds of anomaly (stable short codes) and the reason stored in `contratos.anomalia`.
TRANSICAO_NAO_PREVISTA = "transicao_nao_prevista"
APOS_TERMINAL = "evento_apos_terminal"
ROTULOS: dict[str, str] = {
    TRANSICAO_NAO_PREVISTA: "transição não prevista",
    APOS_TERMINAL: "evento após estado terminal",
}


def permitida(de: str, para: str) -> bool:
    """True when `para` may follow `de` in the lifecycle."""
    return para in TRANSICOES.get(de, frozenset())


def pares_permitidos() -> list[tuple[str, str]]:
    """Every allowed (from, to) pair, sorted: the table the warehouse's detector joins."""
    return sorted((de, para) for de, seguintes in TRANSICOES.items() for para in seguintes)


def motivo(tipo: str, de: str, para: str) -> str:
    """The short reason an analyst reads: `<kind label>: DE → PARA`."""
    return f"{ROTULOS[tipo]}: {de} → {para}"


def anomalia(eventos: list[str]) -> tuple[str, str] | None:
    """(kind, reason) of the first rule a sequence (in event-time order) breaks, else None."""
    for de, para in itertools.pairwise(eventos):
        if de in TERMINAIS:
            return APOS_TERMINAL, motivo(APOS_TERMINAL, de, para)
        if not permitida(de, para):
            return TRANSICAO_NAO_PREVISTA, motivo(TRANSICAO_NAO_PREVISTA, de, para)
    return None
