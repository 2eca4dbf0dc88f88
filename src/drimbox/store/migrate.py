"""Alembic migrations run from code: no alembic.ini, the scripts ship inside the package.

The CLI (``drimbox db upgrade``), the services at start-up and the tests all go through these
functions, so a schema is always built by the same migration scripts on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL

from drimbox.store.db import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Arbitrary constant: the PostgreSQL advisory lock that serialises concurrent upgrades
# (several workers starting together must not race to create the same tables).
_PG_LOCK_KEY = 0x0D81B0C5


def alembic_config() -> Config:
    """An Alembic configuration built in code, pointing at the packaged scripts."""
    config = Config()
    # ConfigParser interpolates '%': escape it in case the install path contains one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    return config


@contextmanager
def configured(url: str | URL) -> Iterator[Config]:
    """An Alembic config bound to one open transaction on ``url``, committed on success.

    ``migrations/env.py`` picks the connection up from ``config.attributes``. Exposed so that
    developers can run any ``alembic.command`` (``revision --autogenerate``, ``check``) in code.
    """
    database = Database(url)
    try:
        with database.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            config = alembic_config()
            config.attributes["connection"] = connection
            yield config
    finally:
        database.dispose()


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the latest); a no-op when already there."""
    with configured(url) as config:
        command.upgrade(config, revision)


def downgrade(url: str | URL, revision: str) -> None:
    """Migrate down to ``revision``; ``"base"`` drops every table the migrations created."""
    with configured(url) as config:
        command.downgrade(config, revision)


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        database.dispose()


def head_revision() -> str:
    """The latest revision shipped with this version of the code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001_initial
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head
