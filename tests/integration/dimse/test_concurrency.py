"""No cross-request mixing (DESIGN §4): concurrent retrieves of different patients' series.

C-MOVE goes through the one shared C-STORE SCP; each instance must reach the request that moved
it. Every delivered instance is decoded here (not in the product) and checked.
"""

from __future__ import annotations

import asyncio
from io import BytesIO

import pytest
from pydicom import dcmread

from drimbox.config import PacsNode
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from support.dicom_factory import SeriesFiles

pytestmark = pytest.mark.dcmtk


async def retrieve_and_check(
    client: DimseClient, node: PacsNode, series: SeriesFiles, method: str, with_expected: bool
) -> int:
    expected = series.sop_uids if with_expected else None
    seen: list[str] = []
    async for instance in client.retrieve_series(
        node,
        series.study_uid,
        series.series_uid,
        expected,
        method=method,  # type: ignore[arg-type]
    ):
        ds = dcmread(BytesIO(instance.data))
        assert ds.PatientID == series.patient_id
        assert ds.SeriesInstanceUID == series.series_uid
        assert instance.sop_instance_uid in series.sop_uids
        assert ds.SOPInstanceUID == instance.sop_instance_uid
        seen.append(instance.sop_instance_uid)
        await asyncio.sleep(0)  # let the other requests interleave
    assert sorted(seen) == sorted(series.sop_uids)
    return len(seen)


@pytest.mark.parametrize(
    ("method", "with_expected"),
    [("move", False), ("move", True), ("get", False), ("get", True)],
    ids=["move-by-originator", "move-cross-checked", "get", "get-cross-checked"],
)
async def test_concurrent_retrieves_of_different_patients(
    client: DimseClient,
    dcmqrscp: PacsNode,
    dataset: list[SeriesFiles],
    receiver: StoreReceiver,
    method: str,
    with_expected: bool,
) -> None:
    one_series_per_patient = dataset[::2]
    assert len({s.patient_id for s in one_series_per_patient}) >= 10
    refused_before = receiver.refused
    counts = await asyncio.gather(
        *(
            retrieve_and_check(client, dcmqrscp, s, method, with_expected)
            for s in one_series_per_patient
        )
    )
    assert counts == [len(s.sop_uids) for s in one_series_per_patient]
    assert receiver.refused == refused_before
    assert len(receiver.routes) == 0
