"""Dagster resources: the DuckDB warehouse and CCEE's result service, configured by env vars."""

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.core import connections
from pipelines.core.results import ResultPage
from settings import DEFAULT_DATA_DIR, warehouse_path

log = logging.getLogger(__name__)


class WarehouseResource(dg.ConfigurableResource):
    """`$CCEE_WEBHOOK_DATA_DIR/warehouse.duckdb` (written only here) and the lake beside it.

    Connections are short-lived: each asset opens, writes one transaction and closes, so
    read-only readers can open the file between runs.
    """

    data_dir: str = str(DEFAULT_DATA_DIR)
    lock_timeout_s: float = 120.0

    @property
    def path(self) -> Path:
        return warehouse_path(self.data_dir)

    def connect(self, read_only: bool = False) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return connections.connect(
            self.path, read_only=read_only, lock_timeout_s=self.lock_timeout_s
        )


class CCEEUnavailable(RuntimeError):
    """No profile is configured (or the client package is missing): nothing to pull."""


class CCEEResource(dg.ConfigurableResource):
    """CCEE's ListarResultadoNotificacaoBSv2, once per configured profile.

    Profiles come from `ccee.config.load_profiles()` (env vars / TOML); this resource holds no
    secret itself. The seam used by the pipeline is `perfis()` + `paginas_resultados()`.
    """

    timeout_s: float = 30.0
    page_size: int = 50

    def perfis(self) -> dict[str, str]:
        """Configured profile name → the `perfil` label stored in tables (its codigoPerfilAgente,
        the id the receiver's `PERFIL:TOKEN` labels use, else the profile name).

        Raises CCEEUnavailable when no profile is configured.
        """
        try:
            from ccee.config import load_profiles
        except ImportError as exc:  # pragma: no cover - only before ccee/config.py exists
            raise CCEEUnavailable(f"ccee.config is not available ({exc})") from exc
        perfis = {name: p.codigo or name for name, p in sorted(load_profiles().items())}
        if not perfis:
            raise CCEEUnavailable(
                "no CCEE profile configured (set CCEE_WEBHOOK_USERNAME/_PASSWORD/_PERFIL and the "
                "client certificate, or [perfis.*] in ccee-webhook.toml)"
            )
        return perfis

    def paginas_resultados(
        self, perfil: str, dia: date, start_page: int = 1
    ) -> Iterator[ResultPage]:
        """Pages of results for one CCEE day, from `start_page` on."""
        from ccee.client import CCEEClient
        from ccee.config import load_profiles

        profile = load_profiles()[perfil]
        client = CCEEClient(profile, timeout=self.timeout_s)
        yield from client.paginas_resultados(
            dia=dia, page_size=self.page_size, start_page=start_page
        )
