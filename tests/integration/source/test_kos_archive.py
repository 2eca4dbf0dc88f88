"""The KOS archive on SQLite and PostgreSQL: queries, version chains, statuses, references."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from drimbox.source.archive import (
    InstanceRecord,
    InstanceRef,
    KosAlreadyStored,
    KosArchive,
    KosArchiveError,
    KosNotFound,
    KosStatusError,
    NewKos,
    PatientIdentity,
    SeriesRecord,
    SeriesRef,
)
from drimbox.source.inbox import Inbox, MessageMeta
from drimbox.store.db import Database
from drimbox.store.migrate import downgrade, upgrade
from drimbox.store.models import KosInstance, KosSeries

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CT = "1.2.840.10008.5.1.4.1.1.2"
STUDY = "1.2.250.1.59.9.1"
PATIENT = PatientIdentity(
    ins="248092A203120",
    ins_oid="1.2.250.1.213.1.4.8",
    ipp="IPP123",
    ipp_issuer="1.2.250.1.59.1.1",
    birth_name="DUPONT",
    given_names="MARIE ANNE",
    sex="F",
    birth_date=date(1948, 9, 20),
    birth_place="2A004",
)


def _series(study: str, n: int, instances: int) -> SeriesRef:
    uid = f"{study}.{n}"
    return SeriesRef(
        series_instance_uid=uid,
        retrieve_url=f"https://source.example/wado/studies/{study}/series/{uid}",
        instances=tuple(InstanceRef(CT, f"{uid}.{i}") for i in range(1, instances + 1)),
        modality="CT",
    )


def _kos(
    tag: str, *, study: str = STUDY, series: int = 1, per_series: int = 2, **fields: object
) -> NewKos:
    kos = NewKos(
        sop_instance_uid=f"1.2.250.1.59.8.{tag}",
        series_instance_uid="1.2.250.1.59.8.99",
        study_instance_uid=study,
        kos_bytes=b"DICM" + tag.encode() * 10,
        series=tuple(_series(study, n, per_series) for n in range(1, series + 1)),
        accession_number="ACC1",
        accession_issuer="1.2.250.1.59.2.1",
        placer_order="ORD1",
        placer_order_issuer="1.2.250.1.59.3.1",
        cda_document_id=f"1.2.250.1.59.4^{tag}",
        cda_set_id="1.2.250.1.59.5^SET1",
        patient=PATIENT,
        institution_name="CHU Exemple",
        pacs_name="PACS_A",
        pacs_index=1,
        dmp_flags={"confidentiality": "N", "hidden_from_patient": False},
    )
    return replace(kos, **fields)  # type: ignore[arg-type]


async def _count(db: Database, model: type[KosSeries] | type[KosInstance]) -> int:
    async with db.async_sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_kos_round_trips_with_its_identity_and_bytes(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    stored = await archive.add(_kos("1"), now=T0)
    found = await archive.get_by_sop_uid("1.2.250.1.59.8.1")
    assert found == stored
    assert (found.status, found.version, found.kind, found.origin) == (
        "pending",
        1,
        "manifest",
        "generated",
    )
    assert found.patient == PATIENT
    assert found.dmp_flags == {"confidentiality": "N", "hidden_from_patient": False}
    assert (found.created_at, found.status_changed_at) == (T0, T0)
    assert await archive.kos_bytes(found.id) == b"DICM" + b"1" * 10
    assert await archive.get_by_sop_uid("1.2.3.unknown") is None
    with pytest.raises(KosNotFound):
        await archive.get(999_999)


async def test_queries_by_study_accession_and_cda_id(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    a = await archive.add(_kos("1"))
    b = await archive.add(_kos("2", study="1.2.250.1.59.9.2", accession_number="ACC2"))
    assert [k.id for k in await archive.find_by_study(STUDY)] == [a.id]
    pair = await archive.find_by_accession_and_study("ACC1", "1.2.250.1.59.2.1", STUDY)
    assert [k.id for k in pair] == [a.id]
    # DB.VI-SO.33: the pair must match exactly: issuer, accession and study together.
    assert await archive.find_by_accession_and_study("ACC1", "1.2.250.1.59.2.9", STUDY) == []
    assert await archive.find_by_accession_and_study("ACC2", "1.2.250.1.59.2.1", STUDY) == []
    assert [k.id for k in await archive.find_by_cda_id("1.2.250.1.59.4^2")] == [b.id]
    assert await archive.find_by_cda_id("1.2.250.1.59.4^nope") == []


async def test_the_originating_message_is_linked_both_ways(db: Database) -> None:
    inbox = Inbox(db.async_sessions())
    archive = KosArchive(db.async_sessions())
    stored = await inbox.store(b"MSH|...", MessageMeta(control_id="M1"))
    claim = await inbox.claim_next()
    assert claim is not None
    kos = await archive.add(_kos("1", message_id=stored.id))
    await inbox.mark_done(claim, kos_id=kos.id)
    # After a crash between add and mark_done, the re-run finds its own work.
    assert (await archive.find_by_message(stored.id)) == kos
    assert (await inbox.get(stored.id)).kos_id == kos.id
    with pytest.raises(KosArchiveError, match="not stored"):
        await archive.add(_kos("2", message_id=999_999))  # no such message


async def test_the_same_kos_is_stored_once(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    await archive.add(_kos("1"))
    with pytest.raises(KosAlreadyStored):
        await archive.add(_kos("1"))
    outcomes = await asyncio.gather(
        *(archive.add(_kos("2")) for _ in range(3)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, KosAlreadyStored) for o in outcomes if isinstance(o, BaseException))
    assert await _count(db, KosSeries) == 2  # one per stored KOS, none left by the losers


async def test_a_replacement_chain_keeps_every_version(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    v1 = await archive.add(_kos("1"))
    await archive.set_status(v1.id, "published")
    v2 = await archive.add(_kos("2"), replaces=v1.id, now=T0)
    v3 = await archive.add(_kos("3"), replaces=v2.id)
    chain = await archive.find_by_study(STUDY)
    assert [(k.version, k.status) for k in chain] == [
        (1, "replaced"),
        (2, "replaced"),
        (3, "pending"),
    ]
    assert [(k.replaces_id, k.replaced_by_id) for k in chain] == [
        (None, v2.id),
        (v1.id, v3.id),
        (v2.id, None),
    ]
    assert chain[0].status_changed_at == T0 and chain[0].withdrawn
    current = await archive.current_for_study(STUDY)
    assert current is not None and current.id == v3.id
    assert await archive.current_for_study("1.2.9.9") is None
    with pytest.raises(KosStatusError, match="cannot be replaced"):
        await archive.add(_kos("4"), replaces=v1.id)
    assert await archive.get_by_sop_uid("1.2.250.1.59.8.4") is None  # rolled back as a whole


async def test_supersede_links_existing_versions_and_refuses_bad_pairs(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    old = await archive.add(_kos("1"))
    new = await archive.add(_kos("2"))
    other = await archive.add(_kos("3"))
    with pytest.raises(KosStatusError, match="itself"):
        await archive.supersede(old.id, old.id)
    replaced, replacement = await archive.supersede(old.id, new.id)
    assert (replaced.status, replaced.replaced_by_id) == ("replaced", new.id)
    assert (replacement.version, replacement.replaces_id) == (2, old.id)
    with pytest.raises(KosStatusError):  # new already replaces something
        await archive.supersede(other.id, new.id)
    with pytest.raises(KosNotFound):
        await archive.supersede(999_999, other.id)


async def test_two_concurrent_replacements_of_one_version_cannot_both_win(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    old = await archive.add(_kos("1"))
    candidates = [await archive.add(_kos(str(n))) for n in (2, 3, 4)]
    outcomes = await asyncio.gather(
        *(archive.supersede(old.id, c.id) for c in candidates), return_exceptions=True
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, KosStatusError) for o in outcomes if isinstance(o, BaseException))
    assert (await archive.get(old.id)).replaced_by_id == winners[0][1].id


async def test_status_transitions_follow_the_life_cycle(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    kos = await archive.add(_kos("1"))
    steps = ["published", "unpublished", "published", "published", "deleted"]
    seen = [
        (await archive.set_status(kos.id, s, now=T0 + timedelta(minutes=i))).status
        for i, s in enumerate(steps)
    ]
    assert seen == steps
    record = await archive.get(kos.id)
    assert record.withdrawn and record.status_changed_at == T0 + timedelta(minutes=4)
    with pytest.raises(KosStatusError, match="deleted → published is not allowed"):
        await archive.set_status(kos.id, "published")
    other = await archive.add(_kos("2"))
    with pytest.raises(KosStatusError, match="supersede"):
        await archive.set_status(other.id, "replaced")
    with pytest.raises(KosStatusError, match="unknown"):
        await archive.set_status(other.id, "archived")
    with pytest.raises(KosNotFound):
        await archive.set_status(999_999, "published")


async def test_a_300_instance_kos_is_stored_and_checked(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    kos = await archive.add(_kos("big", series=3, per_series=100))
    series = await archive.series_of(kos.id)
    assert [s.instance_count for s in series] == [100, 100, 100]
    assert series[0] == SeriesRecord(
        f"{STUDY}.1", "CT", f"https://source.example/wado/studies/{STUDY}/series/{STUDY}.1", 100
    )
    instances = await archive.instances_of(kos.id)
    assert len(instances) == 300 and len({i.sop_instance_uid for i in instances}) == 300
    second = await archive.instances_of(kos.id, f"{STUDY}.2")
    assert second[0] == InstanceRecord(f"{STUDY}.2", CT, f"{STUDY}.2.1")
    assert [i.sop_instance_uid for i in second] == [f"{STUDY}.2.{n}" for n in range(1, 101)]
    assert await archive.references_series(kos.id, f"{STUDY}.3")
    assert not await archive.references_series(kos.id, f"{STUDY}.4")
    assert await archive.references_instance(kos.id, f"{STUDY}.3", f"{STUDY}.3.100")
    # The instance exists, but not in that series: a RAD-107 URL mixing them is refused.
    assert not await archive.references_instance(kos.id, f"{STUDY}.1", f"{STUDY}.3.100")
    other = await archive.add(_kos("small"))
    assert not await archive.references_series(other.id, f"{STUDY}.3")


async def test_removing_a_kos_removes_its_references_and_clears_links(db: Database) -> None:
    archive = KosArchive(db.async_sessions())
    inbox = Inbox(db.async_sessions())
    v1 = await archive.add(_kos("1", series=2, per_series=5))
    v2 = await archive.add(_kos("2", series=1, per_series=3), replaces=v1.id)
    await inbox.store(b"MSH|...", MessageMeta(control_id="M1"))
    claim = await inbox.claim_next()
    assert claim is not None
    await inbox.mark_done(claim, kos_id=v1.id)
    assert (await _count(db, KosSeries), await _count(db, KosInstance)) == (3, 13)
    await archive.remove(v1.id)
    assert (await _count(db, KosSeries), await _count(db, KosInstance)) == (1, 3)
    assert (await archive.get(v2.id)).replaces_id is None
    assert (await inbox.get(claim.id)).kos_id is None
    with pytest.raises(KosNotFound):
        await archive.remove(v1.id)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"series": 0}, "references no series"),
        ({"kos_bytes": b""}, "bytes are empty"),
        ({"kind": "sr"}, "kind"),
        ({"status": "deleted"}, "pending or published"),
        ({"accession_issuer": "1." * 40}, "accession_issuer longer than 64"),
        ({"dmp_flags": {"when": object()}}, "not JSON"),
    ],
)
async def test_bad_kos_input_is_refused_by_name(
    db: Database, fields: dict[str, Any], match: str
) -> None:
    with pytest.raises(KosArchiveError, match=match):
        await KosArchive(db.async_sessions()).add(_kos("1", **fields))
    assert await KosArchive(db.async_sessions()).find_by_study(STUDY) == []


async def test_concurrent_writers_on_separate_engines_do_not_trip_over_each_other(
    db: Database,
) -> None:
    """Several processes adding, publishing and replacing KOS at once (SQLite: one writer at a
    time, so every write transaction must start by taking the write lock, never by a read)."""
    engines = [Database(db.url) for _ in range(4)]

    async def work(index: int) -> None:
        archive = KosArchive(engines[index].async_sessions())
        previous = None
        for n in range(6):
            kos = await archive.add(
                _kos(f"{index}.{n}", study=f"1.2.250.1.59.9.{index}"),
                replaces=None if previous is None else previous.id,
            )
            await archive.set_status(kos.id, "published")
            previous = kos

    try:
        await asyncio.gather(*(work(i) for i in range(4)))
    finally:
        for engine in engines:
            await engine.adispose()
    archive = KosArchive(db.async_sessions())
    for index in range(4):
        chain = await archive.find_by_study(f"1.2.250.1.59.9.{index}")
        assert [k.version for k in chain] == [1, 2, 3, 4, 5, 6]
        assert [k.status for k in chain] == ["replaced"] * 5 + ["published"]


def test_migration_0002_comes_and_goes_and_keeps_its_constraints(database_url: str) -> None:
    """Down to 0001 drops only the Source tables; back up restores the cross links and CHECKs
    (SQLite rebuilds the inbox table to add its foreign key: the constraints must survive)."""
    source_tables = {"source_inbox_message", "source_kos", "source_kos_series"}
    source_tables |= {"source_kos_instance"}
    downgrade(database_url, "0001")
    database = Database(database_url)
    try:
        assert not source_tables & set(inspect(database.engine).get_table_names())
        upgrade(database_url)
        insp = inspect(database.engine)
        assert source_tables <= set(insp.get_table_names())
        inbox_fks = {
            (fk["referred_table"], fk["options"].get("ondelete"))
            for fk in insp.get_foreign_keys("source_inbox_message")
        }
        assert inbox_fks == {("source_kos", "SET NULL")}
        check = "ck_source_inbox_message_status|CHECK constraint failed"
        with pytest.raises(IntegrityError, match=check), database.session() as session:
            session.execute(
                text(
                    "INSERT INTO source_inbox_message (received_at, peer, sending_application,"
                    " sending_facility, control_id, message_type, version, raw, status, attempts,"
                    " last_error_code, last_error, event_kind, document_id, study_uid, accession,"
                    " updated_at) VALUES (:t, '', '', '', 'C1', '', '', :raw, 'lost', 0, '', '',"
                    " '', '', '', '', :t)"
                ),
                {"t": T0, "raw": b"MSH"},
            )
    finally:
        database.dispose()
