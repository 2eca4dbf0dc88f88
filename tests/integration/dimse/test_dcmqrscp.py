"""Our SCU against dcmtk dcmqrscp: echo, find at every level, move, get and store."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pydicom import dcmread

from drimbox.config import PacsNode
from drimbox.dicom.dimse import DimseClient, ReceivedInstance, StoreReceiver
from support.dicom_factory import SeriesFiles, make_ct_series

pytestmark = pytest.mark.dcmtk


async def collect(
    client: DimseClient, node: PacsNode, series: SeriesFiles, **kw: object
) -> list[ReceivedInstance]:
    return [
        i
        async for i in client.retrieve_series(
            node,
            series.study_uid,
            series.series_uid,
            series.sop_uids,
            **kw,  # type: ignore[arg-type]
        )
    ]


async def test_echo(client: DimseClient, dcmqrscp: PacsNode) -> None:
    await client.echo(dcmqrscp)


async def test_find_studies_by_patient(
    client: DimseClient, dcmqrscp: PacsNode, dataset: list[SeriesFiles]
) -> None:
    series = dataset[0]
    studies = await client.find_studies(dcmqrscp, PatientID=series.patient_id)
    assert [s.study_instance_uid for s in studies] == [series.study_uid]
    assert studies[0].patient_name == series.patient_name
    assert studies[0].study_date == "20240102"


async def test_find_all_studies(
    client: DimseClient, dcmqrscp: PacsNode, dataset: list[SeriesFiles]
) -> None:
    studies = await client.find_studies(dcmqrscp)
    assert {s.study_instance_uid for s in studies} == {s.study_uid for s in dataset}


async def test_find_series_and_instances(
    client: DimseClient, dcmqrscp: PacsNode, dataset: list[SeriesFiles]
) -> None:
    first, second = dataset[0], dataset[1]
    assert first.study_uid == second.study_uid
    found = await client.find_series(dcmqrscp, first.study_uid)
    assert [s.series_instance_uid for s in found] == [first.series_uid, second.series_uid]
    assert {s.modality for s in found} == {"CT"}
    instances = await client.find_instances(dcmqrscp, first.study_uid, first.series_uid)
    assert tuple(i.sop_instance_uid for i in instances) == first.sop_uids
    assert [i.instance_number for i in instances] == [1, 2, 3, 4]


async def test_find_study_tree(
    client: DimseClient, dcmqrscp: PacsNode, dataset: list[SeriesFiles]
) -> None:
    first, second = dataset[0], dataset[1]
    tree = await client.find_study_tree(dcmqrscp, first.study_uid)
    assert [t.series.series_instance_uid for t in tree.series] == [
        first.series_uid,
        second.series_uid,
    ]
    assert tree.sop_instance_uids == set(first.sop_uids) | set(second.sop_uids)


@pytest.mark.parametrize("method", ["move", "get"])
async def test_retrieve_series(
    client: DimseClient, dcmqrscp: PacsNode, dataset: list[SeriesFiles], method: str
) -> None:
    series = dataset[2]
    received = await collect(client, dcmqrscp, series, method=method)
    assert sorted(i.sop_instance_uid for i in received) == sorted(series.sop_uids)
    for instance, path in zip(
        sorted(received, key=lambda i: i.sop_instance_uid),
        sorted(series.paths, key=lambda p: dcmread(p).SOPInstanceUID),
        strict=True,
    ):
        ds = dcmread(BytesIO(instance.data))
        assert ds.file_meta.TransferSyntaxUID == instance.transfer_syntax_uid
        assert ds.SOPInstanceUID == instance.sop_instance_uid
        assert ds.PatientID == series.patient_id
        assert ds.PixelData == dcmread(path).PixelData


async def test_store_then_find(client: DimseClient, dcmqrscp: PacsNode, tmp_path: Path) -> None:
    [series] = make_ct_series(tmp_path, patients=1, instances=2, prefix="STORE")
    items: list[Path | bytes] = [series.paths[0], series.paths[1].read_bytes()]
    outcomes = await client.store(dcmqrscp, items)
    assert [o.sop_instance_uid for o in outcomes] == list(series.sop_uids)
    assert {o.status for o in outcomes} == {0}
    instances = await client.find_instances(dcmqrscp, series.study_uid, series.series_uid)
    assert {i.sop_instance_uid for i in instances} == set(series.sop_uids)


async def test_receiver_is_idle_after_retrieves(receiver: StoreReceiver) -> None:
    assert len(receiver.routes) == 0
