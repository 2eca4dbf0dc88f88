"""Row factories for the storage tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from drimbox.store.models import SimInstance

MakeInstance = Callable[..., SimInstance]


def _instance(n: int, aet: str = "PACS_A", **fields: Any) -> SimInstance:
    """A valid simulator row; ``n`` makes the SOP Instance UID unique."""
    values: dict[str, Any] = {
        "aet": aet,
        "patient_id": "P1",
        "study_instance_uid": "1.2.3",
        "series_instance_uid": "1.2.3.4",
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
        "sop_instance_uid": f"1.2.3.4.{n}",
        "transfer_syntax_uid": "1.2.840.10008.1.2.1",
        "path": f"/archive/{n}.dcm",
        "size": 1000 + n,
    }
    values.update(fields)
    return SimInstance(**values)


@pytest.fixture
def make_instance() -> MakeInstance:
    return _instance
