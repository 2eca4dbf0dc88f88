"""``drimbox kit pacs …``: the PACS simulator (TE.SIM-PACS)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import func, select

from drimbox.config import PacsSimulatorSettings, Settings
from drimbox.errors import PacsUnavailable
from drimbox.kit.pacs.archive import Archive, IndexJob, IndexReport
from drimbox.kit.pacs.push import parse_target, push
from drimbox.kit.pacs.server import PacsSimulator, parse_destination
from drimbox.store.db import Database, upgrade_schema
from drimbox.store.models import SimInstance

app = typer.Typer(
    help="PACS simulator (TE.SIM-PACS): a DICOM node with the AE titles PACS_SOURCE_1, "
    "PACS_SOURCE_2 and PACS_CONSO, each with its own archive.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

ArchiveOption = Annotated[
    Path | None,
    typer.Option(
        "--archive",
        help="Archive folder: one sub-folder per AE title (<archive>/PACS_SOURCE_1/…); files "
        "outside those folders belong to the first AE title. Default: kit.pacs.archive_dir or "
        "<data_dir>/pacs-archive.",
    ),
]


def _settings(ctx: typer.Context) -> Settings:
    """The effective settings (imported late: ``drimbox.cli`` imports this module)."""
    from drimbox.cli import settings_from

    return settings_from(ctx)


def _pacs_settings(settings: Settings, aets: list[str] | None) -> PacsSimulatorSettings:
    pacs = settings.kit.pacs
    if aets:
        pacs = PacsSimulatorSettings.model_validate({**pacs.model_dump(), "ae_titles": aets})
    return pacs


def _archive_dir(settings: Settings, archive: Path | None) -> Path:
    return archive or settings.kit.pacs.archive_dir or settings.data_dir / "pacs-archive"


def _database(settings: Settings) -> Database:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.effective_database_url)
    upgrade_schema(database.url)
    return database


def _index_with_progress(archive: Archive, jobs: list[IndexJob], label: str) -> IndexReport:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task(label, total=len(jobs))
        report = archive.index(jobs, on_progress=lambda: progress.advance(task))
    for path, reason in report.skipped[:20]:
        err.print(f"[yellow]skipped[/yellow] {path}: {reason}")
    if len(report.skipped) > 20:
        err.print(f"[yellow]… and {len(report.skipped) - 20} more skipped files[/yellow]")
    err.print(
        f"indexed {report.indexed}, unchanged {report.unchanged}, "
        f"removed {report.removed}, skipped {len(report.skipped)}"
    )
    return report


def _parse_destinations(values: Iterable[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        ae, eq, address = value.partition("=")
        try:
            if not eq or not ae.strip():
                raise ValueError(f"expected AE=host:port, got {value!r}")
            parse_destination(address)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--destination") from None
        result[ae.strip()] = address
    return result


@app.command("serve")
def serve(
    ctx: typer.Context,
    archive: ArchiveOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port to listen on (0 = any free port).")
    ] = None,
    aet: Annotated[
        list[str] | None,
        typer.Option("--aet", help="AE title to serve (repeat; replaces kit.pacs.ae_titles)."),
    ] = None,
    destination: Annotated[
        list[str] | None,
        typer.Option(
            "--destination",
            help="C-MOVE destination AE=host:port (repeat; adds to kit.pacs.move_destinations).",
        ),
    ] = None,
    delay: Annotated[
        float | None,
        typer.Option(
            "--delay",
            min=0,
            help="Fault injection: seconds to wait before answering C-FIND, C-MOVE and C-GET.",
        ),
    ] = None,
    refuse: Annotated[
        bool, typer.Option("--refuse", help="Fault injection: reject every association.")
    ] = False,
    index: Annotated[
        bool, typer.Option("--index/--no-index", help="Index the archive folder at start-up.")
    ] = True,
) -> None:
    """Run the PACS simulator until Ctrl-C.

    At start-up the archive folder is indexed (only new or changed files are read). Each AE
    title answers C-ECHO, C-FIND (patient and study root), C-MOVE, C-GET and C-STORE with its
    own archive.
    """
    settings = _settings(ctx)
    pacs = _pacs_settings(settings, aet)
    updates: dict[str, object] = {}
    if host is not None:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    if delay is not None:
        updates["response_delay"] = delay
    if refuse:
        updates["refuse_associations"] = True
    pacs = pacs.model_copy(update=updates)
    root = _archive_dir(settings, archive)
    root.mkdir(parents=True, exist_ok=True)
    database = _database(settings)
    simulator = PacsSimulator(
        pacs, database, archive_dir=root, destinations=_parse_destinations(destination or [])
    )
    if index:
        _index_with_progress(simulator.archive, simulator.archive.scan(), "Indexing archive")
    simulator.start()
    _print_banner(simulator, root)
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
        database.dispose()
        err.print("PACS simulator stopped")


def _print_banner(simulator: PacsSimulator, root: Path) -> None:
    host, port = simulator.host, simulator.port
    console.print(f"[bold]PACS simulator[/bold] listening on {host}:{port}, archive {root}")
    for title in simulator.ae_titles:
        console.print(f"  AE title {title}  (folder {root / title})")
    for ae, (dest_host, dest_port) in sorted(simulator.destinations.items()):
        console.print(f"  C-MOVE destination {ae} -> {dest_host}:{dest_port}")
    if simulator.response_delay:
        console.print(f"  fault injection: {simulator.response_delay} s delay before answers")
    if simulator.refuse_associations:
        console.print("  fault injection: every association is rejected")
    first = simulator.ae_titles[0]
    console.print("Try:")
    console.print(f"  echoscu -aec {first} {host} {port}")
    console.print(
        f"  findscu -S -aec {first} -k QueryRetrieveLevel=STUDY -k PatientName= "
        f"-k StudyInstanceUID= {host} {port}"
    )
    console.print("Stop with Ctrl-C.")


@app.command("load")
def load(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="DICOM files or folders to add.")],
    aet: Annotated[str, typer.Option("--aet", help="AE title whose archive receives the files.")],
    archive: ArchiveOption = None,
    link: Annotated[
        bool, typer.Option("--link", help="Hard-link instead of copying (same file system).")
    ] = False,
) -> None:
    """Copy DICOM files into one AE title's archive and index them.

    Example: drimbox kit pacs load --aet PACS_SOURCE_1 ./exams/ct-thorax
    """
    settings = _settings(ctx)
    database = _database(settings)
    store = Archive(_archive_dir(settings, archive), database, settings.kit.pacs.ae_titles)
    try:
        jobs = store.load(aet, paths, link=link)
    except (ValueError, FileNotFoundError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    report = _index_with_progress(store, jobs, f"Indexing into {aet}")
    database.dispose()
    if report.skipped:
        raise typer.Exit(1)


@app.command("push")
def push_command(
    ctx: typer.Context,
    aet: Annotated[str, typer.Option("--aet", help="AE title whose archive holds the study.")],
    to: Annotated[
        str,
        typer.Option("--to", help="Receiving node as AE@host:port, e.g. DRIMBOX@127.0.0.1:11112"),
    ],
    study: Annotated[
        list[str] | None, typer.Option("--study", help="Study Instance UID to send (repeat).")
    ] = None,
    series: Annotated[
        list[str] | None, typer.Option("--series", help="Series Instance UID to send (repeat).")
    ] = None,
    archive: ArchiveOption = None,
) -> None:
    """Send studies or series of the archive to another DICOM node (C-STORE).

    The calling AE title is the --aet given. Files go in their stored transfer syntax.
    """
    settings = _settings(ctx)
    try:
        called, host, port = parse_target(to)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None
    if not study and not series:
        raise typer.BadParameter("give --study or --series", param_hint="--study")
    database = _database(settings)
    stmt = select(SimInstance).where(SimInstance.aet == aet)
    if study:
        stmt = stmt.where(SimInstance.study_instance_uid.in_(study))
    if series:
        stmt = stmt.where(SimInstance.series_instance_uid.in_(series))
    with database.session() as session:
        rows = list(session.scalars(stmt).all())
    if not rows:
        err.print(f"[red]nothing to send: no matching instance under {aet}[/red]")
        raise typer.Exit(1)
    columns = (TextColumn(f"C-STORE to {called}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("push", total=len(rows))
            report = push(
                rows,
                calling_ae=aet,
                called_ae=called,
                host=host,
                port=port,
                on_progress=lambda: progress.advance(task),
            )
    except PacsUnavailable as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    for uid, reason in report.failed:
        err.print(f"[red]failed[/red] {uid}: {reason}")
    console.print(f"sent {report.sent} (warnings {report.warnings}), failed {len(report.failed)}")
    if report.failed:
        raise typer.Exit(1)


@app.command("ls")
def list_studies(
    ctx: typer.Context,
    aet: Annotated[
        str | None, typer.Option("--aet", help="Only this AE title (default: all).")
    ] = None,
) -> None:
    """List the indexed studies per AE title."""
    settings = _settings(ctx)
    database = _database(settings)
    stmt = (
        select(
            SimInstance.aet,
            SimInstance.patient_id,
            SimInstance.patient_name,
            SimInstance.study_date,
            SimInstance.study_instance_uid,
            func.count(func.distinct(SimInstance.series_instance_uid)),
            func.count(SimInstance.id),
        )
        .group_by(
            SimInstance.aet,
            SimInstance.study_instance_uid,
            SimInstance.patient_id,
            SimInstance.patient_name,
            SimInstance.study_date,
        )
        .order_by(SimInstance.aet, SimInstance.patient_id, SimInstance.study_date)
    )
    if aet:
        stmt = stmt.where(SimInstance.aet == aet)
    with database.session() as session:
        rows = session.execute(stmt).all()
    database.dispose()
    table = Table()
    table.add_column("AE title", no_wrap=True, min_width=13)
    table.add_column("Patient ID", no_wrap=True)
    table.add_column("Patient name", overflow="fold")
    table.add_column("Date", no_wrap=True)
    table.add_column("Study Instance UID", overflow="fold")
    table.add_column("Series", justify="right")
    table.add_column("Instances", justify="right")
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)
