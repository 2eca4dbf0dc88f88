"""Time to C-MOVE / C-GET the 1300-image perf CT series from a PACS into our DimseClient.

Sources:
- ``sim``: our PACS simulator as a *separate process* (``drimbox kit pacs serve``). A real PACS
  is another program: in-process, the simulator's sender threads and our receiver threads
  would share one GIL and the figure would describe neither. The separate process keeps them
  apart, like two machines, and exercises the CLI a tester would use.
- ``dcmqrscp``: dcmtk's C++ archive, a stand-in for a real (non-Python) PACS (DESIGN §5).

Each (source, method) pair runs ``--repeat`` times; the median is reported: time to first
instance, total, MB/s, images/s, peak RSS of this (the receiving) process.

Run as root to get the loopback-only network namespace (dcmqrscp listens on every interface):
``.venv/bin/python bench/pacs_retrieve.py [--repeat 3] [--sources sim,dcmqrscp]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_support import (
    SeriesOnDisk,
    commit,
    drimbox_command,
    machine,
    median,
    peak_rss_mb,
    perf_dataset,
    the_series,
)
from drimbox.config import DimseSettings, PacsNode
from drimbox.dicom.dimse import DimseClient, StoreReceiver
from drimbox.errors import PacsError
from drimbox.kit.peers import Dcmqrscp
from drimbox.kit.peers.common import free_port, port_open, stop_process
from drimbox.kit.peers.netns import ensure_private_netns

OUR_AE = "DRIMBOX"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"
SIM_AE = "PACS_SOURCE_1"


@dataclass(frozen=True)
class Run:
    first_s: float
    total_s: float
    count: int
    size: int
    syntaxes: frozenset[str]


async def retrieve_once(
    client: DimseClient, node: PacsNode, series: SeriesOnDisk, method: str, sop_classes: bool
) -> Run:
    started = time.perf_counter()
    first = None
    count = size = 0
    syntaxes: set[str] = set()
    async for instance in client.retrieve_series(
        node,
        series.study_uid,
        series.series_uid,
        series.sop_uids,
        # as a C-FIND gives them: one C-GET context each
        sop_class_uids=series.sop_classes if sop_classes else None,
        method=method,  # type: ignore[arg-type]
    ):
        if first is None:
            first = time.perf_counter() - started
        count += 1
        size += len(instance.data)
        syntaxes.add(instance.transfer_syntax_uid)
    total = time.perf_counter() - started
    if count != len(series.sop_uids):
        raise SystemExit(f"{node.name} {method}: {count} of {len(series.sop_uids)} instances")
    return Run(first or total, total, count, size, frozenset(syntaxes))


@contextmanager
def simulator_process(work: Path, series: SeriesOnDisk, receiver_port: int) -> Iterator[PacsNode]:
    """``drimbox kit pacs load`` then ``serve`` in a child process, loopback only."""
    env = {**os.environ, "DRIMBOX_DATA_DIR": str(work / "var"), "DRIMBOX_LOG_LEVEL": "WARNING"}
    archive = work / "archive"
    folder = series.paths[0].parent
    cli = drimbox_command()
    load = [*cli, "kit", "pacs", "load", "--aet", SIM_AE, "--archive", str(archive), "--link"]
    started = time.perf_counter()
    subprocess.run([*load, str(folder)], env=env, check=True, capture_output=True)
    print(f"  sim: loaded + indexed in {time.perf_counter() - started:.1f} s", flush=True)
    port = free_port()
    serve = [*cli, "kit", "pacs", "serve", "--archive", str(archive), "--aet", SIM_AE]
    serve += ["--host", "127.0.0.1", "--port", str(port)]
    serve += ["--destination", f"{OUR_AE}=127.0.0.1:{receiver_port}"]
    log = (work / "sim.log").open("wb")
    process = subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            if port_open(port) or process.poll() is not None:
                break
            time.sleep(0.05)
        if process.poll() is not None or not port_open(port):
            raise SystemExit(f"the simulator did not start; see {work / 'sim.log'}")
        yield PacsNode(name="sim", ae_title=SIM_AE, port=port, calling_ae=OUR_AE)
    finally:
        stop_process(process)
        log.close()


@contextmanager
def dcmqrscp_peer(work: Path, series: SeriesOnDisk, receiver_port: int) -> Iterator[PacsNode]:
    with Dcmqrscp(
        destinations={OUR_AE: ("127.0.0.1", receiver_port)},
        workdir=work / "dcmqrscp",
        syntax=JPEG_LS_LOSSLESS,  # stored, accepted and sent as is (no decompression)
    ) as peer:
        started = time.perf_counter()
        peer.load(series.paths)
        print(f"  dcmqrscp: storescu load in {time.perf_counter() - started:.1f} s", flush=True)
        yield peer.node(calling_ae=OUR_AE)


SOURCES = {"sim": simulator_process, "dcmqrscp": dcmqrscp_peer}


async def bench(args: argparse.Namespace, series: SeriesOnDisk) -> list[str]:
    settings = DimseSettings(
        ae_title=OUR_AE, port=0, dimse_timeout=120, network_timeout=120, acse_timeout=30
    )
    lines = []
    mb = series.total_bytes / 1e6
    with StoreReceiver(settings) as receiver, tempfile.TemporaryDirectory() as tmp:
        client = DimseClient(settings, receiver)
        for name in args.sources:
            work = Path(tmp) / name
            work.mkdir()
            print(f"source {name}:", flush=True)
            with SOURCES[name](work, series, receiver.port) as node:
                await client.echo(node)
                for method in args.methods:
                    runs = []
                    for attempt in range(args.repeat):
                        try:
                            run = await retrieve_once(
                                client, node, series, method, not args.without_sop_classes
                            )
                        except PacsError as exc:
                            print(f"  {method} #{attempt + 1}: FAILED {exc}", flush=True)
                            lines.append(f"| {name} | C-{method.upper()} | failed: {exc} |")
                            break
                        runs.append(run)
                        print(
                            f"  {method} #{attempt + 1}: first {run.first_s:.3f} s, "
                            f"total {run.total_s:.2f} s",
                            flush=True,
                        )
                    if not runs:
                        continue
                    total = median([r.total_s for r in runs])
                    first = median([r.first_s for r in runs])
                    syntaxes = ",".join(sorted(set().union(*(r.syntaxes for r in runs))))
                    lines.append(
                        f"| {name} | C-{method.upper()} | {first:.3f} | {total:.2f} | "
                        f"{mb / total:.1f} | {len(series.sop_uids) / total:.0f} | {syntaxes} |"
                    )
            shutil.rmtree(work, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sources", default="sim,dcmqrscp")
    parser.add_argument("--methods", default="move,get")
    parser.add_argument(
        "--without-sop-classes",
        action="store_true",
        help="C-GET without the SOP classes a C-FIND would give (one context per syntax group)",
    )
    parser.add_argument(
        "--no-netns", action="store_true", help="do not enter a private network namespace"
    )
    args = parser.parse_args()
    args.sources = [s for s in args.sources.split(",") if s]
    args.methods = [m for m in args.methods.split(",") if m]
    unknown = set(args.sources) - set(SOURCES) or set(args.methods) - {"move", "get"}
    if unknown:
        parser.error(f"unknown source/method: {', '.join(sorted(unknown))}")
    if not args.no_netns and not ensure_private_netns():
        print("warning: not root: peers listen on every interface of this namespace")
    series = the_series(perf_dataset())
    print(
        f"series: {len(series.sop_uids)} instances, {series.total_bytes / 1e6:.1f} MB "
        f"(JPEG-LS lossless), repeat {args.repeat}, median reported",
        flush=True,
    )
    rows = asyncio.run(bench(args, series))
    print()
    print(f"machine: {machine()} · commit {commit()}")
    print("| source | method | first instance (s) | total (s) | MB/s | images/s | syntax |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    print(f"peak RSS of the receiving process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
