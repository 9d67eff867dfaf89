"""Where things are: the checkout, the committed fixtures and the installed `ccee-webhook`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SOAP_SAMPLES = FIXTURES / "soap"
#: CCEE's documented callback sample, stored verbatim by the receiver.
CALLBACK_SAMPLE = FIXTURES / "webhook-callback.sample.json"
#: The `ccee-webhook` console script of the environment running the tests.
CLI = str(Path(sys.executable).parent / "ccee-webhook")
