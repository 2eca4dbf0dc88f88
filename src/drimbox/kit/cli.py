"""``drimbox kit …``: simulators, generators and validators."""

from __future__ import annotations

import typer

from drimbox.kit.dataset.cli import app as dataset_app
from drimbox.kit.pacs.cli import app as pacs_app

app = typer.Typer(help="Conformance kit: simulators, test data, validators.", no_args_is_help=True)
app.add_typer(pacs_app, name="pacs")
app.add_typer(dataset_app, name="dataset")
