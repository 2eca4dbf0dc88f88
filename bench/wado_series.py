"""RAD-107 series retrieve of the 1300-image perf CT: our Source against Orthanc's DICOMweb.

Two Accept profiles:
1. ``ans``   — the ANS validator sample line (lossless preferred: .70 q=0.9, .80 0.8, …);
2. ``lossy`` — lossy first like the reference Consommatrice (.50 0.9, .51 0.8, .91 0.8,
   .70 0.7, .80 0.6, 1.2.1 0.5).

Peer: Orthanc + its DICOMweb plugin serving the same files on loopback, asked the closest
request it supports (it does not rank a q-list): ``transfer-syntax=*`` (as stored) for
``ans`` and ``transfer-syntax=1.2.840.10008.1.2.4.51`` for ``lossy`` (.50 fails on 12-bit data).

Our side, by default: ``source_stack`` starts the PACS simulator (separate process), the IdP
simulator and our Source as a separate process (``drimbox source serve``); per (method,
profile) a fresh Source with an empty cache answers one instance (process start-up), then the
series cold (via the PACS, written through to the cache), then ``--repeat`` times warm (from
that cache). Peak RSS = VmHWM of the Source + its pool children, summed. With ``--source URL``
(``--token``, ``--kos``, ``--server-pid``) an already running Source is measured instead: first
request cold when its cache does not hold the series yet, the next ones warm. Printed: time to
first part, total, MB out, peak RSS, ratio to Orthanc, DESIGN §5 verdicts.

Run as root (private loopback-only network namespace, Orthanc listens on every interface):
``.venv/bin/python bench/wado_series.py [--repeat 3] [--methods get,move] [--passthrough]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import source_stack
from bench_support import (
    SeriesOnDisk,
    commit,
    machine,
    machine_cpu_busy_s,
    median,
    peak_rss_mb,
    perf_dataset,
    process_cpu_s,
    the_series,
)
from drimbox.kit.peers import Orthanc
from drimbox.kit.peers.netns import ensure_private_netns
from drimbox.kit.wado import ANS_ACCEPT, LOSSY_FIRST_ACCEPT, WadoRequest, WadoResult, fetch
from drimbox.kit.wado.transport import make_client

PROFILES = {"ans": ANS_ACCEPT, "lossy": LOSSY_FIRST_ACCEPT}
ORTHANC_ACCEPT = {
    "ans": 'multipart/related; type="application/dicom"; transfer-syntax=*',
    "lossy": 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.51',
}
# DESIGN §5 targets: (warm total, cold total, first part) in seconds, by what the Source did:
# sent the stored syntax (pass-through), or transcoded (lossy .51, or lossless .70 for the ANS
# header, which costs the same decode + encode).
STORED_SYNTAX = "1.2.840.10008.1.2.4.80"
TARGETS = {"pass-through": (0.6, 5.0, 0.3), "transcoded": (1.0, 9.0, 0.5)}
RSS_TARGET_MB = 500


class RunFailed(Exception):
    """A retrieve answered an error or an incomplete series."""


@dataclass(frozen=True)
class Row:
    side: str
    profile: str
    phase: str
    first_s: float
    total_s: float
    mb_out: float
    parts: int
    syntaxes: str
    rss_mb: float | None = None


def check(result: WadoResult, series: SeriesOnDisk, what: str) -> None:
    if result.status != 200 or result.error or len(result.parts) != len(series.sop_uids):
        reason = result.error or result.error_body or f"{len(result.parts)} parts"
        raise RunFailed(f"{what}: HTTP {result.status}: {reason[:300]}")


async def timed(
    client: httpx.AsyncClient, request: WadoRequest, series: SeriesOnDisk, what: str
) -> WadoResult:
    try:
        result = await fetch(request, client)
    except httpx.HTTPError as exc:
        raise RunFailed(f"{what}: {type(exc).__name__}: {exc}") from None
    check(result, series, what)
    first = result.first_part_s or result.total_s
    print(
        f"  {what}: first part {first:.3f} s, total {result.total_s:.2f} s, "
        f"{result.body_bytes / 1e6:.1f} MB",
        flush=True,
    )
    return result


async def timed_with_cpu(
    client: httpx.AsyncClient, request: WadoRequest, series: SeriesOnDisk, what: str, pid: int
) -> WadoResult:
    """A cold request, plus its CPU account: how busy the whole machine was, and how much of it
    was the Source (``pid``) and its child processes (the transcoding pool)."""
    tree = [pid, *source_stack.descendants(pid)]
    busy, before = machine_cpu_busy_s(), [process_cpu_s(p) for p in tree]
    result = await timed(client, request, series, f"{what} cold")
    busy = machine_cpu_busy_s() - busy
    used = [process_cpu_s(p) - b for p, b in zip(tree, before, strict=True)]
    print(
        f"  {what} cold CPU: machine busy {busy:.1f} s of "
        f"{(os.cpu_count() or 1) * result.total_s:.1f} s available; "
        f"Source {used[0]:.1f} s, children {sum(used[1:]):.1f} s",
        flush=True,
    )
    return result


async def timed_fresh(request: WadoRequest, series: SeriesOnDisk, what: str) -> WadoResult:
    """One request on a new connection: Orthanc closes a kept-alive one after a long transcode."""
    async with httpx.AsyncClient(timeout=300) as client:
        return await timed(client, request, series, what)


def row(
    side: str, profile: str, phase: str, runs: list[WadoResult], rss: float | None = None
) -> Row:
    syntaxes = sorted({p.transfer_syntax or p.meta_syntax or "-" for r in runs for p in r.parts})
    return Row(
        side,
        profile,
        phase,
        median([r.first_part_s or r.total_s for r in runs]),
        median([r.total_s for r in runs]),
        median([r.body_bytes / 1e6 for r in runs]),
        len(runs[0].parts),
        ",".join(syntaxes),
        rss,
    )


async def orthanc_side(args: argparse.Namespace, series: SeriesOnDisk) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Orthanc(workdir=Path(tmp) / "orthanc") as peer:
        print("Orthanc: uploading the series …", flush=True)
        peer.upload(series.paths, workers=4)
        for profile in args.profiles:
            request = WadoRequest(
                endpoint=peer.dicomweb_url,
                study=series.study_uid,
                series=series.series_uid,
                token="unused",
                kos="unused",
                accept=[ORTHANC_ACCEPT[profile]],
            )
            try:
                runs = [
                    await timed_fresh(request, series, f"orthanc {profile} #{i + 1}")
                    for i in range(args.repeat)
                ]
            except RunFailed as exc:
                print(f"  orthanc {profile}: FAILED {exc}", flush=True)
                continue
            rows.append(row("orthanc", profile, "-", runs))
        rss = peak_rss_mb(peer.pid)
        print(f"Orthanc peak RSS: {rss:.0f} MB (whole run)", flush=True)
    return [replace(r, rss_mb=rss) for r in rows]


async def start_up(
    client: httpx.AsyncClient, request: WadoRequest, series: SeriesOnDisk, side: str, profile: str
) -> Row:
    """One instance, the first request of a fresh Source process: it pays the transcoding
    pool's start (forkserver + imports) and the first association; the instance path does not
    write the cache, so the series request after it is still cold."""
    one = replace(request, instance=series.sop_uids[0])
    try:
        result = await fetch(one, client)
    except httpx.HTTPError as exc:
        raise RunFailed(f"start-up: {type(exc).__name__}: {exc}") from None
    if result.status != 200 or len(result.parts) != 1:
        raise RunFailed(f"start-up: HTTP {result.status}: {result.error or result.error_body}")
    print(f"  {side} {profile} start-up (1 instance): {result.total_s:.2f} s", flush=True)
    return row(side, profile, "1st request, 1 instance", [result])


async def own_source_side(args: argparse.Namespace, series: SeriesOnDisk) -> list[Row]:
    """PACS simulator + IdP + our Source, started here; one Source process per
    (method, profile), each with an empty cache: request 1 is cold (via the PACS, written
    through to the cache), requests 2… are warm (served from that cache)."""
    rows = []
    patient_id = perf_dataset().files[0].patient_id
    with source_stack.pacs_and_idp(series, args.pacs) as stack:
        for method in args.methods:
            for profile in args.profiles:
                side = f"source C-{method.upper()}" + (
                    " (dcmqrscp)" if args.pacs == "dcmqrscp" else ""
                )
                with source_stack.source_process(
                    stack, series, method, profile, patient_id, passthrough=args.passthrough
                ) as source:
                    request = WadoRequest(
                        endpoint=source.endpoint,
                        study=series.study_uid,
                        series=series.series_uid,
                        token=stack.token,
                        kos=stack.kos_uid,
                        accept=[PROFILES[profile]],
                    )
                    try:
                        async with make_client(timeout=300) as client:
                            what = f"{side} {profile}"
                            rows.append(await start_up(client, request, series, side, profile))
                            cold = await timed_with_cpu(client, request, series, what, source.pid)
                            for _ in range(200):  # the write-through commit, bounded wait
                                if source.cached():
                                    break
                                await asyncio.sleep(0.05)
                            if not source.cached():
                                print(f"  {what}: cache not written after the cold request")
                            warm = [
                                await timed(client, request, series, f"{what} warm #{i + 1}")
                                for i in range(args.repeat)
                            ]
                    except RunFailed as exc:
                        print(f"  {side} {profile}: FAILED {exc}", flush=True)
                        print(f"  log: {source_stack.WORK}", flush=True)
                        continue
                    rss, children = source.peak_rss_mb()
                    print(
                        f"  {side} {profile}: peak RSS {rss:.0f} MB (Source + {children} "
                        "children, VmHWM summed)",
                        flush=True,
                    )
                    rows.append(row(side, profile, "cold", [cold], rss))
                    rows.append(row(side, profile, "warm", warm, rss))
    return rows


async def source_side(args: argparse.Namespace, series: SeriesOnDisk) -> list[Row]:
    rows = []
    async with make_client(ca=args.ca, cert=args.cert, key=args.key, timeout=300) as client:
        for profile in args.profiles:
            request = WadoRequest(
                endpoint=args.source,
                study=series.study_uid,
                series=series.series_uid,
                token=args.token,
                kos=args.kos,
                accept=[PROFILES[profile]],
            )
            try:
                cold = await timed(client, request, series, f"source {profile} cold")
                rows.append(row("source", profile, "cold", [cold]))
                warm = [
                    await timed(client, request, series, f"source {profile} warm #{i + 1}")
                    for i in range(args.repeat)
                ]
            except RunFailed as exc:
                print(f"  source {profile}: FAILED {exc}", flush=True)
                continue
            rows.append(row("source", profile, "warm", warm))
    return rows


def report(rows: list[Row], server_rss: float | None) -> None:
    print()
    print(f"machine: {machine()} · commit {commit()}")
    print(
        "| side | profile | phase | first part (s) | total (s) | MB out | parts | syntax "
        "| peak RSS (MB) | ×Orthanc | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    orthanc = {r.profile: r for r in rows if r.side == "orthanc"}
    for r in rows:
        peer = orthanc.get(r.profile)
        measured = r.side != "orthanc" and r.phase in ("cold", "warm")
        ratio = f"{peer.total_s / r.total_s:.2f}" if peer and measured else "-"
        target = "-"
        if r.side.startswith("source") and r.phase in ("cold", "warm"):
            kind = "pass-through" if r.syntaxes == STORED_SYNTAX else "transcoded"
            warm, cold, first = TARGETS[kind]
            limit = warm if r.phase == "warm" else cold
            ok = r.total_s <= limit and r.first_s <= first
            if r.rss_mb is not None:
                ok = ok and r.rss_mb <= RSS_TARGET_MB
            target = (
                f"{'met' if ok else 'MISSED'} ({kind}: ≤{limit} s, first ≤{first} s, "
                f"RSS ≤{RSS_TARGET_MB} MB)"
            )
        rss = f"{r.rss_mb:.0f}" if r.rss_mb is not None else "-"
        print(
            f"| {r.side} | {r.profile} | {r.phase} | {r.first_s:.3f} | {r.total_s:.2f} | "
            f"{r.mb_out:.1f} | {r.parts} | {r.syntaxes} | {rss} | {ratio} | {target} |"
        )
    if server_rss is not None:
        verdict = "met" if server_rss <= RSS_TARGET_MB else "MISSED"
        print(f"Source peak RSS: {server_rss:.0f} MB ({verdict}, target ≤ {RSS_TARGET_MB} MB)")
    print("×Orthanc = Orthanc total / ours (above 1: we are faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profiles", default="ans,lossy")
    parser.add_argument("--source", help="WADO-RS root of a running Source (our side)")
    parser.add_argument("--token", default="", help="bearer token for --source")
    parser.add_argument("--kos", default="", help="KOS SOP Instance UID for --source")
    parser.add_argument("--ca", type=Path, help="CA of the Source's certificate (https)")
    parser.add_argument("--cert", type=Path, help="client certificate for mTLS")
    parser.add_argument("--key", type=Path, help="client key for mTLS")
    parser.add_argument("--server-pid", type=int, help="PID of the Source, for its peak RSS")
    parser.add_argument(
        "--methods",
        default="get",
        help="retrieve methods of our self-started Source (get,move: both; C-GET is the faster)",
    )
    parser.add_argument(
        "--passthrough",
        action="store_true",
        help="our Source with source.wado.prefer_passthrough = true (stored syntax if accepted)",
    )
    parser.add_argument(
        "--pacs",
        choices=("sim", "dcmqrscp"),
        default="sim",
        help="the PACS behind our Source: the kit's simulator, or dcmqrscp (C++; C-MOVE only)",
    )
    parser.add_argument("--no-source", action="store_true", help="Orthanc side only")
    parser.add_argument("--no-orthanc", action="store_true")
    parser.add_argument("--no-netns", action="store_true")
    args = parser.parse_args()
    args.profiles = [p for p in args.profiles.split(",") if p]
    args.methods = [m for m in args.methods.split(",") if m]
    if set(args.profiles) - set(PROFILES):
        parser.error(f"profiles: choose from {', '.join(PROFILES)}")
    if args.pacs == "dcmqrscp" and args.methods != ["move"]:
        parser.error("dcmqrscp's C-GET cannot send JPEG-LS as stored: use --methods move")
    if args.source and not (args.token and args.kos):
        parser.error("--source needs --token and --kos")
    # A Source given by URL runs in *our* namespace only if we do not leave it.
    if not args.no_netns and not args.source and not ensure_private_netns():
        print("warning: not root: Orthanc listens on every interface of this namespace")
    series = the_series(perf_dataset())
    print(f"series: {len(series.sop_uids)} instances, {series.total_bytes / 1e6:.1f} MB JPEG-LS")
    rows: list[Row] = []
    if args.source:
        rows += asyncio.run(source_side(args, series))
    elif not args.no_source:
        rows += asyncio.run(own_source_side(args, series))
    if not args.no_orthanc:
        rows += asyncio.run(orthanc_side(args, series))
    report(rows, peak_rss_mb(args.server_pid) if args.server_pid else None)


if __name__ == "__main__":
    main()
