"""Drive our DIMSE client against Orthanc from inside Orthanc's private network namespace.

Run by test_orthanc.py as ``ip netns exec NS python orthanc_driver.py JOB.json``; prints one JSON
object with what each service returned (or the error type), which the test asserts on.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import dcmread

from drimbox.config import DimseSettings, PacsNode
from drimbox.dicom.dimse import DimseClient, StoreReceiver


def wait_for_http(url: str, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        try:
            with urllib.request.urlopen(url + "/system", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"Orthanc HTTP did not come up at {url}")


def upload(url: str, paths: list[str]) -> None:
    for path in paths:
        request = urllib.request.Request(
            url + "/instances",
            data=Path(path).read_bytes(),
            headers={"Content-Type": "application/dicom"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()


async def retrieve(
    client: DimseClient, node: PacsNode, series: dict[str, Any], method: str, expected: bool
) -> dict[str, Any]:
    try:
        found = []
        async for instance in client.retrieve_series(
            node,
            series["study_uid"],
            series["series_uid"],
            series["sop_uids"] if expected else None,
            method=method,  # type: ignore[arg-type]
        ):
            ds = dcmread(BytesIO(instance.data))
            found.append([instance.sop_instance_uid, ds.PatientID, instance.transfer_syntax_uid])
        return {"ok": True, "instances": found}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__, "message": str(exc)}


async def drive(job: dict[str, Any]) -> dict[str, Any]:
    settings = DimseSettings(ae_title=job["our_ae"], port=job["receiver_port"], dimse_timeout=30)
    node = PacsNode(
        name="orthanc",
        ae_title=job["orthanc_ae"],
        port=job["orthanc_port"],
        calling_ae=job["our_ae"],
    )
    out: dict[str, Any] = {}
    with StoreReceiver(settings) as receiver:
        client = DimseClient(settings, receiver)
        await client.echo(node)
        out["echo"] = True
        series, other = job["series"][0], job["series"][1]
        studies = await client.find_studies(node, PatientID=series["patient_id"])
        out["studies"] = [[s.study_instance_uid, s.patient_id, s.patient_name] for s in studies]
        found_series = await client.find_series(node, series["study_uid"])
        out["series"] = [[s.series_instance_uid, s.modality] for s in found_series]
        instances = await client.find_instances(node, series["study_uid"], series["series_uid"])
        out["instances"] = [[i.sop_instance_uid, i.sop_class_uid] for i in instances]
        tree = await client.find_study_tree(node, series["study_uid"])
        out["tree"] = sorted(tree.sop_instance_uids)
        out["move"] = await retrieve(client, node, series, "move", expected=True)
        out["move_by_originator"] = await retrieve(client, node, other, "move", expected=False)
        out["get"] = await retrieve(client, node, series, "get", expected=True)
        stored = await client.store(node, [Path(p) for p in job["store_paths"]])
        out["store"] = [[o.sop_instance_uid, o.status] for o in stored]
        new = job["store_series"]
        after = await client.find_instances(node, new["study_uid"], new["series_uid"])
        out["stored_found"] = sorted(i.sop_instance_uid for i in after)
        out["receiver_refused"] = receiver.refused
    return out


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    wait_for_http(job["http_url"])
    upload(job["http_url"], job["upload_paths"])
    print(json.dumps(asyncio.run(drive(job))))


if __name__ == "__main__":
    main()
