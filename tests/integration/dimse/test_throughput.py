"""Informational throughput of C-MOVE and C-GET of a 100-instance series from dcmqrscp.

Asserts completeness only (never wall-clock times); prints the MB/s figures (run with -s).
"""

from __future__ import annotations

import time

import pytest
from dimse_peers import PACS_AE, store_with_storescu

from drimbox.config import PacsNode
from drimbox.dicom.dimse import DimseClient
from support.dicom_factory import SeriesFiles, make_ct_series

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]

INSTANCES = 100
SIZE = 512  # 512 x 512 x 16 bit: about 0.5 MB per instance, like a CT slice


@pytest.fixture(scope="module")
def big_series(dcmqrscp: PacsNode, tmp_path_factory: pytest.TempPathFactory) -> SeriesFiles:
    folder = tmp_path_factory.mktemp("dimse-big")
    [series] = make_ct_series(folder, instances=INSTANCES, size=SIZE, prefix="BIG")
    assert dcmqrscp.ae_title == PACS_AE
    store_with_storescu(dcmqrscp.port, list(series.paths))
    return series


@pytest.mark.parametrize("method", ["move", "get"])
async def test_throughput(
    client: DimseClient,
    dcmqrscp: PacsNode,
    big_series: SeriesFiles,
    method: str,
    record_property: pytest.RecordProperty,
) -> None:
    start = time.perf_counter()
    total = 0
    count = 0
    async for instance in client.retrieve_series(
        dcmqrscp,
        big_series.study_uid,
        big_series.series_uid,
        big_series.sop_uids,
        method=method,  # type: ignore[arg-type]
    ):
        total += len(instance.data)
        count += 1
    elapsed = time.perf_counter() - start
    assert count == INSTANCES
    rate = total / elapsed / 1e6
    record_property(f"{method}_mb_per_s", round(rate, 1))
    megabytes = total / 1e6
    print(f"C-{method.upper()}: {count} instances, {megabytes:.1f} MB, {rate:.1f} MB/s")
