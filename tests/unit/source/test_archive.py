"""KOS archive pieces that need no database: the life cycle and input checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from drimbox.source.archive import (
    SUPERSEDABLE,
    TRANSITIONS,
    WITHDRAWN,
    InstanceRef,
    KosArchive,
    KosArchiveError,
    KosRecord,
    NewKos,
    PatientIdentity,
    SeriesRef,
)
from drimbox.store.models import KOS_STATUSES

T0 = datetime(2026, 11, 23, tzinfo=UTC)


def test_the_life_cycle_covers_every_stored_status() -> None:
    assert set(TRANSITIONS) == set(KOS_STATUSES)
    assert all(targets <= set(KOS_STATUSES) for targets in TRANSITIONS.values())
    assert TRANSITIONS["deleted"] == frozenset()  # terminal
    assert not any("replaced" in targets for targets in TRANSITIONS.values())  # supersede only
    assert SUPERSEDABLE.isdisjoint(WITHDRAWN - {"unpublished"})
    assert set(WITHDRAWN) == {"replaced", "unpublished", "deleted"}


@pytest.mark.parametrize(
    ("status", "withdrawn"),
    [("pending", False), ("published", False), ("replaced", True), ("deleted", True)],
)
def test_withdrawn_means_410_for_rad107(status: str, withdrawn: bool) -> None:
    record = KosRecord(
        id=1,
        sop_instance_uid="1.2.3",
        series_instance_uid="1.2.3.1",
        study_instance_uid="1.2.4",
        accession_number="A",
        accession_issuer="1.2.5",
        placer_order="",
        placer_order_issuer="",
        cda_document_id="",
        cda_set_id="",
        kind="manifest",
        version=1,
        status=status,
        replaces_id=None,
        replaced_by_id=None,
        patient=PatientIdentity(),
        institution_name="",
        pacs_name="",
        pacs_index=None,
        origin="generated",
        dmp_flags={},
        created_at=T0,
        updated_at=T0,
        status_changed_at=T0,
        message_id=None,
    )
    assert record.withdrawn is withdrawn


def _kos(**fields: object) -> NewKos:
    series = SeriesRef(
        "1.2.3.1",
        "https://x/studies/1.2.3/series/1.2.3.1",
        (InstanceRef("1.2.840.1", "1.2.3.1.1"),),
    )
    kos = NewKos("1.2.9", "1.2.9.1", "1.2.3", b"DICM", (series,))
    return replace(kos, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"sop_instance_uid": ""}, "sop_instance_uid is empty"),
        ({"origin": "scanned"}, "origin"),
        ({"series": (SeriesRef("1.2.3.1", "u", ()),)}, "references no instance"),
        (
            {"series": (SeriesRef("1.2.3.1", "u", (InstanceRef("1.2", "1.3"),) * 2),)},
            "referenced twice",
        ),
        (
            {
                "series": (
                    SeriesRef("1.2.3.1", "u", (InstanceRef("1.2", "1.3"),)),
                    SeriesRef("1.2.3.1", "u", (InstanceRef("1.2", "1.4"),)),
                )
            },
            "listed twice",
        ),
        ({"patient": PatientIdentity(ins="1" * 65)}, "patient_ins longer than 64"),
    ],
)
async def test_bad_input_is_refused_before_touching_the_database(
    fields: dict[str, object], match: str
) -> None:
    archive = KosArchive(async_sessionmaker())  # unbound: any database access would fail
    with pytest.raises(KosArchiveError, match=match):
        await archive.add(_kos(**fields))
