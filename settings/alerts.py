"""Alert settings: thresholds, channels; env `CCEE_WEBHOOK_ALERT_*` > TOML `[alerts]` > defaults.

Secrets never come from the TOML file: the webhook URL (its path usually *is* the token of a
Slack/Teams incoming webhook) and the SMTP password are read from the environment or from a
file named by `…_FILE`.

```toml
[alerts]
silence_minutes = 60            # no delivery received while CCEE has some waiting
data_loss_grace_minutes = 60    # NOTIFICADO younger than this may not be loaded yet
lookback_days = 7               # results looked at by the data-loss rule
expiration_window_hours = 48    # an expiration keeps its incident open this long
quarantine_spike = 50           # quarantined requests within quarantine_window_minutes
quarantine_window_minutes = 60
pull_failing_minutes = 180      # results pull failing for this long
max_messages_per_hour = 20      # per channel; the rest waits in the outbox
smtp_url = "smtp://alertas@mail.example.com:587"   # no password here
email_to = ["plantao@example.com"]
email_from = "ccee-webhook@example.com"
smtp_ca_file = "/etc/ssl/private-ca.pem"           # optional, a relay with a private CA
dashboard_url = "http://reports.example.com/delivery_health.html"
```
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from settings.config_file import ENV_PREFIX, SettingsError, load_config_file, table

ALERT_ENV_PREFIX = f"{ENV_PREFIX}ALERT_"
WEBHOOK_URL_ENV = f"{ALERT_ENV_PREFIX}WEBHOOK_URL"
SMTP_URL_ENV = f"{ALERT_ENV_PREFIX}SMTP_URL"
SMTP_PASSWORD_ENV = f"{ALERT_ENV_PREFIX}SMTP_PASSWORD"
EMAIL_TO_ENV = f"{ALERT_ENV_PREFIX}EMAIL_TO"

#: TOML keys that would hold a secret: refused there, with a pointer to the env variable.
_SECRET_KEYS = {"webhook_url": WEBHOOK_URL_ENV, "smtp_password": SMTP_PASSWORD_ENV}


class AlertSettings(msgspec.Struct, frozen=True, kw_only=True):
    silence_minutes: float = 60.0
    data_loss_grace_minutes: float = 60.0
    lookback_days: int = 7
    expiration_window_hours: float = 48.0
    quarantine_spike: int = 50
    quarantine_window_minutes: float = 60.0
    pull_failing_minutes: float = 180.0
    max_messages_per_hour: int = 20
    #: seconds a channel gets per message before it counts as down (retried later)
    channel_timeout_s: float = 10.0
    webhook_url: str | None = None
    smtp_url: str | None = None
    smtp_password: str | None = None
    smtp_ca_file: str | None = None
    email_to: tuple[str, ...] = ()
    email_from: str | None = None
    dashboard_url: str | None = None

    def __repr__(self) -> str:  # the webhook URL and the password are secrets
        shown = {
            f: ("***" if f in _SECRET_KEYS and getattr(self, f) else getattr(self, f))
            for f in self.__struct_fields__
        }
        return f"AlertSettings({shown})"

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """Every secret string an alert or an error message must never contain."""
        out = [s for s in (self.smtp_password,) if s]
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            out += [self.webhook_url, *(p for p in (parts.path, parts.query) if len(p) > 1)]
            out += [seg for seg in parts.path.split("/") if len(seg) >= 8]
            if parts.password:
                out.append(parts.password)
        return tuple(out)

    def validate(self) -> AlertSettings:
        for name in (
            "silence_minutes", "data_loss_grace_minutes", "expiration_window_hours",
            "quarantine_window_minutes", "pull_failing_minutes", "channel_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise SettingsError(f"[alerts] {name} must be > 0")
        if self.lookback_days < 1 or self.quarantine_spike < 1 or self.max_messages_per_hour < 1:
            raise SettingsError(
                "[alerts] lookback_days, quarantine_spike and max_messages_per_hour must be >= 1"
            )
        if self.webhook_url and urlsplit(self.webhook_url).scheme not in ("http", "https"):
            raise SettingsError(f"{WEBHOOK_URL_ENV} must be an http(s) URL")
        if self.smtp_url:
            parts = urlsplit(self.smtp_url)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise SettingsError(
                    f"{SMTP_URL_ENV} must look like smtp://user@host:587 (STARTTLS) or "
                    "smtps://user@host:465"
                )
            if parts.password:
                raise SettingsError(
                    f"{SMTP_URL_ENV} must not carry the password: set {SMTP_PASSWORD_ENV} "
                    f"or {SMTP_PASSWORD_ENV}_FILE"
                )
            if not self.email_to:
                raise SettingsError(f"{SMTP_URL_ENV} is set but {EMAIL_TO_ENV} is empty")
        return self


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """`$NAME`, else the first line of the file `$NAME_FILE` (stripped)."""
    if env.get(name):
        return env[name].strip()
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise SettingsError(f"{name}_FILE: cannot read {path} ({exc.strerror})") from None


def _addresses(value: object) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return tuple(str(a).strip() for a in items if str(a).strip())


#: TOML `[alerts]` key → parser (each key also reads `CCEE_WEBHOOK_ALERT_<KEY>`)
_SOURCES: dict[str, Any] = {
    "silence_minutes": float,
    "data_loss_grace_minutes": float,
    "lookback_days": int,
    "expiration_window_hours": float,
    "quarantine_spike": int,
    "quarantine_window_minutes": float,
    "pull_failing_minutes": float,
    "max_messages_per_hour": int,
    "channel_timeout_s": float,
    "smtp_url": str,
    "smtp_ca_file": str,
    "email_to": _addresses,
    "email_from": str,
    "dashboard_url": str,
}


def alert_settings(env: Mapping[str, str] | None = None) -> AlertSettings:
    """Settings from env > TOML `[alerts]` > defaults, validated."""
    env = os.environ if env is None else env
    path, data = load_config_file(env)
    toml = table(data, "alerts", path)
    for key, env_name in _SECRET_KEYS.items():
        if key in toml:
            raise SettingsError(
                f"{path} [alerts]: {key} is a secret and is not read from the file; set "
                f"{env_name} or {env_name}_FILE"
            )
    unknown = set(toml) - set(_SOURCES)
    if unknown:
        raise SettingsError(
            f"{path} [alerts]: unknown key(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(sorted(_SOURCES))}"
        )
    values: dict[str, object] = {}
    for key, parse in _SOURCES.items():
        raw = env.get(ALERT_ENV_PREFIX + key.upper()) or toml.get(key)
        if raw not in (None, ""):
            try:
                values[key] = parse(raw)
            except (TypeError, ValueError):
                raise SettingsError(f"[alerts] invalid {key}: {raw!r}") from None
    values["webhook_url"] = _secret(env, WEBHOOK_URL_ENV)
    values["smtp_password"] = _secret(env, SMTP_PASSWORD_ENV)
    return msgspec.convert(values, AlertSettings).validate()
