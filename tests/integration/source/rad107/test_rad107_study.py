"""Study-level RAD-107 retrieve (PS3.18 §10.4.1.1.1) over real HTTP: every series the KOS grants,
in KOS order, one multipart/related; the same checks and outcomes as the series route."""

from __future__ import annotations

from dataclasses import replace

from rad107_env import Source, dataset_of, get, kos_for, outcome, parts_of

from drimbox.dicom.transfer import EXPLICIT_VR_LE
from drimbox.source.archive import UNPUBLISHED
from drimbox.store.audit import audit_events
from support.dicom_factory import uid


def study_url(source: Source, study_uid: str) -> str:
    return f"{source.url}/studies/{study_uid}"


async def test_study_sends_every_granted_series_in_kos_order(source: Source) -> None:
    kos, series = source.small(12)
    answer = await get(study_url(source, series[0].study_uid), source.headers(kos))
    assert answer.status_code == 200, answer.text
    content_type = answer.headers["content-type"]
    assert content_type.startswith('multipart/related; type="application/dicom"')
    assert f"transfer-syntax={EXPLICIT_VR_LE}" in content_type
    parts = parts_of(answer)
    assert len(parts) == 6
    assert all(p.transfer_syntax == EXPLICIT_VR_LE for p in parts)
    datasets = [dataset_of(p) for p in parts]
    # KOS order of the series; within one, the PACS's arrival order
    assert [ds.SeriesInstanceUID for ds in datasets] == [series[0].series_uid] * 3 + [
        series[1].series_uid
    ] * 3
    assert sorted(ds.SOPInstanceUID for ds in datasets[:3]) == sorted(series[0].sop_uids)
    assert sorted(ds.SOPInstanceUID for ds in datasets[3:]) == sorted(series[1].sop_uids)
    assert {ds.PatientID for ds in datasets} == {series[0].patient_id}
    await source.service.audit.drain()
    async with source.service.archive.sessions() as session:
        rows = list(await session.run_sync(lambda s: audit_events(s, limit=100)))
    row = next(r for r in rows if r.action == "rad107.retrieve.study")
    assert row.outcome == "success" and row.object_id == series[0].study_uid
    assert "6 instance(s) of 2 series" in row.detail


async def test_study_only_sends_the_series_the_kos_grants(source: Source) -> None:
    _, series = source.small(13)
    base = source.settings.pacs[0].public_base_url or ""
    partial = await source.archive.add(kos_for(series[1:], base, tag="second-series-only"))
    answer = await get(study_url(source, series[0].study_uid), source.headers(partial))
    assert answer.status_code == 200, answer.text
    datasets = [dataset_of(p) for p in parts_of(answer)]
    assert {ds.SeriesInstanceUID for ds in datasets} == {series[1].series_uid}
    assert len(datasets) == 3


async def test_study_skips_a_series_gone_from_the_pacs(source: Source) -> None:
    _, series = source.small(14)
    gone = replace(series[0], series_uid=uid("study-gone"), sop_uids=(uid("study-gone", 1),))
    base = source.settings.pacs[0].public_base_url or ""
    kos = await source.archive.add(kos_for([gone, series[1]], base, tag="first-gone"))
    answer = await get(study_url(source, series[0].study_uid), source.headers(kos))
    assert answer.status_code == 200, answer.text
    datasets = [dataset_of(p) for p in parts_of(answer)]
    assert {ds.SeriesInstanceUID for ds in datasets} == {series[1].series_uid}


async def test_study_without_token_is_403(source: Source) -> None:
    kos, series = source.small(12)
    headers = source.headers(kos)
    del headers["Authorization"]
    answer = await get(study_url(source, series[0].study_uid), headers)
    assert outcome(answer) == (403, "E204")


async def test_study_without_kos_header_is_400(source: Source) -> None:
    kos, series = source.small(12)
    headers = source.headers(kos)
    del headers["KOS-SOPInstanceUID"]
    answer = await get(study_url(source, series[0].study_uid), headers)
    assert outcome(answer) == (400, "KOS_HEADER_MISSING")


async def test_study_with_a_kos_of_another_study_is_404(source: Source) -> None:
    _, series = source.small(12)
    other, _ = source.small(13)
    answer = await get(study_url(source, series[0].study_uid), source.headers(other))
    assert outcome(answer) == (404, "E205")


async def test_study_with_an_unknown_kos_is_404(source: Source) -> None:
    _, series = source.small(12)
    answer = await get(study_url(source, series[0].study_uid), source.headers("1.2.3.4.5"))
    assert outcome(answer) == (404, "E205")


async def test_study_of_a_withdrawn_kos_is_410(source: Source) -> None:
    kos, series = source.small(15)
    await source.archive.set_status(kos.id, UNPUBLISHED)
    answer = await get(study_url(source, series[0].study_uid), source.headers(kos))
    assert outcome(answer) == (410, "E206")


async def test_study_with_nothing_acceptable_is_406(source: Source) -> None:
    kos, series = source.small(12)
    headers = source.headers(kos, Accept='multipart/related; type="application/dicom"; '
                             "transfer-syntax=1.2.840.10008.1.2.4.100")  # fmt: skip
    answer = await get(study_url(source, series[0].study_uid), headers)
    assert outcome(answer) == (406, "NO_ACCEPTABLE_TRANSFER_SYNTAX")
