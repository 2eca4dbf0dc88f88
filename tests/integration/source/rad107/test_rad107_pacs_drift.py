"""When the PACS and the KOS disagree: the Source retrieves without an image-level C-FIND (the
KOS lists the instances), so drift is handled on the retrieve itself.

- an instance the KOS references but the PACS no longer has is skipped (with a warning);
- instances the PACS holds in the series but the KOS does not reference are never sent;
- one instance is fetched with an IMAGE-level retrieve, never the whole series.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from rad107_env import Source, dataset_of, get, kos_for, parts_of

from drimbox.kit.pacs import server as pacs_server
from support.dicom_factory import uid


async def test_instance_deleted_from_the_pacs_is_skipped(
    source: Source, caplog: pytest.LogCaptureFixture
) -> None:
    _, series = source.small(15)
    ghost = uid("ghost-sop", series[0].series_uid)
    drifted = replace(series[0], sop_uids=(*series[0].sop_uids, ghost))
    base = source.settings.pacs[0].public_base_url or ""
    kos = await source.archive.add(kos_for([drifted], base, tag="ghost"))

    answer = await get(source.series_url(drifted), source.headers(kos))

    assert answer.status_code == 200
    sent = {str(dataset_of(p).SOPInstanceUID) for p in parts_of(answer)}
    assert sent == set(series[0].sop_uids)
    assert any("no longer in the PACS" in r.getMessage() for r in caplog.records)


async def test_instances_the_kos_does_not_reference_are_never_sent(source: Source) -> None:
    _, series = source.small(16)
    granted = replace(series[0], sop_uids=series[0].sop_uids[:2])
    base = source.settings.pacs[0].public_base_url or ""
    kos = await source.archive.add(kos_for([granted], base, tag="subset"))

    for _ in range(2):  # the second request proves the first left nothing behind
        answer = await get(source.series_url(granted), source.headers(kos))
        assert answer.status_code == 200
        sent = [str(dataset_of(p).SOPInstanceUID) for p in parts_of(answer)]
        assert sorted(sent) == sorted(granted.sop_uids)


async def test_one_instance_is_retrieved_at_image_level(
    source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    kos, series = source.small(17)
    levels: list[str] = []
    parse = pacs_server.parse_retrieve

    def spying(ds: Any, model: Any) -> Any:
        levels.append(str(ds.QueryRetrieveLevel))
        return parse(ds, model)

    monkeypatch.setattr(pacs_server, "parse_retrieve", spying)
    sop = series[0].sop_uids[1]
    answer = await get(f"{source.series_url(series[0])}/instances/{sop}", source.headers(kos))

    assert answer.status_code == 200
    assert [str(dataset_of(p).SOPInstanceUID) for p in parts_of(answer)] == [sop]
    assert levels == ["IMAGE"]
