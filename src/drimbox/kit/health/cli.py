"""``drimbox kit health URL``: GET the health report like the ANS healthcheck client does.

The ANS sample (test_a_blanc/Simulateur_client_healthcheck) is ``GET <WADO-RS root>`` with
``accept: application/json``; ``/health`` answers the same report.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from drimbox.kit.wado.transport import make_client, transport_error

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

PathOption = Annotated[Path | None, typer.Option(exists=True, dir_okay=False, readable=True)]


async def probe(
    url: str, accept: str, *, ca: Path | None, cert: Path | None, key: Path | None, timeout: float
) -> tuple[httpx.Response, float]:
    """One GET; returns the response and its duration in seconds."""
    async with make_client(ca=ca, cert=cert, key=key, timeout=timeout) as client:
        started = time.perf_counter()
        response = await client.get(url, headers={"Accept": accept})
        return response, time.perf_counter() - started


def health(
    url: Annotated[str, typer.Argument(help="/health URL or the WADO-RS root of a Source.")],
    accept: Annotated[str, typer.Option("--accept", help="Accept header.")] = "application/json",
    cert: PathOption = None,
    key: PathOption = None,
    ca: PathOption = None,
    timeout: Annotated[float, typer.Option(help="Request timeout (s).")] = 30.0,
) -> None:
    """Print the status and the health report; exit 0 on HTTP 200, 1 otherwise.

    Example: drimbox kit health https://source.example:8443/rad107/1 --ca ca.pem
    --cert client.pem --key client.key
    """
    try:
        response, seconds = asyncio.run(
            probe(url, accept, ca=ca, cert=cert, key=key, timeout=timeout)
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]no response from {url}: {transport_error(exc)}[/red]")
        raise typer.Exit(1) from None
    colour = "green" if response.status_code == 200 else "red"
    console.print(
        f"[{colour}]HTTP {response.status_code} {response.reason_phrase}[/{colour}] "
        f"({seconds * 1000:.0f} ms)"
    )
    try:
        console.print_json(json.dumps(response.json()))
    except ValueError:
        console.print(response.text)
    if response.status_code != 200:
        raise typer.Exit(1)
