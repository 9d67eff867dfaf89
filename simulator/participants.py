"""The market participants this local CCEE knows, and the WS-Security check against them.

A participant is a (username, password, codigoPerfilAgente) triple plus the
participanteMercado code CCEE reports in delivery results. One user may act for several
profiles (a consultancy): that is several entries with the same username.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Mapping

import msgspec


class Participant(msgspec.Struct, frozen=True):
    username: str
    password: str
    perfil: str
    #: `participanteMercado/codigo` in results (CCEE's sample shows e.g. `666`).
    codigo_participante: str

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return (
            f"Participant(username={self.username!r}, password='***', "
            f"perfil={self.perfil!r}, codigo_participante={self.codigo_participante!r})"
        )

    __str__ = __repr__


class Participants:
    """Lookup and authentication. Authentication compares in constant time."""

    def __init__(self, participants: list[Participant]) -> None:
        if not participants:
            raise ValueError("at least one participant is required")
        perfis = [p.perfil for p in participants]
        if len(set(perfis)) != len(perfis):
            raise ValueError("each codigoPerfilAgente may be configured once")
        self._by_perfil = {p.perfil: p for p in participants}

    def all(self) -> list[Participant]:
        return list(self._by_perfil.values())

    def perfis(self) -> list[str]:
        return list(self._by_perfil)

    def get(self, perfil: str) -> Participant | None:
        return self._by_perfil.get(perfil)

    def authenticate(self, username: str, password: str, perfil: str) -> Participant | None:
        """The participant if this user may act for `perfil` with this password, else None."""
        p = self._by_perfil.get(perfil)
        if p is None:
            # Burn the same comparison time for unknown profiles.
            hmac.compare_digest(password.encode(), b"x" * max(1, len(password)))
            return None
        user_ok = hmac.compare_digest(username.encode(), p.username.encode())
        pass_ok = hmac.compare_digest(password.encode(), p.password.encode())
        return p if user_ok and pass_ok else None


class DefaultParticipant(msgspec.Struct, frozen=True):
    participant: Participant
    #: True when the credentials were generated here (so the CLI may print them once).
    generated: bool


def default_participant(env: Mapping[str, str] | None = None) -> DefaultParticipant:
    """The participant from CCEE_WEBHOOK_USERNAME/_PASSWORD/_PERFIL, or a generated one.

    All three or none: a partial configuration is an error, not a silent fallback.
    """
    env = os.environ if env is None else env
    names = ("CCEE_WEBHOOK_USERNAME", "CCEE_WEBHOOK_PASSWORD", "CCEE_WEBHOOK_PERFIL")
    values = [env.get(n) or "" for n in names]
    if all(values):
        username, password, perfil = values
        return DefaultParticipant(
            Participant(username, password, perfil, codigo_participante=_codigo_for(perfil)),
            generated=False,
        )
    if any(values):
        missing = ", ".join(n for n, v in zip(names, values, strict=True) if not v)
        raise ValueError(f"incomplete simulator participant: set {missing} too (or none)")
    perfil = str(secrets.randbelow(90000) + 10000)
    return DefaultParticipant(
        Participant(
            username=f"sim-{secrets.token_hex(3)}",
            password=secrets.token_urlsafe(18),
            perfil=perfil,
            codigo_participante=perfil,
        ),
        generated=True,
    )


def _codigo_for(perfil: str) -> str:
    """CCEE's participant code: the profile code itself when numeric, else a stable number."""
    if perfil.isdigit():
        return perfil
    return str(int.from_bytes(perfil.encode()[:4].ljust(4, b"\0"), "big") % 90000 + 10000)
