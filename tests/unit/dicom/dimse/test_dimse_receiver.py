"""Routing of received instances to pending retrieves (no cross-request mixing)."""

import pytest

from drimbox.dicom.dimse.models import ReceivedInstance
from drimbox.dicom.dimse.receiver import Route, RoutingTable


def route(ae: str, message_id: int, expected: set[str] | None = None) -> Route:
    def sink(instance: ReceivedInstance) -> bool:
        return True

    return Route(ae, message_id, None if expected is None else frozenset(expected), sink)


def test_routes_by_originator_and_message_id() -> None:
    table = RoutingTable()
    first, second = route("DRIMBOX", 1), route("DRIMBOX", 2)
    table.add(first)
    table.add(second)
    assert table.match("DRIMBOX", 1, "1.2.3") is first
    assert table.match("DRIMBOX ", 2, "1.2.3") is second  # AE titles are space padded
    assert table.match("DRIMBOX", 3, "1.2.3") is None
    assert table.match("OTHER", 1, "1.2.3") is None


def test_expected_uids_cross_check_the_originator() -> None:
    table = RoutingTable()
    table.add(route("DRIMBOX", 7, {"1.1", "1.2"}))
    assert table.match("DRIMBOX", 7, "1.2") is not None
    assert table.match("DRIMBOX", 7, "9.9") is None


def test_a_non_strict_route_takes_unexpected_instances_by_originator_only() -> None:
    """RAD-107 retrieves what the KOS lists (expected) but the PACS may send the whole series."""
    table = RoutingTable()
    loose = Route("DRIMBOX", 8, frozenset({"1.1"}), lambda instance: True, strict=False)
    table.add(loose)
    assert table.match("DRIMBOX", 8, "1.1") is loose
    assert table.match("DRIMBOX", 8, "9.9") is loose  # with the originator: ours, filtered later
    assert table.match(None, None, "1.1") is loose  # without: only an expected UID routes
    assert table.match(None, None, "9.9") is None


def test_without_originator_fields_only_a_unique_expected_uid_routes() -> None:
    table = RoutingTable()
    a = route("DRIMBOX", 1, {"1.1", "shared"})
    b = route("DRIMBOX", 2, {"2.1", "shared"})
    table.add(a)
    table.add(b)
    table.add(route("DRIMBOX", 3))  # no expected set: never matched without originator
    assert table.match(None, None, "1.1") is a
    assert table.match("", None, "2.1") is b
    assert table.match(None, None, "shared") is None
    assert table.match(None, None, "unknown") is None


def test_duplicate_keys_are_refused_and_removal_is_by_identity() -> None:
    table = RoutingTable()
    original = route("DRIMBOX", 5)
    table.add(original)
    with pytest.raises(ValueError, match="already pending"):
        table.add(route("DRIMBOX", 5))
    table.remove(route("DRIMBOX", 5))  # a different request with the same key: no effect
    assert len(table) == 1
    table.remove(original)
    table.remove(original)
    assert len(table) == 0
