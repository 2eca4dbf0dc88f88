"""External tools in tests: skip with the reason when one is missing, fail under CI=true."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, package: str = "dcmtk") -> str:
    """The path of ``name``; CI installs every tool, so a missing one there is a failure."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (Debian package {package})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
