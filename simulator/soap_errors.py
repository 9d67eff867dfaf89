"""The faults this local CCEE answers with, in CCEE's shape (HTTP 500, `Server.<code>`).

The texts and the choice of fault per situation are our reading, not CCEE's publication.
Codes and texts follow soap-samples/fault_catalog.json: 2001 securityFault (peer mock, text
corroborated by CCEE's guide), 3006 invalidParametersFault, 3001 noDataFoundFault and 4001
unexpectedTechnicalFault (real capture). Schema violations have no published code; we use
the FM v2 `unexpectedSchemaFault` element with errorCode 3006 ("invalid parameters"), the
nearest published code for "your request is wrong".
"""

from __future__ import annotations

from enum import Enum


class FaultKind(Enum):
    #: (FM element, errorCode, faultstring)
    SECURITY = ("securityFault", "2001", "Acesso Negado")
    SCHEMA = ("unexpectedSchemaFault", "3006", "Parâmetros Invalidos")
    INVALID_PARAMETERS = ("invalidParametersFault", "3006", "Parâmetros Invalidos")
    NO_DATA = ("noDataFoundFault", "3001", "Nenhum registro encontrado")
    TECHNICAL = ("unexpectedTechnicalFault", "4001", "Erro retornado pelo provedor da informação")

    @property
    def element(self) -> str:
        return self.value[0]

    @property
    def error_code(self) -> str:
        return self.value[1]

    @property
    def faultstring(self) -> str:
        return self.value[2]


#: CCEE's text for any authentication failure (we do not reveal which part was wrong).
MSG_NOT_AUTHORISED = "Rejected: Usuario nao esta autorizado a usar o codigoPerfilAgente."


class SimFault(Exception):
    """Raised anywhere in request handling; the SOAP endpoint turns it into a fault."""

    def __init__(self, kind: FaultKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
