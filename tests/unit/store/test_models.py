"""Naming convention and the UTC timestamp type, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Dialect, Integer, MetaData, String, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql, sqlite

from drimbox.store.models import NAMING_CONVENTION, Base, UtcDateTime


def test_unnamed_constraints_get_deterministic_names() -> None:
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    table = Table(
        "thing",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("a", String(8), index=True),
        Column("b", String(8)),
        UniqueConstraint("a", "b"),
    )
    assert table.primary_key.name == "pk_thing"
    assert {i.name for i in table.indexes} == {"ix_thing_a"}
    uniques = {c.name for c in table.constraints if isinstance(c, UniqueConstraint)}
    assert uniques == {"uq_thing_a_b"}


def test_base_metadata_uses_the_convention() -> None:
    assert Base.metadata.naming_convention["pk"] == "pk_%(table_name)s"
    assert set(Base.metadata.tables) == {
        "kit_pacs_instance",
        "audit_event",
        "source_inbox_message",
        "source_kos",
        "source_kos_series",
        "source_kos_instance",
        "source_iocm_note",
    }


@pytest.mark.parametrize("dialect_class", [sqlite.dialect, postgresql.dialect])
def test_utc_datetime_converts_to_utc_and_back(dialect_class: type[Dialect]) -> None:
    dialect = dialect_class()
    kind = UtcDateTime()
    plus_two = datetime(2026, 7, 14, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    bound = kind.process_bind_param(plus_two, dialect)
    assert bound == plus_two and bound is not None and bound.tzinfo is UTC and bound.hour == 10
    naive_from_sqlite = datetime(2026, 7, 14, 10, 0)
    read = kind.process_result_value(naive_from_sqlite, dialect)
    assert read == datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
    assert kind.process_bind_param(None, dialect) is None


def test_utc_datetime_refuses_naive_values() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())
