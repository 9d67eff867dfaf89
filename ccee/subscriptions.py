"""Subscriptions as code: a YAML file of desired preferences, diffed against CCEE and applied.

```yaml
perfil: "88888"              # optional: refuse to run against another codigoPerfilAgente
preferencias:
  CONTRATO.REGISTRADO: https://receiver.example.com/ccee/${RECEIVER_TOKEN}
  MONTANTE_ENERGIA.VALIDADO: https://receiver.example.com/ccee/${RECEIVER_TOKEN}
```
`${VAR}` is read from the environment so the token stays out of the file; every value taken
from the environment (and every receiver token in `CCEE_WEBHOOK_TOKENS`) is redacted wherever
a URL is shown.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
import yaml

from ccee.mensagem import is_event_code
from settings import TOKENS_ENV, SettingsError, tokens_from_env

if TYPE_CHECKING:  # zeep loads only when a plan is made against CCEE
    from ccee.client import CCEEClient

_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_QUERY_KEYS = re.compile(r"token|key|secret|senha|password|sig", re.IGNORECASE)
_SECRET_ENV_NAME = re.compile(r"TOKEN|SECRET", re.IGNORECASE)
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_\-.~]{16,}")
REDACTED = "***"
#: the keys a subscriptions file may have at its top level
FILE_KEYS = ("perfil", "preferencias")


def _looks_random(segment: str) -> bool:
    return any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)


Acao = Literal["add", "update", "delete", "unchanged"]


class SubscriptionsError(ValueError):
    """The subscriptions file is unreadable or invalid (message says where and why)."""


class DesiredPreference(msgspec.Struct, frozen=True):
    """A desired preference: the URL as written (template) and as sent (resolved)."""

    codigo: str
    template: str
    url: str


class PlanChange(msgspec.Struct, frozen=True):
    """One line of a plan. URLs here are already redacted: safe to print."""

    acao: Acao
    codigo: str
    atual: str | None
    desejado: str | None


class Plan(msgspec.Struct, frozen=True):
    mudancas: list[PlanChange]

    def count(self, acao: Acao) -> int:
        return sum(1 for m in self.mudancas if m.acao == acao)

    @property
    def has_changes(self) -> bool:
        return any(m.acao != "unchanged" for m in self.mudancas)

    def summary(self) -> str:
        return (
            f"{self.count('add')} to add, {self.count('update')} to update, "
            f"{self.count('delete')} to delete, {self.count('unchanged')} unchanged"
        )


class Redactor:
    """Hides secret values (and secret-looking query parameters) in URLs shown to people."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str], extra: Iterable[str] = ()) -> Redactor:
        """Secrets known from the environment: receiver tokens and any *TOKEN*/*SECRET* var."""
        try:
            tokens = [t.token for t in tokens_from_env(env)]
        except SettingsError:
            # A malformed token list is the receiver's to refuse; redact what can be read.
            raw = env.get(TOKENS_ENV, "").split(",")
            tokens = [item.rpartition(":")[2].strip() for item in raw]
        tokens += [v for k, v in env.items() if _SECRET_ENV_NAME.search(k) and len(v) >= 8]
        return cls([*tokens, *extra])

    def __call__(self, url: str | None) -> str | None:
        if url is None:
            return None
        out = url
        for s in self.secrets:
            out = out.replace(s, REDACTED)
        try:
            parts = urlsplit(out)
        except ValueError:
            return out
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{host}"
        # A token-like path segment (long, letters and digits) is redacted even when unknown,
        # and so is the segment after `/ccee/`: the receiver's token slot, whatever it holds.
        segs = parts.path.split("/")
        path = "/".join(
            REDACTED
            if (i > 0 and segs[i - 1] == "ccee" and seg)
            or (_TOKEN_SEGMENT.fullmatch(seg) and _looks_random(seg))
            else seg
            for i, seg in enumerate(segs)
        )
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, REDACTED if _SECRET_QUERY_KEYS.search(k) else v) for k, v in pairs],
                safe="*",
            )
        return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def expand(template: str, env: Mapping[str, str], where: str) -> tuple[str, list[str]]:
    """Resolve `${VAR}` from the environment; returns (url, secret values used)."""
    used: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env or env[name] == "":
            raise SubscriptionsError(f"{where}: environment variable {name} is not set")
        used.append(env[name])
        return env[name]

    return _VAR_RE.sub(sub, template), used


def _check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SubscriptionsError(f"{where}: destination must be an http(s) URL")


def load_desired(
    path: Path, env: Mapping[str, str] | None = None
) -> tuple[list[DesiredPreference], str | None, list[str]]:
    """(desired preferences, the file's `perfil` if any, secret values used)."""
    env = os.environ if env is None else env
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SubscriptionsError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise SubscriptionsError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SubscriptionsError(f"{path}: expected a mapping with 'preferencias'")
    perfil = data.get("perfil")
    structured = any(k in data for k in FILE_KEYS)
    if structured:
        _refuse_unknown_keys(path, data)
    elif data and not any(isinstance(k, str) and is_event_code(k) for k in data):
        # Neither the documented layout nor a bare code → URL mapping: most likely a typo.
        _refuse_unknown_keys(path, data)
    prefs = data.get("preferencias", {}) if structured else data
    if prefs is None:
        prefs = {}
    if not isinstance(prefs, dict):
        raise SubscriptionsError(f"{path}: 'preferencias' must map event code -> URL")
    desired: list[DesiredPreference] = []
    secrets: list[str] = []
    for codigo, template in prefs.items():
        where = f"{path}: {codigo}"
        if not isinstance(codigo, str) or not is_event_code(codigo):
            raise SubscriptionsError(
                f"{path}: {codigo!r} is not an event code ENTIDADE.EVENTO (A-Z, 0-9, _)"
            )
        if not isinstance(template, str) or not template.strip():
            raise SubscriptionsError(f"{where}: destination URL must be a non-empty string")
        url, used = expand(template.strip(), env, where)
        _check_url(url, where)
        secrets.extend(used)
        desired.append(DesiredPreference(codigo=codigo, template=template.strip(), url=url))
    return desired, (str(perfil) if perfil is not None else None), secrets


def _refuse_unknown_keys(path: Path, data: Mapping[object, object]) -> None:
    unknown = [k for k in data if k not in FILE_KEYS]
    if not unknown:
        return
    hints = []
    for k in unknown:
        close = difflib.get_close_matches(str(k), FILE_KEYS, n=1, cutoff=0.5)
        hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise SubscriptionsError(
        f"{path}: unknown key(s) {', '.join(hints)}; a subscriptions file has "
        f"{' and '.join(repr(k) for k in FILE_KEYS)} (event code → URL under 'preferencias')"
    )


def make_plan(
    desired: Iterable[DesiredPreference],
    current: Mapping[str, str | None],
    redact: Redactor,
    delete_extra: bool = True,
) -> Plan:
    """Diff desired vs current (code -> URL). Deletes only when `delete_extra`."""
    wanted = {d.codigo: d for d in desired}
    changes: list[PlanChange] = []
    for codigo in sorted(set(wanted) | set(current)):
        d = wanted.get(codigo)
        atual = current.get(codigo) if codigo in current else None
        if d is None:
            if delete_extra:
                changes.append(PlanChange("delete", codigo, redact(atual), None))
            continue
        shown = redact(d.url)
        if codigo not in current:
            changes.append(PlanChange("add", codigo, None, shown))
        elif atual != d.url:
            changes.append(PlanChange("update", codigo, redact(atual), shown))
        else:
            changes.append(PlanChange("unchanged", codigo, redact(atual), shown))
    return Plan(changes)


class _PrefClient(Protocol):
    def incluir_preferencia(self, codigo: str, endereco_destino: str) -> str: ...
    def atualizar_preferencia(self, codigo: str, endereco_destino: str) -> str: ...
    def excluir_preferencia(self, codigo: str) -> str: ...


def apply_plan(
    client: _PrefClient,
    plano: Plan,
    desired: Iterable[DesiredPreference],
    offered: Iterable[str],
    on_change: Callable[[PlanChange, str], None] | None = None,
) -> list[tuple[PlanChange, str]]:
    """Execute a plan: adds and updates first, deletes last. Unchanged lines cost no call.

    Refuses, before changing anything, event codes CCEE does not offer. Re-running after a
    partial failure is safe: the plan is recomputed from CCEE's state.
    """
    wanted = {d.codigo: d for d in desired}
    offered_set = set(offered)
    unknown = sorted(
        m.codigo
        for m in plano.mudancas
        if m.acao in ("add", "update") and m.codigo not in offered_set
    )
    if unknown:
        raise SubscriptionsError(
            f"CCEE does not offer event(s) {', '.join(unknown)} "
            "(see `ccee-webhook events`); nothing was changed"
        )
    done: list[tuple[PlanChange, str]] = []
    order = {"add": 0, "update": 1, "delete": 2}
    for m in sorted(plano.mudancas, key=lambda m: (order.get(m.acao, 3), m.codigo)):
        if m.acao == "add":
            msg = client.incluir_preferencia(m.codigo, wanted[m.codigo].url)
        elif m.acao == "update":
            msg = client.atualizar_preferencia(m.codigo, wanted[m.codigo].url)
        elif m.acao == "delete":
            msg = client.excluir_preferencia(m.codigo)
        else:
            continue
        done.append((m, msg))
        if on_change is not None:
            on_change(m, msg)
    return done


class Sincronizacao(msgspec.Struct, frozen=True):
    """What `sync` found and did: the plan, the changes applied (empty for a plan only)."""

    plano: Plan
    aplicadas: list[tuple[PlanChange, str]]
    #: event codes CCEE offers (listed only when something had to be applied)
    oferecidos: list[str]
    perfil: str | None


def sync(
    file: Path,
    *,
    perfil: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    keep_extra: bool = False,
    apply: bool = False,
    on_change: Callable[[PlanChange, str], None] | None = None,
    client: CCEEClient | None = None,
) -> Sincronizacao:
    """`prefs plan` (apply=False) and `prefs apply` (apply=True) of a subscriptions file.

    The one implementation of subscriptions as code: the CLI and the demo both call it.
    Reads the file (resolving `${VAR}` from `env`), selects the profile, diffs CCEE's current
    preferences against the file and, when `apply`, executes the plan (codes CCEE does not
    offer are refused before any change). `client` reuses an open client.
    """
    from ccee.client import CCEEClient
    from ccee.config import select_profile

    env = os.environ if env is None else env
    desired, file_perfil, secrets = load_desired(file, env=env)
    profile = select_profile(perfil, env=env) if client is None else client.profile
    if file_perfil is not None and profile.codigo is not None and file_perfil != profile.codigo:
        raise SubscriptionsError(
            f"{file} is for codigoPerfilAgente {file_perfil}, but the selected profile is "
            f"{profile.codigo}; choose the right one with --perfil"
        )
    own = client is None
    active = CCEEClient(profile, timeout=timeout) if client is None else client
    try:
        current = {p.evento_notificacao: p.endereco_destino for p in active.listar_preferencias()}
        redact = Redactor.from_env(env, secrets)
        plano = make_plan(desired, current, redact, delete_extra=not keep_extra)
        if not apply or not plano.has_changes:
            return Sincronizacao(plano, [], [], profile.codigo)
        offered = [e.codigo for e in active.listar_eventos()]
        done = apply_plan(active, plano, desired, offered, on_change=on_change)
        return Sincronizacao(plano, done, offered, profile.codigo)
    finally:
        if own:
            active.close()
