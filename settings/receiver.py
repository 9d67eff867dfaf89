"""The receiver's settings: flags > environment (`CCEE_WEBHOOK_*`) > TOML `[receiver]` > defaults.

Secrets (the URL tokens) come only from the environment or a tokens file (settings/tokens.py).

```toml
[receiver]
tokens_file = "/run/secrets/ccee-tokens"   # PERFIL:TOKEN lines; never the tokens themselves
allow_ips = ["200.0.0.0/24"]
max_body = "1MiB"
commit_delay_ms = 10
publish_after_ms = 1000
instance_id = "rcv-a-{pid}"
tls_cert = "/etc/ccee-webhook/cert.pem"
tls_key = "/etc/ccee-webhook/key.pem"
```
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from settings.config_file import ENV_PREFIX, SettingsError, load_config_file, table
from settings.paths import LakeLocation, data_dir, lake_location, parse_lake_url
from settings.tokens import SenderToken, tokens_from_env

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_COMMIT_DELAY_MS = 10.0
DEFAULT_PUBLISH_AFTER_MS = 1000.0


class ReceiverSettings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: str = "data"
    #: The lake: a local folder or `s3://bucket/prefix`; empty = the settings home's
    #: `lake_url()` (`$CCEE_WEBHOOK_LAKE_URL` > TOML `lake_url` > `<data_dir>/lake`).
    lake_url: str = ""
    tokens: tuple[SenderToken, ...] = ()
    insecure_no_token: bool = False
    max_body: int = DEFAULT_MAX_BODY
    allow_ips: tuple[str, ...] = ()
    tls_cert: str | None = None
    tls_key: str | None = None
    #: Written into every row's `instancia` and file names; default `<hostname>-<pid>`.
    instance_id: str | None = None
    log_requests: bool = True
    #: Group commit: longest a queued row waits for others to share its flush. Only matters
    #: under load: a batch is flushed at once when no other request is about to join it.
    commit_delay_ms: float = DEFAULT_COMMIT_DELAY_MS
    #: Rows are durable in the write-ahead log when answered 201 and reach the lake's Parquet
    #: files at the latest this long after (immediately when the receiver goes idle).
    publish_after_ms: float = DEFAULT_PUBLISH_AFTER_MS

    def resolved_instance_id(self) -> str:
        """The configured id (`{pid}` expands to the process id) or `<hostname>-<pid>`."""
        if self.instance_id:
            return self.instance_id.replace("{pid}", str(os.getpid()))
        return f"{socket.gethostname()}-{os.getpid()}"

    def lake(self) -> LakeLocation:
        """Where this receiver writes: `lake_url` if set, else the settings home's."""
        return parse_lake_url(self.lake_url) if self.lake_url else lake_location(self.data_dir)

    def validate(self) -> ReceiverSettings:
        """Check invariants the server relies on; returns self for chaining."""
        self.lake()  # refuses a malformed lake URL before the server starts
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


#: TOML `[receiver]` key → (environment variable, parser)
_SOURCES: dict[str, tuple[str, Any]] = {
    "max_body": ("MAX_BODY", lambda v: parse_size(str(v))),
    "allow_ips": ("ALLOW_IPS", lambda v: _split(v) if isinstance(v, str) else tuple(v)),
    "tls_cert": ("TLS_CERT", str),
    "tls_key": ("TLS_KEY", str),
    "instance_id": ("INSTANCE_ID", str),
    "commit_delay_ms": ("COMMIT_DELAY_MS", float),
    "publish_after_ms": ("PUBLISH_AFTER_MS", float),
}


def receiver_settings(
    env: Mapping[str, str] | None = None, **overrides: object
) -> ReceiverSettings:
    """Settings from flags (`overrides`, when not None) > env > TOML `[receiver]` > defaults."""
    env = os.environ if env is None else env
    path, data = load_config_file(env)
    toml = table(data, "receiver", path)
    unknown = set(toml) - {*_SOURCES, "tokens_file"}
    if unknown:
        raise SettingsError(
            f"{path} [receiver]: unknown key(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(sorted({*_SOURCES, 'tokens_file'}))}"
        )
    values: dict[str, object] = {
        "data_dir": str(data_dir(env=env)),
        "tokens": tokens_from_env(env, toml.get("tokens_file")),
    }
    for key, (env_name, parse) in _SOURCES.items():
        raw = env.get(ENV_PREFIX + env_name) or toml.get(key)
        if raw not in (None, ""):
            try:
                values[key] = parse(raw)
            except ValueError as exc:
                raise SettingsError(f"invalid {key}: {exc}") from None
    for key, value in overrides.items():
        if value is not None and value != ():
            values[key] = value
    return msgspec.convert(values, ReceiverSettings)
