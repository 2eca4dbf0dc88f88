"""Engines and sessions for one database URL, sync (DIMSE threads, CLI) and async (web)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def sync_url(url: str | URL) -> URL:
    """The same database through a blocking driver (asyncpg/aiosqlite URLs are accepted)."""
    parsed = make_url(url)
    return parsed.set(drivername=_SYNC_DRIVERS.get(parsed.get_backend_name(), parsed.drivername))


def async_url(url: str | URL) -> URL:
    """The same database through an asyncio driver (asyncpg is kept when asked for)."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql+asyncpg":
        return parsed
    return parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.get_backend_name(), parsed.drivername))


def ensure_sqlite_directory(url: str | URL) -> None:
    """Create the folder of a SQLite file: SQLite creates the file but not its parents."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:"):  # URI filenames are the caller's business
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web readers run beside the DIMSE writers; busy_timeout absorbs short locks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _configure(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)


class Database:
    """Lazily created engines and session factories for one URL."""

    def __init__(self, url: str | URL) -> None:
        self.url = make_url(url)
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._async_sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    @property
    def engine(self) -> Engine:
        if self._sync is None:
            ensure_sqlite_directory(self.url)
            self._sync = create_engine(sync_url(self.url), pool_pre_ping=True)
            _configure(self._sync)
        return self._sync

    @property
    def async_engine(self) -> AsyncEngine:
        if self._async is None:
            ensure_sqlite_directory(self.url)
            self._async = create_async_engine(async_url(self.url), pool_pre_ping=True)
            _configure(self._async.sync_engine)
        return self._async

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        if self._sessions is None:
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self._sessions() as session, session.begin():
            yield session

    def async_sessions(self) -> async_sessionmaker[AsyncSession]:
        """The factory for asyncio code: ``async with db.async_sessions().begin() as s: ...``."""
        if self._async_sessions is None:
            self._async_sessions = async_sessionmaker(self.async_engine, expire_on_commit=False)
        return self._async_sessions

    def dispose(self) -> None:
        """Close pooled connections (blocking; from asyncio code prefer :meth:`adispose`)."""
        if self._sync is not None:
            self._sync.dispose()
        if self._async is not None:
            self._async.sync_engine.dispose()

    async def adispose(self) -> None:
        """Close pooled connections of both engines from inside an event loop."""
        if self._async is not None:
            await self._async.dispose()
        if self._sync is not None:
            self._sync.dispose()


def upgrade_schema(url: str | URL) -> None:
    """Bring the schema to the latest Alembic revision (see store/migrations)."""
    from drimbox.store.migrate import upgrade

    upgrade(url)
