"""The hostile suite reuses the web tests' clients (``make_client``, ``local``)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from web.conftest import local, make_client, pytest_configure  # noqa: E402,F401  (fixtures, re-registered here)
