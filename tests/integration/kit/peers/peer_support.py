"""Skip (or fail under CI=true) when a peer binary is absent or isolation is missing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from drimbox.kit.peers.netns import only_loopback


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_private_netns() -> None:
    """Orthanc listens on every interface: only run it where loopback is the only one."""
    if not only_loopback():
        unavailable(
            "needs a loopback-only network namespace (run via scripts/run-tests.sh as root)"
        )
