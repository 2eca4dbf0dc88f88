"""``drimbox source import-kos | import-xdm | iocm-pending``: the administrator's commands.

:func:`register` adds them to the ``drimbox source`` Typer application.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from drimbox.config import Settings
from drimbox.source.archive import KosArchive
from drimbox.source.importer import ImportResult, import_kos_files, import_xdm
from drimbox.source.iocm_store import IocmRecord, IocmStore, IocmStoreError
from drimbox.source.xdm import XdmError
from drimbox.store.db import Database, upgrade_schema

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")
_COLOURS = {"imported": "green", "already_present": "cyan", "invalid": "red"}


def _settings(ctx: typer.Context) -> Settings:
    from drimbox.cli import settings_from

    return settings_from(ctx)


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        url = settings.effective_database_url
        await asyncio.to_thread(upgrade_schema, url)
        database = Database(url)
        try:
            return await work(database)
        finally:
            await database.adispose()

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(run())


def _results_table(title: str, results: list[ImportResult]) -> Table:
    table = Table(title=title)
    for column in ("file", "result", "KOS", "study", "PACS", "reason"):
        table.add_column(column, overflow="fold")
    for r in results:
        colour = _COLOURS.get(r.outcome, "white")
        table.add_row(
            r.source,
            f"[{colour}]{r.outcome}[/{colour}]",
            "" if r.kos_id is None else f"#{r.kos_id}",
            r.study_instance_uid,
            r.pacs_name,
            r.reason,
        )
    return table


def _report(title: str, results: list[ImportResult], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in results], indent=2, ensure_ascii=False))
    else:
        console.print(_results_table(title, results))
        counts = {o: sum(r.outcome == o for r in results) for o in _COLOURS}
        console.print(", ".join(f"{n} {o.replace('_', ' ')}" for o, n in counts.items()))
    if not results or any(not r.ok for r in results):
        raise typer.Exit(1)


JsonOption = Annotated[bool, typer.Option("--json", help="JSON for scripts.")]


def import_kos_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="KOS files and/or folders (searched recursively).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Load KOS files into the local KOS archive (TE.KOS-LOAD), with one result per file.

    Each KOS must be a valid DRIM-M KOS whose RetrieveURLs start with the public_base_url of a
    configured PACS. A KOS for a study already archived becomes its new version. Exit code 1
    when any file was refused.
    """
    settings = _settings(ctx)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        err_console.print(f"[red]not found: {', '.join(missing)}[/red]")
        raise typer.Exit(2)

    async def work(database: Database) -> list[ImportResult]:
        return await import_kos_files(paths, KosArchive(database.async_sessions()), settings)

    _report("KOS import", _with_database(settings, work), as_json)


def import_xdm_command(
    ctx: typer.Context,
    archive: Annotated[Path, typer.Argument(help="XDM ZIP archive (IHE ITI-32).")],
    as_json: JsonOption = False,
) -> None:
    """Load the KOS of an XDM archive, keeping the CDA id of its submission set.

    The ZIP is read in memory with size limits; an unsafe archive (path traversal, zip bomb,
    XML entities) is refused as a whole. Exit code 1 when anything was refused.
    """
    settings = _settings(ctx)

    async def work(database: Database) -> list[ImportResult]:
        return await import_xdm(archive, KosArchive(database.async_sessions()), settings)

    try:
        results = _with_database(settings, work)
    except XdmError as exc:
        err_console.print(f"[red]{archive}: {exc}[/red]")
        raise typer.Exit(1) from None
    _report(f"XDM import of {archive.name}", results, as_json)


def _notes_table(notes: list[IocmRecord]) -> Table:
    table = Table(title="IOCM rejection notes (newest first)")
    for column in ("#", "received", "from", "study", "reason", "instances", "status", "tries"):
        table.add_column(column, overflow="fold")
    table.add_column("outcome", overflow="fold")
    for n in notes:
        table.add_row(
            str(n.id),
            n.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            n.calling_ae,
            n.study_instance_uid,
            n.title_meaning,
            str(len(n.rejected)),
            n.status,
            str(n.attempts),
            n.outcome,
        )
    return table


def iocm_pending_command(
    ctx: typer.Context,
    all_notes: Annotated[
        bool, typer.Option("--all", help="Every note, not only the pending ones.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List IOCM rejection notes waiting for the PACS to confirm (or all of them with --all)."""
    settings = _settings(ctx)

    async def work(database: Database) -> list[IocmRecord]:
        status = None if all_notes else "pending"
        return await IocmStore(database).list_notes(status, limit=limit)

    try:
        notes = _with_database(settings, work)
    except IocmStoreError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps([n.as_json() for n in notes], indent=2, ensure_ascii=False))
    else:
        console.print(_notes_table(notes))


def register(app: typer.Typer) -> None:
    """Add the commands to the ``drimbox source`` application."""
    app.command("import-kos")(import_kos_command)
    app.command("import-xdm")(import_xdm_command)
    app.command("iocm-pending")(iocm_pending_command)
