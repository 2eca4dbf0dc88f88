"""UID syntax and generation (PS3.5 §9.1)."""

from __future__ import annotations

import pytest

from drimbox.dicom.kos import KosInputError, UidFactory, is_valid_uid
from drimbox.dicom.kos.uids import check_uid


@pytest.mark.parametrize(
    "value",
    ["1.2.3", "0.1", "2.25.329800735698586629295641978511506172918", "1." + "1" * 62],
)
def test_valid_uids(value: str) -> None:
    assert is_valid_uid(value)


@pytest.mark.parametrize(
    "value",
    ["", "1..2", "1.02", ".1.2", "1.2.", "1.2.a", "1.2 ", "1." + "1" * 63, "01.2"],
)
def test_invalid_uids(value: str) -> None:
    assert not is_valid_uid(value)
    with pytest.raises(KosInputError, match="not a valid DICOM UID"):
        check_uid(value, "thing")


def test_default_factory_makes_unique_uuid_uids() -> None:
    factory = UidFactory()
    made = {factory.new() for _ in range(2000)}
    assert len(made) == 2000
    for uid in made:
        assert uid.startswith("2.25.")
        assert is_valid_uid(uid)


def test_org_root_factory_stays_under_the_root_and_within_64_chars() -> None:
    root = "1.2.250.1.213.4.5.2.99"
    factory = UidFactory(root + ".")  # a trailing dot is tolerated
    made = {factory.new() for _ in range(2000)}
    assert len(made) == 2000
    for uid in made:
        assert uid.startswith(root + ".")
        assert is_valid_uid(uid)
        assert len(uid) <= 64


def test_longest_accepted_root_still_gives_24_digit_suffixes() -> None:
    root = "1." + "2" * 37  # 39 characters: 64 - 1 - 24
    uid = UidFactory(root).new()
    assert len(uid) == 64
    assert len(uid.rsplit(".", 1)[1]) == 24


def test_too_long_org_root_is_refused() -> None:
    with pytest.raises(KosInputError, match="too long"):
        UidFactory("1." + "2" * 38)


def test_invalid_org_root_is_refused() -> None:
    with pytest.raises(KosInputError, match="org UID root"):
        UidFactory("1.2.03")
