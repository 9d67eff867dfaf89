"""Sender authentication: CCEE does not sign callbacks, so the destination URL is the secret.

Tokens are compared in constant time against *every* configured token (no early exit, equal
length digests), so response timing says nothing about how close a guess was.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

from settings import SenderToken

REDACTED = "***"
#: Callbacks arrive at PREFIX/{token}[/anything]: the segment after it is the secret.
PREFIX = "/ccee"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


class TokenMatcher:
    def __init__(self, tokens: Iterable[SenderToken]) -> None:
        self._entries = [(_digest(t.token), t) for t in tokens]
        self._secrets = sorted({t.token for t in tokens}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Replace any configured token inside `text` (e.g. a path tail) by `***`."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    @property
    def enabled(self) -> bool:
        return bool(self._entries)

    def match(self, candidate: str) -> SenderToken | None:
        """The configured token equal to `candidate`, or None; always checks all of them."""
        probe = _digest(candidate)
        found: SenderToken | None = None
        for digest, entry in self._entries:
            if hmac.compare_digest(digest, probe) and found is None:
                found = entry
        return found


def split_token(path_rest: str) -> tuple[str, str]:
    """`/TOKEN/a/b` → (`TOKEN`, `/a/b`); `/TOKEN` → (`TOKEN`, ``)."""
    token, sep, tail = path_rest.lstrip("/").partition("/")
    return token, (sep + tail)


def redacted_destino(prefix: str, tail: str) -> str:
    """The stored/logged path: the token segment replaced by `***`."""
    return f"{prefix}/{REDACTED}{tail}"


class IpAllowList:
    """Optional client-IP allow-list (CIDRs); empty means everyone may connect."""

    def __init__(self, cidrs: Iterable[str]) -> None:
        self._nets = [ipaddress.ip_network(c, strict=False) for c in cidrs]

    @property
    def enabled(self) -> bool:
        return bool(self._nets)

    def allows(self, host: str | None) -> bool:
        if not self._nets:
            return True
        if not host:
            return False
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr.version == net.version and addr in net for net in self._nets)
