"""``drimbox kit wado get``: send one ANS-style RAD-107 request and show what came back."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from .client import PartInfo, WadoResult, fetch
from .dump import response_head, write_dump
from .request import ANS_ACCEPT, WadoRequest
from .transport import make_client, transport_error

app = typer.Typer(help="RAD-107 (WADO-RS) client simulator.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

PathOption = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, readable=True)]


def _print_part(info: PartInfo) -> None:
    flag = f"  [red]{info.problem}[/red]" if info.problem else ""
    console.print(
        f"  part {info.index:>5}  {info.transfer_syntax or '-':<24} {info.size:>10} B  "
        f"{info.sop_instance_uid or '-'}  t={info.at_s:.3f}s{flag}"
    )


def _summary(result: WadoResult) -> None:
    mb = result.body_bytes / 1e6
    rate = mb / result.total_s if result.total_s else 0.0
    first = f"{result.first_part_s:.3f} s" if result.first_part_s is not None else "-"
    console.print(f"parts: {len(result.parts)}  bytes: {result.body_bytes} ({mb:.1f} MB)")
    syntaxes = Counter(p.transfer_syntax or "(none)" for p in result.parts)
    for uid, count in syntaxes.most_common():
        console.print(f"  syntax {uid}: {count}")
    console.print(
        f"time to first byte: {result.first_byte_s:.3f} s  first part: {first}  "
        f"total: {result.total_s:.3f} s  ({rate:.1f} MB/s)"
    )


@app.command("get")
def get(
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="WADO-RS root, e.g. https://source.example/rad107/1")
    ],
    token: Annotated[str, typer.Option("--token", help="PSC access token (Bearer).")],
    study: Annotated[str, typer.Option("--study", help="Study Instance UID.")],
    series: Annotated[str, typer.Option("--series", help="Series Instance UID.")],
    kos: Annotated[str, typer.Option("--kos", help="KOS SOP Instance UID (KOS-SOPInstanceUID).")],
    instance: Annotated[
        str | None, typer.Option("--instance", help="SOP Instance UID: instance-level request.")
    ] = None,
    accept: Annotated[
        list[str] | None,
        typer.Option(
            "--accept",
            help="Accept header line (repeat for several lines). Default: the ANS sample line "
            "(lossless first).",
        ),
    ] = None,
    save: Annotated[
        Path | None, typer.Option("--save", help="Write each part as <SOPInstanceUID>.dcm here.")
    ] = None,
    dump: Annotated[
        Path | None,
        typer.Option("--dump", help="Write the request and response heads (ANS sample layout)."),
    ] = None,
    cert: PathOption = None,
    key: PathOption = None,
    ca: PathOption = None,
    timeout: Annotated[float, typer.Option(help="Read timeout (s).")] = 120.0,
    parts: Annotated[
        bool, typer.Option("--parts/--no-parts", help="List every part as it arrives.")
    ] = True,
) -> None:
    """Retrieve a series (or one instance) like a DRIM-M Consommatrice does.

    Prints the status, the response headers, each part (transfer syntax, size, SOP Instance
    UID) and the timings. Exit code 0 when a 200 multipart with at least one well-formed part
    came back, 1 otherwise (HTTP error statuses show their DRIM-M E-code).

    Example: drimbox kit wado get --endpoint https://127.0.0.1:8443/rad107/1 --token T
    --study 1.2.3 --series 1.2.3.4 --kos 1.2.3.9 --save ./out --dump request.txt
    """
    request = WadoRequest(
        endpoint=endpoint,
        study=study,
        series=series,
        token=token,
        kos=kos,
        instance=instance,
        accept=list(accept) if accept else [ANS_ACCEPT],
    )
    on_part = _print_part if parts else None
    try:
        result = asyncio.run(_run(request, cert, key, ca, timeout, save, on_part))
    except httpx.HTTPError as exc:
        err.print(f"[red]no response from {request.url}: {transport_error(exc)}[/red]")
        raise typer.Exit(1) from None
    if dump is not None:
        write_dump(dump, result)
    _report(result, dump)
    bad_parts = [p for p in result.parts if p.problem]
    if not result.ok or bad_parts:
        raise typer.Exit(1)


async def _run(
    request: WadoRequest,
    cert: Path | None,
    key: Path | None,
    ca: Path | None,
    timeout: float,
    save: Path | None,
    on_part: Callable[[PartInfo], None] | None,
) -> WadoResult:
    console.print(f"GET {request.url}")
    async with make_client(ca=ca, cert=cert, key=key, timeout=timeout) as client:
        return await fetch(request, client, save_dir=save, on_part=on_part)


def _report(result: WadoResult, dump: Path | None) -> None:
    console.print(response_head(result).rstrip("\n"))
    if result.status != 200:
        code = result.user_code
        err.print(
            f"[red]HTTP {result.status} {result.reason}"
            f"{f' - DRIM-M code {code}' if code else ''}[/red]"
        )
        if result.error_body:
            console.print(result.error_body.strip())
    else:
        _summary(result)
        if result.error:
            err.print(f"[red]{result.error}[/red]")
        elif not result.parts:
            err.print("[red]the multipart body holds no part[/red]")
    if dump is not None:
        console.print(f"heads written to {dump}")
