"""CCEE's business entities and the notification event codes it publishes for them.

An event code is `ENTIDADE.EVENTO` (`CONTRATO.VALIDADO`). The codes below are those seen in
CCEE's recorded samples and guide; CCEE may publish more, and every part must accept codes
it does not know (they are stored and surfaced, never dropped).
"""

from __future__ import annotations

#: A contract between two market participants (its lifecycle: `ccee.domain.lifecycle`).
CONTRATO = "CONTRATO"
#: A monthly energy amount (MWh) declared for a contract, per reference month and submarket.
MONTANTE_ENERGIA = "MONTANTE_ENERGIA"

ENTIDADES: tuple[str, ...] = (CONTRATO, MONTANTE_ENERGIA)

#: CONTRATO.* events (the `evento` part).
REGISTRADO = "REGISTRADO"
VALIDADO = "VALIDADO"
ATUALIZADO = "ATUALIZADO"
CANCELADO = "CANCELADO"
CANCELAMENTO_VALIDADO = "CANCELAMENTO_VALIDADO"
CONCLUIDO = "CONCLUIDO"
FINALIZADO = "FINALIZADO"
FINALIZACAO_VALIDADA = "FINALIZACAO_VALIDADA"
#: MONTANTE_ENERGIA.* events: a declaration (AJUSTADO) and its validation (VALIDADO); both
#: carry the amount, and the one with the latest DATA_ORIGEM_EVENTO is the amount in force.
AJUSTADO = "AJUSTADO"

EVENTOS_CONTRATO: tuple[str, ...] = (
    REGISTRADO,
    VALIDADO,
    ATUALIZADO,
    CANCELADO,
    CANCELAMENTO_VALIDADO,
    CONCLUIDO,
    FINALIZADO,
    FINALIZACAO_VALIDADA,
)
EVENTOS_MONTANTE: tuple[str, ...] = (AJUSTADO, VALIDADO)


def codigo(entidade: str, evento: str) -> str:
    """The wire code of an entity's event: `CONTRATO` + `VALIDADO` → `CONTRATO.VALIDADO`."""
    return f"{entidade}.{evento}"


#: Every event code CCEE is known to publish (the simulator's default catalogue).
CODIGOS: tuple[str, ...] = (
    *(codigo(CONTRATO, e) for e in EVENTOS_CONTRATO),
    *(codigo(MONTANTE_ENERGIA, e) for e in EVENTOS_MONTANTE),
)
