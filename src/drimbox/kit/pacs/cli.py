"""``drimbox kit pacs …``: the PACS simulator (TE.SIM-PACS)."""

from __future__ import annotations

import typer

app = typer.Typer(help="PACS simulator (TE.SIM-PACS).", no_args_is_help=True)
