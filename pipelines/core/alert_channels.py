"""Where alerts go besides `alerts.jsonl`: a JSON webhook (httpx) and e-mail (smtplib).

A channel either delivers one alert or raises `ChannelError` with a message that carries no
secret (only the exception type and, for HTTP, the status code): the caller keeps the alert in
its outbox and retries later. Timeouts are short so a dead channel never holds the sensor.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import httpx
import msgspec

from pipelines.core.alerts_log import Alert
from settings.alerts import AlertSettings


class ChannelError(RuntimeError):
    """The channel did not take the alert; the message names no secret."""


class Channel(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


_ICON = {"aberto": "🔴", "resolvido": "✅"}


def _when(a: Alert) -> str:
    return a.em.strftime("%Y-%m-%d %H:%M UTC")


def text(a: Alert) -> str:
    """The human message: what, how many, the first and last affected, what to open."""
    head = f"{_ICON[a.estado]} [{a.estado.upper()}] {a.regra}: {a.titulo}"
    lines = [head, f"incident {a.chave}, opened {a.aberto_em.strftime('%Y-%m-%d %H:%M UTC')}"]
    if a.estado == "resolvido":
        lines.append(f"cleared at {_when(a)}")
    if a.primeiro_transaction_id:
        lines.append(
            f"first: {a.primeiro_transaction_id}"
            + (f" ({a.primeiro_em.isoformat(timespec='minutes')})" if a.primeiro_em else "")
        )
    if a.ultimo_transaction_id and a.ultimo_transaction_id != a.primeiro_transaction_id:
        lines.append(
            f"last: {a.ultimo_transaction_id}"
            + (f" ({a.ultimo_em.isoformat(timespec='minutes')})" if a.ultimo_em else "")
        )
    if a.consulta:
        lines.append(f"open: {a.consulta}")
    if a.painel:
        lines.append(f"dashboard: {a.painel}")
    return "\n".join(lines)


def webhook_body(a: Alert) -> dict[str, Any]:
    """`text` for Slack/Teams-style incoming webhooks plus every structured field."""
    body: dict[str, Any] = msgspec.to_builtins(a)
    body["text"] = a.texto
    return body


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout = timeout_s

    def __repr__(self) -> str:
        return "WebhookChannel(url='***')"

    def send(self, alert: Alert) -> None:
        try:
            r = httpx.post(
                self._url, json=webhook_body(alert), timeout=self._timeout, trust_env=False
            )
        except httpx.HTTPError as exc:  # the exception text may contain the URL: not shown
            raise ChannelError(f"webhook unreachable ({type(exc).__name__})") from None
        if not 200 <= r.status_code < 300:
            raise ChannelError(f"webhook answered HTTP {r.status_code}")


class EmailChannel:
    """SMTP with STARTTLS (smtp://, refused if the server does not offer it when a user is
    given) or implicit TLS (smtps://); login when the URL names a user."""

    name = "email"

    def __init__(self, s: AlertSettings) -> None:
        assert s.smtp_url is not None
        parts = urlsplit(s.smtp_url)
        self._implicit_tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._implicit_tls else 587)
        self._user = unquote(parts.username) if parts.username else None
        self._password = s.smtp_password
        self._to = list(s.email_to)
        self._from = s.email_from or f"ccee-webhook@{self._host}"
        self._timeout = s.channel_timeout_s
        self._tls = ssl.create_default_context(cafile=s.smtp_ca_file)

    def __repr__(self) -> str:
        return f"EmailChannel({self._host}:{self._port}, to={self._to})"

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[ccee-webhook] {alert.estado.upper()} {alert.regra}: {alert.titulo}"[
            :200
        ]
        msg["From"] = self._from
        msg["To"] = ", ".join(self._to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=alert.id, domain="ccee-webhook")
        msg.set_content(alert.texto + "\n")
        return msg

    def send(self, alert: Alert) -> None:
        try:
            if self._implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self._timeout, context=self._tls
                )
            else:
                smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            with smtp:
                smtp.ehlo()
                if not self._implicit_tls:
                    if smtp.has_extn("starttls"):
                        smtp.starttls(context=self._tls)
                        smtp.ehlo()
                    elif self._user:
                        raise ChannelError("SMTP server offers no STARTTLS; login refused")
                if self._user:
                    smtp.login(self._user, self._password or "")
                smtp.send_message(self.message(alert))
        except ChannelError:
            raise
        except smtplib.SMTPResponseException as exc:  # code only: the text may echo input
            raise ChannelError(f"SMTP refused ({exc.smtp_code})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"SMTP unreachable ({type(exc).__name__})") from None


def configured(s: AlertSettings) -> list[Channel]:
    """The external channels the settings enable (none by default)."""
    out: list[Channel] = []
    if s.webhook_url:
        out.append(WebhookChannel(s.webhook_url, s.channel_timeout_s))
    if s.smtp_url:
        out.append(EmailChannel(s))
    return out
