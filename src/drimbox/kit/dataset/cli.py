"""``drimbox kit dataset …``: deterministic test data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from drimbox.kit.dataset.api import DEFAULT_SEED, DatasetError, Profile, generate, planned_files

app = typer.Typer(help="Deterministic DICOM test data sets.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (created).")],
    profile: Annotated[
        Profile,
        typer.Option(
            "--profile",
            "-p",
            help="ans: images for the ANS homologation exams (CDA-matched studies); "
            "perf: the 1300-image JPEG-LS CT of the ANS performance tests (~200 MB); "
            "modalities: one instance per SOP class of DB.VI-CS.30 and pixel variants.",
        ),
    ],
    seed: Annotated[
        int, typer.Option(help="Same profile + seed = byte-identical files.")
    ] = DEFAULT_SEED,
    count: Annotated[
        int | None, typer.Option(min=1, help="perf only: number of CT slices (default 1300).")
    ] = None,
    v_count: Annotated[
        int | None,
        typer.Option(min=1, help="ans only: images of exam V (default 30; 1330 = ANS original)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="perf only: worker processes (default: CPUs).")
    ] = None,
) -> None:
    """Generate a data set and its manifest.json, then print a summary."""
    total = planned_files(profile, count, v_count)
    started = time.perf_counter()
    with Progress(
        TextColumn(f"[bold]{profile.value}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("files", total=total)
        try:
            manifest = generate(
                profile,
                out,
                seed,
                lambda n: bar.advance(task, n),
                count=count,
                v_count=v_count,
                workers=workers,
            )
        except DatasetError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    elapsed = time.perf_counter() - started
    typer.echo(
        f"{profile.value}: {len(manifest.files)} files, {len(manifest.study_uids)} studies, "
        f"{manifest.total_bytes / 1e6:.1f} MB in {elapsed:.1f} s -> {out}"
    )
