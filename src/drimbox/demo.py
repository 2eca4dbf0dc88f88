"""``drimbox demo``: the whole DRIMbox Source on embedded defaults, on 127.0.0.1 only.

One process runs the PACS simulator (the generated ``ans`` data set under PACS_SOURCE_1), the
identity-provider simulator (PSC-like token introspection) and a SourceService (MLLP, C-STORE
SCP for C-MOVE, IOCM SCP, HTTP: RAD-107 + /health + /admin, warm cache). It then sends the
reports of a few exams over MLLP like a RIS would, waits until their KOS are archived, mints a
token for a demo doctor and prints the commands a Consumer, an integrator or an administrator
would type. The Source state (database, cache) is reset at each start; the data set and the PACS
index are kept under ``<data_dir>/demo``. Plain HTTP: TLS is off in the demo (see docs/demo.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from drimbox.config import (
    CacheSettings,
    DimseSettings,
    IocmSettings,
    MllpSettings,
    PacsNode,
    PacsSimulatorSettings,
    PscSettings,
    RetrySettings,
    Settings,
    SourceSettings,
    TlsSettings,
)
from drimbox.errors import DrimboxError
from drimbox.hl7.ack import parse_ack
from drimbox.hl7.client import send_messages
from drimbox.kit.dataset.ans_exams import Exam, exam
from drimbox.kit.dataset.api import generate
from drimbox.kit.hl7.report import build_report_message
from drimbox.kit.idp import IdpSimulator, Professional, create_app
from drimbox.kit.pacs.server import PacsSimulator
from drimbox.source.archive import KosRecord, SeriesRecord
from drimbox.source.inbox import FAILED
from drimbox.source.service import SourceService
from drimbox.store.db import Database, upgrade_schema
from drimbox.web.server import BackgroundServer

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
PACS_AET = "PACS_SOURCE_1"
PACS_NAME = "pacs1"
CLIENT_ID = "drimbox-source-demo"
DOCTOR = Professional(national_id="810101234567", given_name="Anne", family_name="MEDECIN")
DEFAULT_EXAMS = ("C", "H", "X")


class DemoError(DrimboxError):
    """The demo could not get ready (a port taken, a report refused, a KOS not built in time)."""


@dataclass(frozen=True)
class DemoOptions:
    """Ports and choices of one demo run (all listeners on 127.0.0.1)."""

    data_dir: Path
    pacs_port: int = 11120
    idp_port: int = 8090
    mllp_port: int = 2575
    dimse_port: int = 11112
    iocm_port: int = 11113
    http_port: int = 8080
    exams: tuple[str, ...] = DEFAULT_EXAMS
    ready_timeout: float = 120.0
    exit_after_ready: bool = False

    @property
    def root(self) -> Path:
        return self.data_dir / "demo"

    @property
    def public_base_url(self) -> str:
        return f"http://{HOST}:{self.http_port}/{PACS_NAME}/wado-rs"


@dataclass
class ReadyExam:
    """One exam as the panel shows it: its report file, KOS and series."""

    exam: Exam
    message_file: Path
    kos: KosRecord
    series: list[SeriesRecord] = field(default_factory=list)


@contextlib.contextmanager
def _starting(what: str, ports: int | str) -> Iterator[None]:
    """Name the part and its port(s) when a listener cannot bind (port taken, …)."""
    try:
        yield
    except OSError as exc:
        raise DemoError(
            f"cannot start {what} on {HOST} ({ports}): {exc.strerror or exc}; "
            "choose other ports with the --*-port options"
        ) from None


def source_settings(base: Settings, options: DemoOptions, introspection_url: str) -> Settings:
    """The Source's settings: embedded SQLite under the demo folder, loopback, plain HTTP."""
    return base.model_copy(
        update={
            "data_dir": options.root / "source",
            "database_url": None,
            "dimse": DimseSettings(
                ae_title=base.dimse.ae_title, host=HOST, port=options.dimse_port
            ),
            "pacs": [
                PacsNode(
                    name=PACS_NAME,
                    ae_title=PACS_AET,
                    host=HOST,
                    port=options.pacs_port,
                    retrieve_method="move",
                    public_base_url=options.public_base_url,
                )
            ],
            "psc": PscSettings(
                introspection_url=introspection_url,
                client_id=CLIENT_ID,
                client_secret=SecretStr(secrets.token_urlsafe(24)),
            ),
            "tls": TlsSettings(allow_plain_http=True),
            "source": SourceSettings(
                mllp=MllpSettings(host=HOST, port=options.mllp_port),
                retry=RetrySettings(base_seconds=2.0, cap_seconds=30.0),
                iocm=IocmSettings(host=HOST, port=options.iocm_port),
                cache=CacheSettings(enabled=True, prefetch_on_kos=True),
                http_enabled=True,
                http_host=HOST,
                http_port=options.http_port,
                admin_token=SecretStr(secrets.token_urlsafe(24)),
            ),
        }
    )


class Demo:
    """The running demo: ``await start()`` gets it ready, ``await stop()`` releases everything."""

    def __init__(self, settings: Settings, options: DemoOptions, console: Console) -> None:
        self.base = settings
        self.options = options
        self.console = console
        self.pacs: PacsSimulator | None = None
        self.pacs_db: Database | None = None
        self.idp = IdpSimulator(clients={})
        self.idp_server: BackgroundServer | None = None
        self.source: SourceService | None = None
        self.settings: Settings | None = None
        self.ready: list[ReadyExam] = []
        self.token = ""

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> None:
        root = self.options.root
        dataset = root / "ans"
        if not (dataset / "manifest.json").is_file():
            self.console.print(f"generating the ans data set in {dataset} …")
            await asyncio.to_thread(generate, "ans", dataset)
        with _starting("the PACS simulator", self.options.pacs_port):
            await asyncio.to_thread(self._start_pacs, dataset)
        with _starting("the IdP simulator", self.options.idp_port):
            await self._start_idp()
        assert self.settings is not None
        shutil.rmtree(self.settings.data_dir, ignore_errors=True)  # fresh Source each run
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.source = SourceService(self.settings, idle_poll=0.5)
        ports = (
            f"MLLP {self.options.mllp_port}, DICOM {self.options.dimse_port}, "
            f"IOCM {self.options.iocm_port}, HTTP {self.options.http_port}"
        )
        with _starting("the Source", ports):
            await self.source.start()
        await self._send_reports()
        self.token = self.idp.tokens.mint(DOCTOR, client_id=CLIENT_ID, lifetime=12 * 3600).token

    def _start_pacs(self, dataset: Path) -> None:
        root = self.options.root
        url = f"sqlite:///{(root / 'pacs.sqlite3').resolve()}"
        upgrade_schema(url)
        self.pacs_db = Database(url)
        titles = list(dict.fromkeys([PACS_AET, *self.base.kit.pacs.ae_titles]))
        pacs_settings = PacsSimulatorSettings(
            host=HOST, port=self.options.pacs_port, ae_titles=titles
        )
        self.pacs = PacsSimulator(
            pacs_settings,
            self.pacs_db,
            archive_dir=root / "pacs-archive",
            destinations={self.base.dimse.ae_title: f"{HOST}:{self.options.dimse_port}"},
        )
        jobs = self.pacs.archive.load(PACS_AET, [dataset / "ANS"], link=True)
        report = self.pacs.archive.index(jobs)  # incremental: unchanged files are not re-read
        if report.skipped:
            raise DemoError(f"the PACS simulator could not index {report.skipped[0]}")
        self.pacs.start()

    async def _start_idp(self) -> None:
        idp_settings = self.base.model_copy(
            update={
                "tls": TlsSettings(allow_plain_http=True),
                "source": SourceSettings(http_host=HOST, http_port=self.options.idp_port),
            }
        )
        self.idp_server = BackgroundServer(create_app(self.idp), idp_settings)
        await self.idp_server.start()
        settings = source_settings(
            self.base, self.options, self.idp.introspection_url(self.idp_server.base_url)
        )
        assert settings.psc.client_secret is not None
        self.idp.clients[CLIENT_ID] = settings.psc.client_secret.get_secret_value()
        self.settings = settings

    async def _send_reports(self) -> None:
        """Send one ORU per exam over MLLP (like the RIS), then wait for every KOS."""
        assert self.source is not None
        folder = self.options.root / "messages"
        folder.mkdir(parents=True, exist_ok=True)
        run = time.strftime("%H%M%S")
        exams = [exam(letter) for letter in self.options.exams]
        files: list[Path] = []
        messages: list[bytes] = []
        for item in exams:
            data = build_report_message(item, control_id=f"DEMO-{run}-{item.letter}")
            path = folder / f"CR_{item.letter}-ORU.hl7"
            path.write_bytes(data)
            files.append(path)
            messages.append(data)
        acks = await send_messages(HOST, self.source.mllp_port, messages, timeout=30)
        for item, ack in zip(exams, acks, strict=True):
            code, _, text = parse_ack(ack)
            if code != "AA":
                raise DemoError(f"the report of exam {item.letter} was refused: {code} {text}")
        self.console.print(f"sent {len(exams)} report(s) over MLLP; building the KOS …")
        for item, path in zip(exams, files, strict=True):
            kos = await self._wait_kos(item)
            series = await self.source.archive.series_of(kos.id)
            self.ready.append(ReadyExam(item, path, kos, series))

    async def _wait_kos(self, item: Exam) -> KosRecord:
        assert self.source is not None
        deadline = time.monotonic() + self.options.ready_timeout
        study = item.study_uids[0]
        while time.monotonic() < deadline:
            found = [k for k in await self.source.archive.find_by_study(study) if not k.withdrawn]
            if found:
                return found[-1]
            failed = [
                r
                for r in await self.source.inbox.list_messages(FAILED)
                if r.control_id.endswith(f"-{item.letter}")
            ]
            if failed:
                raise DemoError(
                    f"exam {item.letter}: processing failed: "
                    f"[{failed[0].last_error_code}] {failed[0].last_error}"
                )
            await asyncio.sleep(0.2)
        raise DemoError(
            f"exam {item.letter}: no KOS after {self.options.ready_timeout:g} s "
            f"(see `drimbox source inbox`)"
        )

    # -- stop ----------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop in the reverse order; each part is stopped even if another one fails."""
        if self.source is not None:
            with contextlib.suppress(Exception):
                await self.source.stop()
            self.source = None
        if self.idp_server is not None:
            with contextlib.suppress(Exception):
                await self.idp_server.stop()
            self.idp_server = None
        if self.pacs is not None:
            await asyncio.to_thread(self.pacs.stop)
            self.pacs = None
        if self.pacs_db is not None:
            self.pacs_db.dispose()
            self.pacs_db = None

    # -- panel ---------------------------------------------------------------------------

    def commands(self) -> list[tuple[str, str]]:
        """(what, command) pairs printed under the panel, one command per line."""
        assert self.settings is not None and self.source is not None
        http = self.source.http_base_url
        admin = self.settings.source.admin_token
        assert admin is not None
        out: list[tuple[str, str]] = []
        for ready in self.ready:
            for item in ready.series[:1]:
                out.append(
                    (
                        f"RAD-107: retrieve a series of exam {ready.exam.letter} "
                        f"({item.instance_count} instance(s)) like a Consumer",
                        f"drimbox kit wado get --endpoint {self.options.public_base_url} "
                        f"--token {self.token} --study {ready.kos.study_instance_uid} "
                        f"--series {item.series_instance_uid} "
                        f"--kos {ready.kos.sop_instance_uid} --save {self.options.root / 'out'}",
                    )
                )
        first = self.ready[0].message_file if self.ready else "FILE"
        out += [
            ("Health report (météo des services)", f"drimbox kit health {http}/health"),
            (
                "Admin API: the inbox",
                f"curl -H 'Authorization: Bearer {admin.get_secret_value()}' {http}/admin/messages",
            ),
            (
                "Send a report again (new MSH-10) like a RIS",
                f"drimbox kit hl7 send --port {self.source.mllp_port} --personalise {first}",
            ),
            (
                "Build another report (any exam A..Z)",
                f"drimbox kit hl7 build --exam L --out {self.options.root / 'messages'}/CR_L.hl7",
            ),
            (
                "Query the PACS simulator",
                f"findscu -S -aec {PACS_AET} -k QueryRetrieveLevel=STUDY -k PatientName= "
                f"-k StudyInstanceUID= {HOST} {self.options.pacs_port}",
            ),
        ]
        return out

    def print_ready(self) -> None:
        assert self.settings is not None and self.source is not None
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("PACS simulator", f"{PACS_AET}@{HOST}:{self.options.pacs_port}")
        idp = self.idp_server.base_url if self.idp_server else "-"
        table.add_row("IdP simulator", f"{idp} (PSC-like introspection)")
        table.add_row("Source MLLP", f"{HOST}:{self.source.mllp_port}")
        table.add_row(
            "Source DICOM", f"{self.settings.dimse.ae_title}@{HOST}:{self.options.dimse_port}"
        )
        table.add_row("Source HTTP", f"{self.source.http_base_url} (RAD-107, /health, /admin)")
        table.add_row("RAD-107 base", self.options.public_base_url)
        table.add_row("Demo doctor", f"{DOCTOR.given_name} {DOCTOR.family_name} (token below)")
        for ready in self.ready:
            table.add_row(
                f"Exam {ready.exam.letter}",
                f"study {ready.kos.study_instance_uid}, {len(ready.series)} series, "
                f"KOS {ready.kos.sop_instance_uid}",
            )
        table.add_row(
            "TLS",
            "[yellow]off in the demo[/yellow] (plain HTTP on loopback); for HTTPS set \\[tls] "
            "certificate + private_key and run `drimbox source serve` (docs/security.md)",
        )
        self.console.print(Panel(table, title="DRIMbox Source demo: ready", border_style="green"))
        for what, command in self.commands():
            self.console.print(f"# {what}", style="dim", markup=False)
            self.console.print(command, markup=False, highlight=False, soft_wrap=True)
        self.console.print("Stop with Ctrl-C.", style="bold")


async def run_demo(settings: Settings, options: DemoOptions, console: Console) -> None:
    """Start, print the panel, then wait for SIGINT/SIGTERM (or stop at once if asked)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    demo = Demo(settings, options, console)
    try:
        await demo.start()
        demo.print_ready()
        if not options.exit_after_ready:
            await stop.wait()
    finally:
        await demo.stop()
        console.print("demo stopped")


def demo_command(
    ctx: typer.Context,
    pacs_port: Annotated[
        int | None, typer.Option(help="PACS simulator port (default kit.pacs.port).")
    ] = None,
    idp_port: Annotated[int, typer.Option(help="IdP simulator HTTP port.")] = 8090,
    mllp_port: Annotated[
        int | None, typer.Option(help="Source MLLP port (default source.mllp.port).")
    ] = None,
    dimse_port: Annotated[
        int | None, typer.Option(help="Source C-STORE SCP port (default dimse.port).")
    ] = None,
    iocm_port: Annotated[
        int | None, typer.Option(help="Source IOCM SCP port (default source.iocm.port).")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Source HTTP port (default source.http_port).")
    ] = None,
    exams: Annotated[
        str, typer.Option(help="ANS exams whose reports are sent at start, comma separated.")
    ] = ",".join(DEFAULT_EXAMS),
    timeout: Annotated[
        float, typer.Option(min=1, help="Longest wait for the KOS of the reports (s).")
    ] = 120.0,
    exit_after_ready: Annotated[
        bool, typer.Option("--exit-after-ready", help="Stop right after printing the panel.")
    ] = False,
) -> None:
    """Run the whole Source with its simulators on 127.0.0.1 and print commands to try.

    PACS simulator (ans data set under PACS_SOURCE_1), IdP simulator, Source (MLLP, DICOM,
    HTTP with RAD-107, /health, /admin); reports of exams C, H, X are sent and their KOS built.
    Plain HTTP: TLS is off in the demo. Ctrl-C stops everything. See docs/demo.md.
    """
    from drimbox.cli import settings_from

    settings = settings_from(ctx)
    letters = tuple(x.strip().upper() for x in exams.split(",") if x.strip())
    for letter in letters:
        try:
            if not exam(letter).generate:
                raise KeyError(letter)
        except KeyError:
            raise typer.BadParameter(
                f"no ANS exam {letter!r} with images", param_hint="--exams"
            ) from None
    options = DemoOptions(
        data_dir=settings.data_dir,
        pacs_port=settings.kit.pacs.port if pacs_port is None else pacs_port,
        idp_port=idp_port,
        mllp_port=settings.source.mllp.port if mllp_port is None else mllp_port,
        dimse_port=settings.dimse.port if dimse_port is None else dimse_port,
        iocm_port=settings.source.iocm.port if iocm_port is None else iocm_port,
        http_port=settings.source.http_port if http_port is None else http_port,
        exams=letters or DEFAULT_EXAMS,
        ready_timeout=timeout,
        exit_after_ready=exit_after_ready,
    )
    for name in ("pynetdicom", "uvicorn.error"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    console = Console(highlight=False, soft_wrap=True)
    try:
        asyncio.run(run_demo(settings, options, console))
    except (DemoError, OSError, RuntimeError) as exc:
        Console(stderr=True).print(f"[red]demo failed: {exc}[/red]")
        raise typer.Exit(1) from None
