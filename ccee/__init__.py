"""The CCEE side: the BSv2 SOAP contract (WSDL/XSD shipped in `ccee/wsdl`) and a client.

`CCEEClient` talks to CCEE's three notification services (EventoNotificacao,
PreferenciaNotificacao, ResultadoNotificacao) over mTLS with WS-Security and
`codigoPerfilAgente`; `Profile`s come from the environment or the TOML file (`load_profiles`,
`select_profile`); subscriptions are planned and applied from a YAML file of desired
preferences (`load_desired`, `make_plan`, `apply_plan`). Errors are `CCEEError` subclasses whose
messages never carry a secret. Depends only on `settings`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ccee.client import CCEEClient
    from ccee.config import Profile, Secret, load_profiles, select_profile
    from ccee.errors import (
        AuthError,
        CCEEError,
        CCEEFault,
        CCEETransportError,
        ConfigError,
        InvalidParametersError,
        NoDataFoundError,
    )
    from ccee.subscriptions import (
        DesiredPreference,
        Plan,
        PlanChange,
        SubscriptionsError,
        apply_plan,
        load_desired,
        make_plan,
    )

#: Public name → the module defining it (imported on first use, so `import ccee.<module>`
#: stays cheap and needs none of the other modules' dependencies).
_SURFACE = {
    "CCEEClient": "ccee.client",
    "Profile": "ccee.config",
    "Secret": "ccee.config",
    "load_profiles": "ccee.config",
    "select_profile": "ccee.config",
    "AuthError": "ccee.errors",
    "CCEEError": "ccee.errors",
    "CCEEFault": "ccee.errors",
    "CCEETransportError": "ccee.errors",
    "ConfigError": "ccee.errors",
    "InvalidParametersError": "ccee.errors",
    "NoDataFoundError": "ccee.errors",
    "DesiredPreference": "ccee.subscriptions",
    "Plan": "ccee.subscriptions",
    "PlanChange": "ccee.subscriptions",
    "SubscriptionsError": "ccee.subscriptions",
    "apply_plan": "ccee.subscriptions",
    "load_desired": "ccee.subscriptions",
    "make_plan": "ccee.subscriptions",
}

__all__ = [
    "AuthError",
    "CCEEClient",
    "CCEEError",
    "CCEEFault",
    "CCEETransportError",
    "ConfigError",
    "DesiredPreference",
    "InvalidParametersError",
    "NoDataFoundError",
    "Plan",
    "PlanChange",
    "Profile",
    "Secret",
    "SubscriptionsError",
    "apply_plan",
    "load_desired",
    "load_profiles",
    "make_plan",
    "select_profile",
]


def __getattr__(name: str) -> Any:
    module = _SURFACE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
