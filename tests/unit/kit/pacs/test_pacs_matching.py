"""DICOM C-FIND matching rules (PS3.4 C.2.2.2)."""

from __future__ import annotations

import pytest

from drimbox.kit.pacs.matching import matches, matches_any


@pytest.mark.parametrize(
    ("stored", "query", "vr", "expected"),
    [
        ("DOE^JOHN", "", "PN", True),  # universal
        ("DOE^JOHN", "*", "PN", True),
        ("DOE^JOHN", "DOE^JOHN", "PN", True),  # single value
        ("DOE^JOHN", "doe^john", "PN", True),  # PN: case-insensitive
        ("ACC001", "acc001", "SH", False),  # other VRs: case-sensitive
        ("DOE^JOHN", "DOE*", "PN", True),  # wildcards
        ("DOE^JOHN", "D?E^*", "PN", True),
        ("DOE^JOHN", "DOE?", "PN", False),
        ("ACC001", "ACC00?", "SH", True),
        ("a.b", "a*b", "LO", True),
        ("1.2.3", "1.2.3", "UI", True),  # UID list
        ("1.2.3", "1.2.4\\1.2.3", "UI", True),
        ("1.2.3", "1.2.*", "UI", False),  # no wildcard on UIDs
        ("20240115", "20240101-20241231", "DA", True),  # ranges
        ("20231231", "20240101-20241231", "DA", False),
        ("20240115", "-20240115", "DA", True),
        ("20240115", "20240116-", "DA", False),
        ("", "20240101-", "DA", False),  # no value never matches a range
        ("20240115", "20240115", "DA", True),
        ("101500", "1000-1100", "TM", True),  # TM bounds compare on their digits
        ("10:15:00", "1000-1100", "TM", True),  # old ACR-NEMA TM format
        ("120000.5", "-1200", "TM", True),
        ("101500", "10", "TM", True),
        ("2", "2", "IS", True),
        ("2", "02", "IS", True),
    ],
)
def test_matches(stored: str, query: str, vr: str, expected: bool) -> None:
    assert matches(stored, query, vr) is expected


def test_multi_valued_attributes_match_any_value() -> None:
    assert matches_any(["CT", "MR"], "MR", "CS")
    assert matches_any(["CT", "MR"], "PT\\MR", "CS")
    assert not matches_any(["CT"], "PT\\MR", "CS")
    assert matches_any([], "", "CS")
    assert not matches_any([], "CT", "CS")
