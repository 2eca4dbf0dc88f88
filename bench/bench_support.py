"""Shared plumbing of the benchmarks: the perf data set, the machine line, medians, peak RSS."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from drimbox.kit.dataset.api import MANIFEST, Manifest, generate, load_manifest

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
PERF_DIR = OUT_DIR / "perf"


def perf_dataset(out: Path = PERF_DIR) -> Manifest:
    """The 1300-image JPEG-LS CT (generated once, ~15 s, into bench/out/perf)."""
    if not (out / MANIFEST).is_file():
        print(f"generating the perf data set into {out} …", flush=True)
        return generate("perf", out)
    return load_manifest(out)


@dataclass(frozen=True)
class SeriesOnDisk:
    study_uid: str
    series_uid: str
    sop_uids: list[str]
    sop_classes: list[str]
    paths: list[Path]
    total_bytes: int


def the_series(manifest: Manifest, root: Path = PERF_DIR) -> SeriesOnDisk:
    files = manifest.files
    series = {f.series_instance_uid for f in files}
    if len(series) != 1:
        raise SystemExit(f"expected one series in the perf data set, found {len(series)}")
    return SeriesOnDisk(
        files[0].study_instance_uid,
        files[0].series_instance_uid,
        [f.sop_instance_uid for f in files],
        sorted({f.sop_class_uid for f in files}),
        [root / f.path for f in files],
        sum(f.size for f in files),
    )


def machine() -> str:
    cpus = os.cpu_count()
    return (
        f"{platform.node()} · {cpus} CPU · Python {platform.python_version()} · {platform.system()}"
    )


def commit() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(BENCH_DIR), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    dirty = subprocess.run(
        ["git", "-C", str(BENCH_DIR), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") or "unknown"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak RSS (VmHWM) of ``pid`` in MB; of this process when None."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def drimbox_command() -> list[str]:
    """The ``drimbox`` entry point of this interpreter's environment."""
    script = Path(sys.executable).parent / "drimbox"
    return [str(script)] if script.exists() else [sys.executable, "-m", "drimbox.cli"]


def machine_cpu_busy_s() -> float:
    """CPU-seconds all CPUs have spent busy since boot (/proc/stat: all but idle and iowait)."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU-seconds of one live process (0 when it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
