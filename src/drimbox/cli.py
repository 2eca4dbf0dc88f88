"""The single ``drimbox`` command. Each area registers its own Typer sub-application."""

from __future__ import annotations

import faulthandler
import json
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from drimbox import __version__
from drimbox.config import Settings, load_settings, masked_dump
from drimbox.demo import demo_command
from drimbox.errors import ConfigError
from drimbox.kit.cli import app as kit_app
from drimbox.source.cli import app as source_app

app = typer.Typer(
    name="drimbox",
    help="Open DRIMbox: DRIM-M Source, Consommatrice and conformance kit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(kit_app, name="kit")
app.add_typer(source_app, name="source")
app.command("demo")(demo_command)

err_console = Console(stderr=True)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML configuration file (or env DRIMBOX_CONFIG)."),
    ] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()
    ctx.obj = config


def settings_from(ctx: typer.Context) -> Settings:
    """Load settings once per command; a bad configuration ends the command with exit 2."""
    root = ctx.find_root()
    cached = root.meta.get("settings")
    if isinstance(cached, Settings):
        return cached
    try:
        settings = load_settings(root.obj)
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    root.meta["settings"] = settings
    return settings


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration as JSON, secrets masked."""
    typer.echo(json.dumps(masked_dump(settings_from(ctx)), indent=2))


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the database schema to the latest version."""
    from drimbox.store.db import upgrade_schema

    settings = settings_from(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_schema(settings.effective_database_url)
    typer.echo("database schema is up to date")


def main() -> None:
    # `kill -USR1 <pid>` prints every thread's stack to stderr: how an operator (or a test) finds
    # out what a process that does not stop is waiting for.
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    app()
