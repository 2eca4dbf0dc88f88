"""Interop proof: our SCU and C-STORE SCP against Orthanc as a real PACS peer.

Orthanc has no bind-address setting, so it runs in a private network namespace that only has
loopback; our side runs in the same namespace through ``orthanc_driver.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dimse_peers import OUR_AE, require_binary, stop

from support.dicom_factory import SeriesFiles, make_ct_series

pytestmark = pytest.mark.orthanc

ORTHANC_AE = "ORTHANC"
ORTHANC_DICOM_PORT = 4242
ORTHANC_HTTP_PORT = 8042
RECEIVER_PORT = 11112
DRIVER = Path(__file__).with_name("orthanc_driver.py")


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    ip = require_binary("ip")
    name = f"drimbox-dimse-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    created = subprocess.run([ip, "netns", "add", name], capture_output=True, text=True)
    if created.returncode != 0:
        unavailable(f"cannot create a network namespace: {created.stderr.strip()}")
    try:
        subprocess.run([ip, "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run([ip, "netns", "del", name], check=False)


def orthanc_config(folder: Path) -> Path:
    config = {
        "Name": "drimbox-dimse-test",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "DicomAet": ORTHANC_AE,
        "DicomPort": ORTHANC_DICOM_PORT,
        "HttpPort": ORTHANC_HTTP_PORT,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomCheckCalledAet": True,
        "DicomModalities": {"drimbox": [OUR_AE, "127.0.0.1", RECEIVER_PORT]},
        "Plugins": [],
        "HttpServerEnabled": True,
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def orthanc_run(netns: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    orthanc = require_binary("Orthanc")
    folder = tmp_path_factory.mktemp("orthanc")
    data = make_ct_series(
        folder / "data", patients=2, series_per_patient=1, instances=3, prefix="ORT"
    )
    [new] = make_ct_series(folder / "new", patients=1, instances=2, prefix="ORTNEW")
    job = {
        "http_url": f"http://127.0.0.1:{ORTHANC_HTTP_PORT}",
        "orthanc_ae": ORTHANC_AE,
        "orthanc_port": ORTHANC_DICOM_PORT,
        "our_ae": OUR_AE,
        "receiver_port": RECEIVER_PORT,
        "upload_paths": [str(p) for s in data for p in s.paths],
        "series": [describe(s) for s in data],
        "store_paths": [str(p) for p in new.paths],
        "store_series": describe(new),
    }
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(job))
    log = (folder / "orthanc.log").open("wb")
    process = subprocess.Popen(
        ["ip", "netns", "exec", netns, orthanc, str(orthanc_config(folder))],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        driver = subprocess.run(
            ["ip", "netns", "exec", netns, sys.executable, str(DRIVER), str(job_file)],
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    finally:
        stop(process)
        log.close()
    assert driver.returncode == 0, driver.stderr[-3000:]
    result: dict[str, Any] = json.loads(driver.stdout.strip().splitlines()[-1])
    result["job"] = job
    return result


def describe(series: SeriesFiles) -> dict[str, Any]:
    return {
        "patient_id": series.patient_id,
        "patient_name": series.patient_name,
        "study_uid": series.study_uid,
        "series_uid": series.series_uid,
        "sop_uids": list(series.sop_uids),
    }


def test_echo(orthanc_run: dict[str, Any]) -> None:
    assert orthanc_run["echo"] is True


def test_find_all_levels(orthanc_run: dict[str, Any]) -> None:
    series = orthanc_run["job"]["series"][0]
    assert orthanc_run["studies"] == [
        [series["study_uid"], series["patient_id"], series["patient_name"]]
    ]
    assert orthanc_run["series"] == [[series["series_uid"], "CT"]]
    assert sorted(uid for uid, _ in orthanc_run["instances"]) == sorted(series["sop_uids"])
    assert {cls for _, cls in orthanc_run["instances"]} == {"1.2.840.10008.5.1.4.1.1.2"}
    assert orthanc_run["tree"] == sorted(series["sop_uids"])


@pytest.mark.parametrize("key", ["move", "get", "move_by_originator"])
def test_retrieve_series(orthanc_run: dict[str, Any], key: str) -> None:
    index = 1 if key == "move_by_originator" else 0
    series = orthanc_run["job"]["series"][index]
    outcome = orthanc_run[key]
    assert outcome["ok"], outcome
    assert sorted(uid for uid, _, _ in outcome["instances"]) == sorted(series["sop_uids"])
    assert {patient for _, patient, _ in outcome["instances"]} == {series["patient_id"]}


def test_store(orthanc_run: dict[str, Any]) -> None:
    new = orthanc_run["job"]["store_series"]
    assert orthanc_run["store"] == [[uid, 0] for uid in new["sop_uids"]]
    assert orthanc_run["stored_found"] == sorted(new["sop_uids"])
    assert orthanc_run["receiver_refused"] == 0
