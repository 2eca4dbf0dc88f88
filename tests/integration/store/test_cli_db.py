"""`drimbox db upgrade` as an operator runs it, against SQLite (default) and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from drimbox.store.migrate import current_revision, head_revision

DRIMBOX = Path(sys.executable).with_name("drimbox")


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DRIMBOX_")}
    return subprocess.run(
        [str(DRIMBOX), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_creates_the_default_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"
    env = {"DRIMBOX_DATA_DIR": str(data_dir)}
    for _ in range(2):  # the second run finds nothing to do
        done = run_cli("db", "upgrade", env=env)
        assert done.returncode == 0, done.stderr
        assert "up to date" in done.stdout
    database = data_dir / "drimbox.sqlite3"
    assert database.is_file()
    assert current_revision(f"sqlite:///{database}") == head_revision()


@pytest.mark.parametrize("driver", ["psycopg", "asyncpg"])
@pytest.mark.postgres
def test_db_upgrade_on_postgresql(tmp_path: Path, postgres_url: str, driver: str) -> None:
    url = postgres_url.replace("postgresql+psycopg://", f"postgresql+{driver}://", 1)
    env = {"DRIMBOX_DATA_DIR": str(tmp_path), "DRIMBOX_DATABASE_URL": url}
    done = run_cli("db", "upgrade", env=env)
    assert done.returncode == 0, done.stderr
    assert current_revision(postgres_url) == head_revision()
    assert not (tmp_path / "drimbox.sqlite3").exists()


def test_db_upgrade_with_an_invalid_configuration_exits_2(tmp_path: Path) -> None:
    done = run_cli("db", "upgrade", env={"DRIMBOX_LOG_LEVEL": "LOUD"})
    assert done.returncode == 2, done.stderr
    assert "log_level" in done.stderr
