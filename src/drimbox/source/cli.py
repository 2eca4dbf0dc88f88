"""``drimbox source …``: run the Source ingestion service and look at its inbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from drimbox.config import Settings
from drimbox.source.inbox import Inbox, InboxError, InboxRecord
from drimbox.store.db import Database, upgrade_schema
from drimbox.store.models import INBOX_STATUSES

app = typer.Typer(help="DRIMbox Source: report ingestion, KOS archive.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _settings(ctx: typer.Context) -> Settings:
    from drimbox.cli import settings_from  # the root command loads and caches the settings

    return settings_from(ctx)


async def _serve(settings: Settings) -> None:
    from drimbox.source.service import SourceService

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await SourceService(settings).run_until(stop)


@app.command("serve")
def serve(ctx: typer.Context) -> None:
    """Run the whole Source in the foreground (Ctrl-C / SIGTERM stops cleanly).

    MLLP listener: reports (ORU^R01, MDM^T02/T04/T10) and exam cancellations (OMI^O23) are
    acknowledged once stored, then turned into a KOS from the PACS (docs/source-ingestion.md).
    HTTP server (source.http_*): /health, /admin, and RAD-107 WADO-RS under each PACS
    public_base_url when [psc] is configured (docs/rad107.md). IOCM SCP (source.iocm).
    """
    settings = _settings(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(_serve(settings))


async def _list(settings: Settings, status: list[str] | None, limit: int) -> list[InboxRecord]:
    url = settings.effective_database_url
    await asyncio.to_thread(upgrade_schema, url)
    database = Database(url)
    try:
        return await Inbox(database.async_sessions()).list_messages(status, limit=limit)
    finally:
        await database.adispose()


def _table(records: list[InboxRecord]) -> Table:
    table = Table(title="Source inbox (newest first)")
    for column in ("#", "received", "type", "MSH-10", "event", "status", "tries", "KOS", "error"):
        table.add_column(column, overflow="fold")
    colours = {"done": "green", "failed": "red", "retry": "yellow", "duplicate": "cyan"}
    for r in records:
        colour = colours.get(r.status, "white")
        error = f"[{r.last_error_code}] {r.last_error}" if r.last_error_code else r.last_error
        table.add_row(
            str(r.id),
            r.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.message_type,
            r.control_id,
            r.event_kind,
            f"[{colour}]{r.status}[/{colour}]",
            str(r.attempts),
            "" if r.kos_id is None else str(r.kos_id),
            error,
        )
    return table


@app.command("messages")
def messages(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", "-s", help=f"Only these statuses (repeatable): {', '.join(INBOX_STATUSES)}."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON for scripts and monitoring.")
    ] = False,
) -> None:
    """List received HL7 messages with their status and last error (DB.SO.47 traces)."""
    settings = _settings(ctx)
    try:
        records = asyncio.run(_list(settings, status, limit))
    except InboxError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in records], indent=2, ensure_ascii=False))
    else:
        console.print(_table(records))


from drimbox.source.admin_cli import register as _register_admin  # noqa: E402

_register_admin(app)
