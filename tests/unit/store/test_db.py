"""URL mapping between blocking and asyncio drivers, and the SQLite connection settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from drimbox.store.db import Database, async_url, ensure_sqlite_directory, sync_url


@pytest.mark.parametrize(
    ("given", "sync", "async_"),
    [
        ("sqlite:////v/db.sqlite3", "sqlite:////v/db.sqlite3", "sqlite+aiosqlite:////v/db.sqlite3"),
        ("sqlite+aiosqlite:///x.db", "sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@h/d", "postgresql+psycopg://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
        (
            "postgresql+psycopg://u:p@h:5433/d",
            "postgresql+psycopg://u:p@h:5433/d",
            "postgresql+psycopg://u:p@h:5433/d",
        ),
        (
            "postgresql+asyncpg://u:p@h/d",
            "postgresql+psycopg://u:p@h/d",
            "postgresql+asyncpg://u:p@h/d",
        ),
    ],
)
def test_driver_mapping(given: str, sync: str, async_: str) -> None:
    assert sync_url(given).render_as_string(hide_password=False) == sync
    assert async_url(given).render_as_string(hide_password=False) == async_


def test_sqlite_parent_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "db.sqlite3"
    ensure_sqlite_directory(f"sqlite:///{target}")
    assert target.parent.is_dir()
    ensure_sqlite_directory("sqlite://")  # in-memory: nothing to create, no error
    ensure_sqlite_directory("postgresql+psycopg://u@h/d")


def test_sqlite_connections_use_wal_and_wait_for_locks(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'db.sqlite3'}")
    try:
        with db.engine.connect() as connection:
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert connection.scalar(text("PRAGMA busy_timeout")) == 30000
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        db.dispose()


async def test_async_sqlite_connections_get_the_same_pragmas(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        async with db.async_engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await connection.scalar(text("PRAGMA busy_timeout")) == 30000
        assert db.engine.dialect.driver == "pysqlite"
    finally:
        await db.adispose()


def test_session_factories_are_reused(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        assert db.async_sessions() is db.async_sessions()
        assert db.backend == "sqlite"
    finally:
        db.dispose()
