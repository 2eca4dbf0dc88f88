"""The reusable Orthanc runner: REST /system, parallel upload, DICOMweb and C-ECHO answer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from peer_support import require_private_netns, unavailable

from drimbox.config import DimseSettings
from drimbox.dicom.dimse import DimseClient
from drimbox.dicom.multipart import MultipartReader, boundary_of
from drimbox.kit.peers import Orthanc, PeerError
from support.dicom_factory import make_ct_series

pytestmark = pytest.mark.orthanc


async def test_orthanc_rest_dicomweb_and_echo(tmp_path: Path) -> None:
    require_private_netns()
    [series] = make_ct_series(tmp_path / "data", instances=4, prefix="PEERORT")
    try:
        peer = Orthanc(workdir=tmp_path / "orthanc")
    except PeerError as exc:
        unavailable(str(exc))
    with peer:
        system = peer.system()
        assert system["DicomAet"] == "ORTHANC"
        assert peer.upload(series.paths, workers=2) == 4
        studies = httpx.get(peer.dicomweb_url + "/studies", timeout=30)
        assert studies.status_code == 200
        assert series.study_uid in {s["0020000D"]["Value"][0] for s in studies.json()}
        url = f"{peer.dicomweb_url}/studies/{series.study_uid}/series/{series.series_uid}"
        response = httpx.get(
            url, headers={"Accept": 'multipart/related; type="application/dicom"'}, timeout=30
        )
        assert response.status_code == 200
        reader = MultipartReader(boundary_of(response.headers["content-type"]))
        parts = reader.feed(response.content)
        reader.close()
        assert len(parts) == 4
        await DimseClient(DimseSettings(port=0)).echo(peer.node())
    assert not (tmp_path / "orthanc" / "never").exists()
