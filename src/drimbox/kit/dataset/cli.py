"""``drimbox kit dataset …``: deterministic test data."""

from __future__ import annotations

import typer

app = typer.Typer(help="Deterministic DICOM test data sets.", no_args_is_help=True)
