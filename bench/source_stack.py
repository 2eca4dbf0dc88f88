"""Our Source, started by the bench itself: PACS simulator + IdP + ``drimbox source serve``.

- the PACS simulator with the perf data, as a separate process (``pacs_retrieve``'s runner);
- the kit's IdP simulator in this process (a uvicorn thread; it only answers introspections);
- our Source as a separate process (``drimbox -c <toml> source serve``), one per (retrieve
  method, profile) with a fresh, empty cache directory, so that each profile's first request
  goes to the PACS; the study's KOS is built from the perf manifest and loaded once with
  ``drimbox source import-kos`` (no prefetch: only a KOS archived inside the serving process
  triggers one, so the first request really is cold).

Peak RSS: VmHWM of the Source process plus VmHWM of each of its live children (the
transcoding pool), summed — read after the last request, before the process is stopped.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench_support import OUT_DIR, SeriesOnDisk, drimbox_command, peak_rss_mb
from drimbox.config import PacsNode
from drimbox.dicom.kos import (
    KosAuthoring,
    KosIdentity,
    KosInstance,
    KosPatient,
    KosRequest,
    KosSeries,
    build_kos,
    kos_bytes,
    series_retrieve_url,
)
from drimbox.kit.idp import IdpSimulator, Professional, create_app
from drimbox.kit.peers.common import free_port, port_open, stop_process
from pacs_retrieve import OUR_AE, SOURCES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.servers import serve_asgi

WORK = OUT_DIR / "wado_source"
PUBLIC_BASE = "https://drimbox-source.example.org/pacs1/wado-rs"
PATH = "/pacs1/wado-rs"
CLIENT_ID, CLIENT_SECRET = "drimbox-source", "bench-secret"
DOCTOR = Professional(national_id="810101234567", given_name="Anne", family_name="MEDECIN")
KOS_UID = "2.25.184736501937465019283746501928374650"


@dataclass
class Stack:
    """What a Source run needs: the PACS node, the IdP URL, the token, the KOS UID."""

    pacs: PacsNode
    receiver_port: int
    idp_url: str
    token: str
    kos_uid: str = KOS_UID


def ins() -> str:
    body = "1700199100199"
    return f"{body}{97 - int(body) % 97:02d}"


def write_kos(series: SeriesOnDisk, patient_id: str, path: Path) -> None:
    """The perf study's DRIM-M KOS, RetrieveURL under PUBLIC_BASE."""
    patient = KosPatient(
        ins=ins(),
        ins_oid="1.2.250.1.213.1.4.10",
        birth_name="PERF",
        given_names=("BENCH",),
        sex="O",
        birth_date=dt.date(1970, 1, 1),
        ipp=patient_id,
        ipp_issuer_oid="1.2.250.1.999.2",
    )
    request = KosRequest(
        study_instance_uid=series.study_uid,
        accession_number="ACCPERF1",
        accession_issuer_oid="1.2.250.1.999.3",
        requested_procedure_description="CT",
        study_date=dt.date(2024, 1, 2),
    )
    kos_series = KosSeries(
        series_instance_uid=series.series_uid,
        retrieve_url=series_retrieve_url(PUBLIC_BASE, series.study_uid, series.series_uid),
        instances=tuple(KosInstance(series.sop_classes[0], sop) for sop in series.sop_uids),
        modality="CT",
    )
    authoring = KosAuthoring(
        institution_name="Centre de test",
        institution_id="101235555",
        content_datetime=dt.datetime(2024, 1, 2, 12, 0, tzinfo=dt.UTC),
        retrieve_location_uid="1.2.250.1.999.1.1",
    )
    ds = build_kos(patient, request, [kos_series], authoring, identity=KosIdentity(KOS_UID))
    path.write_bytes(kos_bytes(ds))


def config_toml(
    stack: Stack, data_dir: Path, cache_dir: Path, http_port: int, method: str, passthrough: bool
) -> str:
    p = stack.pacs
    return f"""
data_dir = "{data_dir}"
log_level = "WARNING"

[dimse]
ae_title = "{OUR_AE}"
host = "127.0.0.1"
port = {stack.receiver_port}
dimse_timeout = 120
network_timeout = 120

[[pacs]]
name = "pacs1"
ae_title = "{p.ae_title}"
host = "127.0.0.1"
port = {p.port}
calling_ae = "{OUR_AE}"
retrieve_method = "{method}"
public_base_url = "{PUBLIC_BASE}"

[psc]
introspection_url = "{stack.idp_url}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"

[tls]
allow_plain_http = true

[source]
http_enabled = true
http_host = "127.0.0.1"
http_port = {http_port}

[source.mllp]
host = "127.0.0.1"
port = {free_port()}

[source.iocm]
enabled = false

[source.wado]
pacs_timeout = 120
prefer_passthrough = {"true" if passthrough else "false"}

[source.cache]
enabled = true
dir = "{cache_dir}"
prefetch_on_kos = false
"""


@contextmanager
def pacs_and_idp(series: SeriesOnDisk, pacs: str = "sim") -> Iterator[Stack]:
    """The PACS (``sim``: our simulator, a separate process; ``dcmqrscp``: dcmtk's C++
    archive, C-MOVE only) and the IdP (thread), with a minted token."""
    if WORK.exists():  # a fresh database, KOS and caches on every run
        subprocess.run(["rm", "-rf", str(WORK)], check=True)
    sim_work = WORK / "sim"
    sim_work.mkdir(parents=True)
    receiver_port = free_port()
    idp = IdpSimulator(clients={CLIENT_ID: CLIENT_SECRET})
    with (
        SOURCES[pacs](sim_work, series, receiver_port) as node,
        serve_asgi(create_app(idp)) as server,
    ):
        token = idp.tokens.mint(DOCTOR, client_id=CLIENT_ID, lifetime=3600).token
        yield Stack(node, receiver_port, idp.introspection_url(server.base_url), token)


@dataclass
class RunningSource:
    endpoint: str
    pid: int
    cache_dir: Path

    def peak_rss_mb(self) -> tuple[float, int]:
        """Sum of VmHWM of the Source and its live children; and the number of children."""
        children = descendants(self.pid)
        return peak_rss_mb(self.pid) + sum(peak_rss_mb(c) for c in children), len(children)

    def cached(self) -> bool:
        return any(self.cache_dir.glob("*/*/v-*/manifest.json"))


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def import_kos(stack: Stack, series: SeriesOnDisk, config: Path, patient_id: str) -> None:
    kos = WORK / "perf-kos.dcm"
    write_kos(series, patient_id, kos)
    cli = [*drimbox_command(), "-c", str(config), "source", "import-kos", str(kos)]
    done = subprocess.run(cli, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"import-kos failed:\n{done.stdout}\n{done.stderr}")


@contextmanager
def source_process(
    stack: Stack,
    series: SeriesOnDisk,
    method: str,
    run: str,
    patient_id: str,
    *,
    passthrough: bool = False,
) -> Iterator[RunningSource]:
    """``drimbox source serve`` with a fresh cache; the KOS imported into its database."""
    data_dir = WORK / f"data-{method}"
    cache_dir = WORK / f"cache-{method}-{run}"
    fresh = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    http_port = free_port()
    config = WORK / f"drimbox-{method}-{run}.toml"
    config.write_text(config_toml(stack, data_dir, cache_dir, http_port, method, passthrough))
    if fresh:
        import_kos(stack, series, config, patient_id)
    env = {**os.environ, "DRIMBOX_LOG_LEVEL": "WARNING"}
    log_path = WORK / f"source-{method}-{run}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*drimbox_command(), "-c", str(config), "source", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(600):
                if port_open(http_port) or process.poll() is not None:
                    break
                time.sleep(0.05)
            if process.poll() is not None or not port_open(http_port):
                raise SystemExit(f"the Source did not start; see {log_path}")
            yield RunningSource(f"http://127.0.0.1:{http_port}{PATH}", process.pid, cache_dir)
        finally:
            stop_process(process)
