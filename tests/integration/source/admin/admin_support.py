"""Helpers of the IOCM / admin integration tests (imported by conftest and the tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drimbox.kit.pacs.server import PacsSimulator
from support.dicom_factory import SeriesFiles

TOKEN = "s3cret-admin-token"


@dataclass
class Study:
    series: list[SeriesFiles]

    @property
    def uid(self) -> str:
        return self.series[0].study_uid

    @property
    def all_sops(self) -> list[tuple[str, str]]:
        return [(s.series_uid, sop) for s in self.series for sop in s.sop_uids]


def forget(pacs: PacsSimulator, sops: set[str]) -> None:
    """Delete instances from the simulator's archive (files gone, index pruned)."""
    for row in pacs.archive.rows("PACS_SOURCE_1"):
        if row.sop_instance_uid in sops:
            Path(row.path).unlink()
    pacs.archive.index(pacs.archive.scan())
