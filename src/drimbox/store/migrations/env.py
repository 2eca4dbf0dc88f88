"""Alembic environment: always run from drimbox.store.migrate, which supplies the connection."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import TypeDecorator
from sqlalchemy.engine import Connection

from drimbox.store.models import Base


def _render_item(kind: str, obj: Any, _context: AutogenContext) -> str | Literal[False]:
    # Generated scripts stay free of drimbox imports: a TypeDecorator is written as its impl.
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run migrations through drimbox.store.migrate (or `drimbox db upgrade`), "
        "which passes an open connection; there is no alembic.ini"
    )
_run(connection)
