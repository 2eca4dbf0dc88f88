"""Fixtures shared by the whole suite: databases on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``DRIMBOX_TEST_POSTGRES_URL`` (a role allowed to CREATE DATABASE) or else a
throw-away cluster started here from the Debian binaries, on 127.0.0.1 only. Without one the
tests that need it are skipped with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from glob import glob
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from drimbox.store.db import sync_url
from drimbox.store.migrate import upgrade


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Cluster:
    """A private PostgreSQL cluster in a temp dir: trust auth, TCP on 127.0.0.1, no fsync."""

    def __init__(self) -> None:
        found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        if not found:
            raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb (Debian package postgresql)")
        self.bindir = Path(found[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="drimbox-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.pg_ctl = (str(self.bindir / "pg_ctl"), "-D", str(self.data))
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user") from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.port = 0

    def _run(self, *args: str, timeout: float) -> None:
        done = subprocess.run(
            [*self.prefix, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip()} {log}")

    def start(self) -> URL:
        self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"),
            *("--no-locale", "--no-sync"),
            timeout=120,
        )
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    *self.pg_ctl,
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                    timeout=90,
                )
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        return URL.create(
            "postgresql+psycopg", username="postgres", host="127.0.0.1", port=self.port
        ).set(database="postgres")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            stop = [*self.prefix, *self.pg_ctl, "-m", "fast", "-w", "-t", "60", "stop"]
            subprocess.run(stop, capture_output=True, timeout=90, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[URL]:
    """URL of a maintenance database on a PostgreSQL server where we may create databases."""
    external = os.environ.get("DRIMBOX_TEST_POSTGRES_URL")
    if external:
        yield sync_url(external)
        return
    try:
        cluster = _Cluster()
    except RuntimeError as exc:
        _unavailable(str(exc))
    try:
        url = cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        cluster.stop()
        _unavailable(str(exc))
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_server: URL) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"drimbox_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield postgres_server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite (a file in tmp_path) and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'drimbox.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A database migrated to the latest schema, on each backend."""
    upgrade(empty_database_url)
    return empty_database_url
