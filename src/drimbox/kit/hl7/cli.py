"""``drimbox kit hl7 send``: the TE.SIM-HL7 client (sends files over MLLP, checks the ACKs)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, cast

import typer

from drimbox.hl7.ack import parse_ack
from drimbox.hl7.client import MllpClientError, send_messages
from drimbox.kit.hl7.files import Hl7FileError, Personalisation, read_message

app = typer.Typer(help="HL7 v2 over MLLP (TE.SIM-HL7).", no_args_is_help=True)


@app.command("send")
def send(
    files: Annotated[list[Path], typer.Argument(help="HL7 v2 message files, sent in order.")],
    host: Annotated[str, typer.Option(help="MLLP listener address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="MLLP listener port.")] = 2575,
    personalise: Annotated[
        bool,
        typer.Option(
            "--personalise",
            help="Fill the {{…}} MSH placeholders and give each message a new MSH-10.",
        ),
    ] = False,
    sending_application: Annotated[
        str, typer.Option(help="MSH-3 when it is a placeholder.")
    ] = "DRIMBOX_KIT",
    sending_facility: Annotated[
        str, typer.Option(help="MSH-4 when it is a placeholder.")
    ] = "DRIMBOX_KIT",
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for each ACK.")] = 30.0,
) -> None:
    """Send each file over one MLLP connection and print its ACK code and text.

    Exit code 0 when every ACK is AA, 1 when one is not, 2 when a file or the connection fails.
    Example: drimbox kit hl7 send --port 2575 --personalise CR_C-ORU.hl7
    """
    values = (
        Personalisation(sending_application=sending_application, sending_facility=sending_facility)
        if personalise
        else None
    )
    try:
        messages = [read_message(path, values) for path in files]
    except Hl7FileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        acks = asyncio.run(send_messages(host, port, messages, timeout=timeout))
    except MllpClientError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    failed = 0
    for path, ack in zip(files, acks, strict=True):
        code, control_id, text = parse_ack(ack)
        failed += code != "AA"
        typer.echo(f"{path.name}: {code} {control_id}{' ' + text if text else ''}")
    if failed:
        raise typer.Exit(1)


@app.command("build")
def build(
    exam: Annotated[str, typer.Option("--exam", help="ANS exam letter (A..Z, G1), ans data set.")],
    out: Annotated[Path, typer.Option("--out", help="File to write the HL7 message to.")],
    control_id: Annotated[str, typer.Option(help="MSH-10 message control id.")] = "KIT0001",
    event: Annotated[
        str, typer.Option(help="new (ORC NW), replace (ORC XO + CDA RPLC) or depublish (ORC CA).")
    ] = "new",
) -> None:
    """Write an ORU^R01 + CDA report for an exam of the generated ``ans`` data set.

    Example: drimbox kit hl7 build --exam C --out CR_C.hl7 && drimbox kit hl7 send CR_C.hl7
    """
    from drimbox.kit.dataset.ans_exams import exam as find_exam
    from drimbox.kit.hl7.report import Event, build_report_message

    try:
        chosen = find_exam(exam.upper())
    except KeyError:
        raise typer.BadParameter(f"no ANS exam {exam!r}", param_hint="--exam") from None
    if event not in ("new", "replace", "depublish"):
        raise typer.BadParameter("expected new, replace or depublish", param_hint="--event")
    data = build_report_message(chosen, control_id=control_id, event=cast(Event, event))
    out.write_bytes(data)
    typer.echo(f"{out}: ORU^R01 {event} for exam {chosen.letter} ({len(data)} bytes)")
