"""One test per RAD-107 outcome (DB.VI-CO.27): 400, 403 (E204), 404 (E205), 410 (E206),
406 (E209 and transfer syntax), 502 (E207 and introspection), 504 (E208); each is audited."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from rad107_env import DOCTOR, Source, SourceFactory, get, kos_for, outcome

from drimbox.config import WadoSettings
from drimbox.kit.idp.admin import FaultSettings
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.archive import UNPUBLISHED
from drimbox.store.audit import audit_events
from support.dicom_factory import uid


async def audit_rows(source: Source) -> list[Any]:
    await source.service.audit.drain()
    async with source.service.archive.sessions() as session:
        return list(await session.run_sync(lambda s: audit_events(s, limit=100)))


# --- 400 -------------------------------------------------------------------------------------


async def test_missing_kos_header_is_400(source: Source) -> None:
    kos, series = source.small(0)
    headers = source.headers(kos)
    del headers["KOS-SOPInstanceUID"]
    assert outcome(await get(source.series_url(series[0]), headers)) == (
        400,
        "KOS_HEADER_MISSING",
    )


async def test_malformed_accept_is_400(source: Source) -> None:
    kos, series = source.small(0)
    headers = source.headers(kos, Accept='multipart/related; type="application/dicom"; q=2')
    assert (await get(source.series_url(series[0]), headers)).status_code == 400


# --- 403 E204 --------------------------------------------------------------------------------


async def test_absent_token_is_403_and_checked_first(source: Source) -> None:
    kos, series = source.small(0)
    headers = source.headers(kos)
    del headers["Authorization"], headers["KOS-SOPInstanceUID"]  # token is checked before KOS
    answer = await get(source.series_url(series[0]), headers)
    assert outcome(answer) == (403, "E204")
    assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", ["unknown", "malformed", "expired", "revoked"])
async def test_invalid_token_is_403(source: Source, kind: str) -> None:
    kos, series = source.small(0)
    if kind == "unknown":
        authorization = "Bearer never-issued-by-the-idp"
    elif kind == "malformed":
        authorization = "Basic dXNlcjpwYXNz"
    elif kind == "expired":
        authorization = f"Bearer {source.token(lifetime=-30)}"
    else:  # the IdP denies it at introspection (active: false)
        token = source.token()
        source.idp.tokens.revoke(token)
        authorization = f"Bearer {token}"
    headers = source.headers(kos, Authorization=authorization)
    assert outcome(await get(source.series_url(series[0]), headers)) == (403, "E204")


async def test_token_active_after_expiry_is_still_refused(source: Source) -> None:
    kos, series = source.small(0)
    token = source.token(lifetime=-30, active_after_expiry=True)
    headers = source.headers(kos, Authorization=f"Bearer {token}")
    assert outcome(await get(source.series_url(series[0]), headers)) == (403, "E204")


async def test_introspection_unreachable_is_502_never_allowed(source: Source) -> None:
    kos, series = source.small(0)
    source.idp.faults = FaultSettings(status=503)
    answer = await get(source.series_url(series[0]), source.headers(kos))
    assert answer.status_code == 502
    assert "introspection" in answer.json()["message"]


# --- 404 E205 --------------------------------------------------------------------------------


async def test_unknown_kos_is_404(source: Source) -> None:
    _, series = source.small(0)
    headers = source.headers("1.2.3.4.5.6.7.8.9")
    assert outcome(await get(source.series_url(series[0]), headers)) == (404, "E205")


async def test_kos_of_another_study_is_404(source: Source) -> None:
    _, series = source.small(0)
    other, _ = source.small(1)
    assert outcome(await get(source.series_url(series[0]), source.headers(other))) == (
        404,
        "E205",
    )


async def test_series_not_in_kos_is_404(source: Source) -> None:
    _, series = source.small(6)
    base = source.settings.pacs[0].public_base_url or ""
    partial = await source.archive.add(kos_for(series[:1], base, tag="first-series-only"))
    answer = await get(source.series_url(series[1]), source.headers(partial))
    assert outcome(answer) == (404, "E205")


async def test_instance_not_in_kos_is_404(source: Source) -> None:
    kos, series = source.small(6)
    url = f"{source.series_url(series[0])}/instances/{series[1].sop_uids[0]}"
    assert outcome(await get(url, source.headers(kos))) == (404, "E205")


# --- 410 E206 --------------------------------------------------------------------------------


async def test_replaced_kos_is_410(source: Source) -> None:
    kos, series = source.small(7)
    base = source.settings.pacs[0].public_base_url or ""
    await source.archive.add(kos_for(series, base, tag="v2"), replaces=kos.id)
    assert outcome(await get(source.series_url(series[0]), source.headers(kos))) == (410, "E206")


async def test_unpublished_kos_is_410(source: Source) -> None:
    kos, series = source.small(7)
    await source.archive.set_status(kos.id, UNPUBLISHED)
    assert outcome(await get(source.series_url(series[0]), source.headers(kos))) == (410, "E206")


async def test_series_deleted_from_the_pacs_is_410(source: Source) -> None:
    _, series = source.small(8)
    gone = replace(
        series[0],
        series_uid=uid("deleted-series"),
        sop_uids=(uid("deleted-sop", 1), uid("deleted-sop", 2)),
    )
    base = source.settings.pacs[0].public_base_url or ""
    kos = await source.archive.add(kos_for([gone], base, tag="deleted"))
    assert outcome(await get(source.series_url(gone), source.headers(kos))) == (410, "E206")


# --- 406 -------------------------------------------------------------------------------------


async def test_patient_identity_mismatch_is_406_e209(
    source: Source, caplog: pytest.LogCaptureFixture
) -> None:
    _, series = source.small(9)
    base = source.settings.pacs[0].public_base_url or ""
    kos = await source.archive.add(kos_for(series, base, ipp="SOMEONE-ELSE", tag="wrong-ipp"))
    answer = await get(source.series_url(series[0]), source.headers(kos))
    assert outcome(answer) == (406, "E209")
    assert "SOMEONE-ELSE" not in answer.text  # no identity data to the caller…
    assert any("E209" in r.message for r in caplog.records)  # …but an administrator trace


async def test_no_acceptable_transfer_syntax_is_406_with_the_supported_list(
    source: Source,
) -> None:
    kos, series = source.small(9)
    mpeg = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.100'
    answer = await get(source.series_url(series[0]), source.headers(kos, Accept=mpeg))
    assert outcome(answer) == (406, "NO_ACCEPTABLE_TRANSFER_SYNTAX")
    supported = answer.json()["supported"]
    assert "1.2.840.10008.1.2.1" in supported and "1.2.840.10008.1.2.4.51" in supported


async def test_q_zero_excludes_a_syntax(source: Source) -> None:
    kos, series = source.small(9)
    accept = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1;q=0'
    answer = await get(source.series_url(series[0]), source.headers(kos, Accept=accept))
    assert answer.status_code == 406


# --- 502 / 504 -------------------------------------------------------------------------------


async def test_pacs_unreachable_is_502_e207(source: Source, pacs: PacsSimulator) -> None:
    kos, series = source.small(10)
    pacs.refuse_associations = True
    assert outcome(await get(source.series_url(series[0]), source.headers(kos))) == (502, "E207")


async def test_pacs_timeout_is_504_e208(make_source: SourceFactory, pacs: PacsSimulator) -> None:
    async with make_source(wado=WadoSettings(pacs_timeout=0.5)) as source:
        kos, series = source.small(10)
        pacs.response_delay = 3.0
        assert outcome(await get(source.series_url(series[0]), source.headers(kos))) == (
            504,
            "E208",
        )


# --- audit -----------------------------------------------------------------------------------


async def test_every_access_is_audited_with_subject_and_outcome(source: Source) -> None:
    kos, series = source.small(11)
    ok = await get(source.series_url(series[0]), source.headers(kos))
    assert ok.status_code == 200
    refused = await get(source.series_url(series[0]), source.headers("1.2.3.999"))
    assert refused.status_code == 404
    anonymous = source.headers(kos)
    del anonymous["Authorization"]
    assert (await get(source.series_url(series[0]), anonymous)).status_code == 403
    rows = await audit_rows(source)
    by_outcome = {row.outcome: row for row in rows}
    assert set(by_outcome) == {"success", "denied"}
    success = by_outcome["success"]
    assert success.action == "rad107.retrieve.series"
    assert success.object_id == f"{series[0].study_uid}/{series[0].series_uid}"
    assert kos.sop_instance_uid in success.detail and "3 instance(s)" in success.detail
    assert success.actor == DOCTOR.subject  # the token's "sub"
    assert DOCTOR.national_id in success.detail
    denied = [row for row in rows if row.outcome == "denied"]
    assert {row.actor for row in denied} == {success.actor, "anonymous"}
    assert any("E205" in row.detail for row in denied)
    assert any("E204" in row.detail for row in denied)
