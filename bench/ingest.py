"""Report → KOS throughput of the Source ingestion, on a 300-instance study.

A study of 300 small CT instances (3 series × 100, exam C's study, accession and patient) is
loaded into the PACS simulator on 127.0.0.1; exam C's ANS ORU is sent M times over MLLP, each
time as a new document (new CDA id, new MSH-10), to a SourceService in this process. Printed:
the ACK latency, the time from ACK to KOS archived (p50/p95, one message at a time) and the
messages/s of a burst of M messages (first send → last KOS archived).

Run: ``.venv/bin/python bench/ingest.py [--messages 30]`` (informational; the figures go to
bench/RESULTS.md). Needs the ANS data (../shared/drim-m-data) for the HL7/CDA skeletons.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from drimbox.hl7.client import send_messages
from drimbox.source.service import SourceService
from e2e.source_env import AET, running_pacs, source_settings
from support.ans_messages import CDA_DIR, HL7_DIR, complete_cda, complete_hl7, data_root

STUDY = "1.2.250.1.213.4.5.2.1.103"
DOC_ID = b'<id root="1.2.250.1.213.4.5.4.403"/>'


def write_study(folder: Path, series: int = 3, per_series: int = 100) -> int:
    """Exam C's study as ``series`` × ``per_series`` 16×16 CT instances."""
    pixels = np.zeros((16, 16), dtype=np.uint16).tobytes()
    count = 0
    for s in range(1, series + 1):
        series_uid = generate_uid()
        for i in range(1, per_series + 1):
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, series_uid
            ds.PatientID, ds.PatientName, ds.AccessionNumber = (
                "IPP101",
                "PAT-TROIS^DOMINIQUE",
                "ACN103",
            )
            ds.StudyDate, ds.StudyTime, ds.Modality = "20210108", "102500", "CT"
            ds.SeriesNumber, ds.InstanceNumber = s, i
            ds.Rows = ds.Columns = 16
            ds.BitsAllocated = ds.BitsStored = 16
            ds.HighBit, ds.PixelRepresentation, ds.SamplesPerPixel = 15, 0, 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.PixelData = pixels
            path = folder / "ANS" / f"S{s}" / f"IM{i:05d}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            count += 1
    return count


def messages(count: int, tag: str) -> list[tuple[str, bytes]]:
    """Exam C's ORU as ``count`` distinct documents: (CDA id, message)."""
    root = data_root()
    cda = complete_cda(root / CDA_DIR / "Examen_C/CR_C.skeleton.xml")
    out = []
    for n in range(count):
        doc_id = f"1.2.250.1.213.4.5.4.403.{tag}{n + 1}"
        body = cda.replace(DOC_ID, f'<id root="{doc_id}"/>'.encode())
        hl7 = complete_hl7(root / HL7_DIR / "Examen_C/CR_C-ORU.skeleton.hl7", body, f"B{tag}{n}")
        out.append((doc_id, hl7))
    return out


async def archived(service: SourceService, doc_id: str, timeout: float = 120) -> float:
    deadline = time.perf_counter() + timeout
    while not await service.archive.find_by_cda_id(doc_id):
        if time.perf_counter() > deadline:
            raise SystemExit(f"KOS for {doc_id} not archived within {timeout}s")
        await asyncio.sleep(0.002)
    return time.perf_counter()


async def run(count: int, folder: Path, pacs_port: int) -> None:
    settings = source_settings(folder / "source", pacs_port)
    async with SourceService(settings) as service:
        port = service.mllp_port
        ack_ms, kos_ms = [], []
        for doc_id, message in messages(count, "1"):
            start = time.perf_counter()
            await send_messages("127.0.0.1", port, [message])
            acked = time.perf_counter()
            done = await archived(service, doc_id)
            ack_ms.append((acked - start) * 1000)
            kos_ms.append((done - acked) * 1000)
        burst = messages(count, "2")
        start = time.perf_counter()
        await send_messages("127.0.0.1", port, [m for _, m in burst])
        end = max([await archived(service, doc_id) for doc_id, _ in burst])
        (first,) = await service.archive.find_by_cda_id(burst[0][0])
        instances = sum(s.instance_count for s in await service.archive.series_of(first.id))

    def pct(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]

    print(f"study: {instances} instances referenced per KOS, {count} messages per phase")
    print(f"ACK latency        p50 {pct(ack_ms, 50):7.1f} ms   p95 {pct(ack_ms, 95):7.1f} ms")
    print(f"ACK → KOS archived p50 {pct(kos_ms, 50):7.1f} ms   p95 {pct(kos_ms, 95):7.1f} ms")
    print(f"burst of {count}: {count / (end - start):.1f} messages/s (send → last KOS archived)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drimbox-bench-ingest-") as tmp:
        folder = Path(tmp)
        write_study(folder / "data")
        with running_pacs(folder, folder / "data") as pacs:
            assert AET in pacs.ae_titles
            asyncio.run(run(args.messages, folder, pacs.port))


if __name__ == "__main__":
    main()
