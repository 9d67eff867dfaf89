"""Receiver settings: flags override environment (`CCEE_WEBHOOK_*`); secrets only from env/files."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

DEFAULT_MAX_BODY = 1024 * 1024

Persistence = Literal["group-commit", "fsync-per-request", "off"]


class SettingsError(ValueError):
    """Invalid configuration; the message never contains a token."""


class SenderToken(msgspec.Struct, frozen=True):
    """A URL token and the participant profile it is labelled with (`PERFIL:TOKEN`)."""

    token: str
    perfil: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"SenderToken(token='***', perfil={self.perfil!r})"

    __str__ = __repr__


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: str = "./data"
    tokens: tuple[SenderToken, ...] = ()
    insecure_no_token: bool = False
    max_body: int = DEFAULT_MAX_BODY
    allow_ips: tuple[str, ...] = ()
    tls_cert: str | None = None
    tls_key: str | None = None
    #: Written into every row's `instancia` and file names; default `<hostname>-<pid>`.
    instance_id: str | None = None
    #: `off` is NOT durable: validation-only, for the benchmark ceiling.
    persistence: Persistence = "group-commit"
    log_requests: bool = True
    #: Group commit: longest a queued row waits for others to share its flush. Only matters
    #: under load: a batch is flushed at once when no other request is about to join it.
    commit_delay_ms: float = 10.0
    #: Rows are durable in the write-ahead log when answered 201 and reach the lake's Parquet
    #: files at the latest this long after (immediately when the receiver goes idle).
    publish_after_ms: float = 1000.0

    def resolved_instance_id(self) -> str:
        """The configured id (`{pid}` expands to the process id) or `<hostname>-<pid>`."""
        if self.instance_id:
            return self.instance_id.replace("{pid}", str(os.getpid()))
        return f"{socket.gethostname()}-{os.getpid()}"

    def validate(self) -> Settings:
        """Check invariants the server relies on; returns self for chaining."""
        if not self.tokens and not self.insecure_no_token:
            raise SettingsError(
                "no receiver token configured: set CCEE_WEBHOOK_TOKENS (e.g. 'PERFIL:secret') "
                "or pass --insecure-no-token for a local, unauthenticated receiver"
            )
        if self.max_body < 1:
            raise SettingsError("max body size must be at least 1 byte")
        if self.publish_after_ms <= 0 or self.commit_delay_ms < 0:
            raise SettingsError("publish-after must be > 0 ms and commit delay >= 0 ms")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise SettingsError("TLS needs both a certificate and a key file")
        for path in (self.tls_cert, self.tls_key):
            if path and not Path(path).is_file():
                raise SettingsError(f"TLS file not found: {path}")
        for cidr in self.allow_ips:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise SettingsError(f"invalid CIDR in allow-list: {cidr!r}") from exc
        return self


def parse_tokens(text: str) -> tuple[SenderToken, ...]:
    """`tok1,PERFIL:tok2` → tokens; blank entries are ignored."""
    out = []
    for raw in text.replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        perfil, sep, token = entry.rpartition(":")
        if not sep:
            perfil, token = "", entry
        token = token.strip()
        if not token:
            raise SettingsError("empty token in CCEE_WEBHOOK_TOKENS")
        if any(c in token for c in "/?#%") or any(c.isspace() for c in token):
            raise SettingsError(
                "a token in CCEE_WEBHOOK_TOKENS contains characters not allowed in a URL "
                "path segment ('/', '?', '#', '%' or whitespace)"
            )
        out.append(SenderToken(token=token, perfil=perfil.strip() or None))
    return tuple(out)


def parse_size(text: str) -> int:
    """`1048576`, `512KiB`, `1MiB`, `2MB` → bytes."""
    units = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}
    value = text.strip().lower().replace(" ", "")
    digits = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = value[len(digits) :]
    if not digits.isdigit() or unit not in units:
        raise SettingsError(f"invalid size {text!r} (use bytes, KiB or MiB)")
    return int(digits) * units[unit]


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from `CCEE_WEBHOOK_*`; keyword overrides (from flags) win when not None."""
    env = os.environ if env is None else env
    tokens_text = env.get("CCEE_WEBHOOK_TOKENS", "")
    tokens_file = env.get("CCEE_WEBHOOK_TOKENS_FILE")
    if tokens_file:
        tokens_text += "," + Path(tokens_file).read_text(encoding="utf-8")
    values: dict[str, object] = {
        "data_dir": env.get("CCEE_WEBHOOK_DATA_DIR") or "./data",
        "tokens": parse_tokens(tokens_text),
        "max_body": parse_size(env.get("CCEE_WEBHOOK_MAX_BODY") or str(DEFAULT_MAX_BODY)),
        "allow_ips": _split(env.get("CCEE_WEBHOOK_ALLOW_IPS")),
        "tls_cert": env.get("CCEE_WEBHOOK_TLS_CERT") or None,
        "tls_key": env.get("CCEE_WEBHOOK_TLS_KEY") or None,
        "instance_id": env.get("CCEE_WEBHOOK_INSTANCE_ID") or None,
        "commit_delay_ms": float(env.get("CCEE_WEBHOOK_COMMIT_DELAY_MS") or 10.0),
        "publish_after_ms": float(env.get("CCEE_WEBHOOK_PUBLISH_AFTER_MS") or 1000.0),
    }
    for key, value in overrides.items():
        if value is not None and value != ():
            values[key] = value
    return msgspec.convert(values, Settings)
