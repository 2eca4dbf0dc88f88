"""``drimbox kit …``: simulators, generators and validators."""

from __future__ import annotations

import typer

from drimbox.kit.dataset.cli import app as dataset_app
from drimbox.kit.health.cli import health as health_command
from drimbox.kit.hl7.cli import app as hl7_app
from drimbox.kit.pacs.cli import app as pacs_app
from drimbox.kit.wado.cli import app as wado_app

app = typer.Typer(help="Conformance kit: simulators, test data, validators.", no_args_is_help=True)
app.add_typer(pacs_app, name="pacs")
app.add_typer(dataset_app, name="dataset")
app.add_typer(hl7_app, name="hl7")
app.add_typer(wado_app, name="wado")
app.command("health")(health_command)
