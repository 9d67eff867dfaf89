"""HTTP for the CCEE client: mutual TLS, connection reuse, bounded retries.

One `requests.Session` (keep-alive pool) carries every call of a client. The client
certificate (PFX/P12 or PEM) is loaded into an `ssl.SSLContext` held in memory; a PFX's key is
re-encrypted with a random one-time passphrase in a 0600 temporary file that is removed as soon
as the context has read it. Request bodies (they carry the WS-Security password) are never
logged.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from requests.adapters import HTTPAdapter
from zeep.transports import Transport

from ccee.config import Profile
from ccee.errors import CCEETransportError, ConfigError
from ccee.faults import parse_fault

log = logging.getLogger(__name__)

#: Statuses worth retrying when the body is not a SOAP fault.
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in delay."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return (rng or random).uniform(cap / 2, cap)


def _is_pkcs12(path: Path) -> bool:
    return path.suffix.lower() in (".pfx", ".p12")


def _load_pkcs12_into(ctx: ssl.SSLContext, path: Path, password: str | None) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read client certificate {path}: {exc.strerror}") from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password is not None else None
        )
    except ValueError as exc:
        # cryptography's message never includes the password.
        raise ConfigError(
            f"cannot open client certificate {path}: wrong password or not a PFX/P12 file"
        ) from exc
    if key is None or cert is None:
        raise ConfigError(f"client certificate {path} holds no private key or no certificate")
    one_time = secrets.token_urlsafe(32).encode()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_time),
    ) + cert.public_bytes(serialization.Encoding.PEM)
    for c in extra or ():
        pem += c.public_bytes(serialization.Encoding.PEM)
    fd, tmp = tempfile.mkstemp(prefix="ccee-cert-", suffix=".pem")  # mkstemp: mode 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        ctx.load_cert_chain(tmp, password=one_time)
    finally:
        os.unlink(tmp)


def build_ssl_context(profile: Profile) -> ssl.SSLContext:
    """Server verification (system CAs or the profile's CA bundle) + the client certificate."""
    try:
        ctx = ssl.create_default_context(
            cafile=str(profile.ca_bundle) if profile.ca_bundle else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load CA bundle {profile.ca_bundle}: {exc}") from exc
    if profile.cert is None:
        return ctx
    password = profile.cert_password.reveal() if profile.cert_password else None
    if _is_pkcs12(profile.cert):
        _load_pkcs12_into(ctx, profile.cert, password)
    else:
        try:
            ctx.load_cert_chain(
                str(profile.cert),
                str(profile.key) if profile.key else None,
                password=password,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load PEM client certificate {profile.cert}"
                f"{' / key ' + str(profile.key) if profile.key else ''}: "
                "wrong password, missing key or not PEM"
            ) from exc
    return ctx


class _SSLContextAdapter(HTTPAdapter):
    """Hands our SSLContext (with the client certificate) to urllib3's pools."""

    def __init__(self, ctx: ssl.SSLContext, **kwargs: Any) -> None:
        self._ctx = ctx
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ctx
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._ctx
        return super().proxy_manager_for(*args, **kwargs)


def build_session(profile: Profile, pool_size: int = 4) -> requests.Session:
    session = requests.Session()
    if profile.url.startswith("https://"):
        adapter = _SSLContextAdapter(
            build_ssl_context(profile), pool_connections=pool_size, pool_maxsize=pool_size
        )
        session.mount("https://", adapter)
    return session


class RetryingTransport(Transport):
    """zeep transport: unquoted SOAPAction (as CCEE's samples), bounded retries, no body logs.

    Retried: timeouts, connection errors, 429 and 5xx whose body is not a SOAP fault. An HTTP
    500 carrying a SOAP fault is CCEE's answer and goes to zeep untouched (no retry). Other
    non-200 answers without a fault become a `CCEETransportError`.
    """

    def __init__(
        self,
        session: requests.Session,
        timeout: float,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(session=session, timeout=timeout, operation_timeout=timeout)
        self.policy = policy
        self._sleep = sleep
        self.attempts_log: list[str] = []

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        headers = dict(headers)
        action = headers.get("SOAPAction")
        if action:
            headers["SOAPAction"] = action.strip('"')
        last_problem = ""
        last_status: int | None = None
        for attempt in range(1, self.policy.attempts + 1):
            try:
                response = self.session.post(
                    address, data=message, headers=headers, timeout=self.operation_timeout
                )
            except requests.Timeout:
                last_problem, last_status = f"timeout after {self.operation_timeout}s", None
            except requests.ConnectionError as exc:
                last_problem, last_status = f"connection error ({type(exc).__name__})", None
            else:
                status = response.status_code
                if status == 200:
                    return response
                if parse_fault(response.content) is not None:
                    return response  # CCEE's fault: zeep raises it, we map it.
                if status not in RETRY_STATUSES:
                    raise CCEETransportError(
                        f"{address}: HTTP {status} without a SOAP fault",
                        status_code=status,
                        attempts=attempt,
                    )
                last_problem, last_status = f"HTTP {status} without a SOAP fault", status
            self.attempts_log.append(last_problem)
            if attempt < self.policy.attempts:
                delay = self.policy.delay(attempt)
                log.warning(
                    "CCEE call to %s failed (%s); retry %d/%d in %.2fs",
                    address,
                    last_problem,
                    attempt,
                    self.policy.attempts - 1,
                    delay,
                )
                self._sleep(delay)
        raise CCEETransportError(
            f"{address}: {last_problem} (gave up after {self.policy.attempts} attempts)",
            status_code=last_status,
            attempts=self.policy.attempts,
        )
