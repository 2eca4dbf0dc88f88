"""Status codes as data: categories of PS3.7 Annex C."""

import pytest

from drimbox.dicom.dimse import status as st


@pytest.mark.parametrize(
    ("code", "category"),
    [
        (0x0000, st.Category.SUCCESS),
        (0xFF00, st.Category.PENDING),
        (0xFF01, st.Category.PENDING),
        (0xFE00, st.Category.CANCEL),
        (0xB000, st.Category.WARNING),
        (0xB007, st.Category.WARNING),
        (0x0001, st.Category.WARNING),
        (0xA700, st.Category.FAILURE),
        (0xA801, st.Category.FAILURE),
        (0xC123, st.Category.FAILURE),
        (0x0124, st.Category.FAILURE),
        (0x0110, st.Category.FAILURE),
    ],
)
def test_category(code: int, category: st.Category) -> None:
    assert st.category(code) is category


def test_describe_ranges_and_unknown_codes() -> None:
    assert st.describe(0xA801) == "refused: move destination unknown"
    assert st.describe(0xC0FF) == "unable to process"
    assert st.describe(0xA9FE) == "identifier does not match SOP class"
    assert st.describe(0xB123) == "warning"
