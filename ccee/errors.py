"""Typed errors of the CCEE client: what went wrong, in CCEE's own terms.

A SOAP fault from CCEE becomes a `CCEEFault` carrying CCEE's errorCode, message, uri and
transactionId; transport trouble (timeouts, refused connections, 5xx without a fault) becomes a
`CCEETransportError`. Messages never contain credentials.
"""

from __future__ import annotations

from typing import Any


class CCEEError(Exception):
    """Base of every error the CCEE client raises."""


class CCEEFault(CCEEError):
    """A SOAP fault answered by CCEE (or the simulator), with the FM v2 detail fields."""

    def __init__(
        self,
        error_code: str,
        message: str,
        uri: str | None = None,
        transaction_id: str | None = None,
        *,
        element: str | None = None,
        faultcode: str | None = None,
        faultstring: str | None = None,
        faultactor: str | None = None,
        perfil: str | None = None,
        usuario: str | None = None,
    ) -> None:
        self.error_code = error_code
        self.message = message
        self.uri = uri
        self.transaction_id = transaction_id
        self.element = element
        self.faultcode = faultcode
        self.faultstring = faultstring
        self.faultactor = faultactor
        self.perfil = perfil
        self.usuario = usuario
        super().__init__(self._describe())

    # CCEE's spelling, for callers that think in the WSDL's names.
    @property
    def errorCode(self) -> str:
        return self.error_code

    @property
    def transactionId(self) -> str | None:
        return self.transaction_id

    def _describe(self) -> str:
        kind = self.element or "fault"
        text = f"CCEE {kind} {self.error_code}: {self.message}"
        if self.faultstring and self.faultstring not in self.message:
            text += f" ({self.faultstring})"
        if self.uri:
            text += f" [uri {self.uri}]"
        if self.transaction_id:
            text += f" [transactionId {self.transaction_id}]"
        return text

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Keyword-only fields survive pickling (multiprocessing, Dagster).
        return (
            _rebuild_fault,
            (type(self), self.error_code, self.message, self.uri, self.transaction_id,
             dict(element=self.element, faultcode=self.faultcode, faultstring=self.faultstring,
                  faultactor=self.faultactor, perfil=self.perfil,
                  usuario=self.usuario)),
        )


def _rebuild_fault(
    cls: type[CCEEFault],
    error_code: str,
    message: str,
    uri: str | None,
    transaction_id: str | None,
    kwargs: dict[str, Any],
) -> CCEEFault:
    return cls(error_code, message, uri, transaction_id, **kwargs)


class AuthError(CCEEFault):
    """securityFault (errorCode 2001): credentials refused or a profile the user may not act for.

    CCEE does not say which of the three it refused, so the message names all three and the
    user and profile that were sent (never the password), with where each is configured."""

    def _describe(self) -> str:
        base = super()._describe()
        used = []
        if self.usuario:
            used.append(f"user {self.usuario!r}")
        if self.perfil:
            used.append(f"profile (codigoPerfilAgente) {self.perfil!r}")
        sent = f"; sent {' and '.join(used)} with a password (not shown)" if used else ""
        return (
            f"user, password or profile refused by CCEE{sent}. Check CCEE_WEBHOOK_USERNAME, "
            "CCEE_WEBHOOK_PASSWORD and CCEE_WEBHOOK_PERFIL (or the profile's [perfis.*] "
            f"entry in ccee-webhook.toml) and that the user may act for that profile. {base}"
        )


class InvalidParametersError(CCEEFault):
    """invalidParametersFault: CCEE rejected the request's parameters."""


class NoDataFoundError(CCEEFault):
    """noDataFoundFault: an empty answer. The client turns it into an empty result."""


class CCEETransportError(CCEEError):
    """Timeouts, connection errors and HTTP errors without a SOAP fault (after retries)."""

    def __init__(self, message: str, *, status_code: int | None = None, attempts: int = 1) -> None:
        self.status_code = status_code
        self.attempts = attempts
        super().__init__(message)


class ConfigError(CCEEError):
    """Missing or inconsistent configuration (profile, credentials, certificate)."""
