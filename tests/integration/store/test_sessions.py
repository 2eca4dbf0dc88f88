"""CRUD through the blocking and the asyncio sessions, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError

from drimbox.store.db import Database
from drimbox.store.models import SimInstance

MakeInstance = Callable[..., SimInstance]


def test_crud_through_blocking_sessions(database_url: str, make_instance: MakeInstance) -> None:
    db = Database(database_url)
    try:
        with db.session() as session:
            session.add_all([make_instance(1), make_instance(2, patient_name="DOE^JANE")])
        with db.session() as session:
            rows = session.scalars(select(SimInstance).order_by(SimInstance.id)).all()
            assert [r.sop_instance_uid for r in rows] == ["1.2.3.4.1", "1.2.3.4.2"]
            assert rows[0].patient_name == ""  # column default
            assert rows[1].patient_name == "DOE^JANE"
            rows[0].modality = "CT"
        with db.session() as session:
            modality = session.scalar(
                select(SimInstance.modality).where(SimInstance.sop_instance_uid == "1.2.3.4.1")
            )
            assert modality == "CT"
            session.execute(delete(SimInstance).where(SimInstance.sop_instance_uid == "1.2.3.4.2"))
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(SimInstance)) == 1
    finally:
        db.dispose()


def test_session_rolls_back_on_error(database_url: str, make_instance: MakeInstance) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(RuntimeError), db.session() as session:
            session.add(make_instance(1))
            session.flush()
            raise RuntimeError("abort")
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(SimInstance)) == 0
    finally:
        db.dispose()


async def _async_crud(db: Database, make_instance: MakeInstance) -> None:
    sessions = db.async_sessions()
    async with sessions.begin() as session:
        session.add_all([make_instance(1), make_instance(2)])
    async with sessions.begin() as session:
        row = await session.scalar(
            select(SimInstance).where(SimInstance.sop_instance_uid == "1.2.3.4.2")
        )
        assert row is not None
        row.series_number = 7
    async with sessions() as session:
        numbers = (
            await session.scalars(select(SimInstance.series_number).order_by(SimInstance.id))
        ).all()
        assert numbers == [None, 7]
    async with sessions.begin() as session:
        await session.execute(delete(SimInstance).where(SimInstance.series_number.is_(None)))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SimInstance)) == 1


async def test_crud_through_async_sessions(database_url: str, make_instance: MakeInstance) -> None:
    db = Database(database_url)
    try:
        expected = {"sqlite": "aiosqlite", "postgresql": "psycopg"}[db.backend]
        assert db.async_engine.dialect.driver == expected
        await _async_crud(db, make_instance)
        with db.session() as session:  # and the blocking side sees the same rows
            assert session.scalar(select(SimInstance.series_number)) == 7
    finally:
        await db.adispose()


@pytest.mark.postgres
async def test_asyncpg_url_is_async_with_asyncpg_and_sync_with_psycopg(
    postgres_url: str, make_instance: MakeInstance
) -> None:
    from drimbox.store.migrate import upgrade

    asyncpg_url = make_url(postgres_url).set(drivername="postgresql+asyncpg")
    upgrade(asyncpg_url)  # migrations run through the blocking driver
    db = Database(asyncpg_url)
    try:
        assert db.async_engine.dialect.driver == "asyncpg"
        assert db.engine.dialect.driver == "psycopg"
        await _async_crud(db, make_instance)
        with db.session() as session:
            assert session.scalar(select(SimInstance.series_number)) == 7
    finally:
        await db.adispose()


def test_timestamps_come_back_aware_in_utc(database_url: str, make_instance: MakeInstance) -> None:
    paris_summer = timezone(timedelta(hours=2))
    received = datetime(2026, 7, 14, 12, 30, 15, 123456, tzinfo=paris_summer)
    db = Database(database_url)
    try:
        with db.session() as session:
            session.add(make_instance(1, received_at=received))
        with db.session() as session:
            stored = session.scalar(select(SimInstance.received_at))
            assert stored == received
            assert stored is not None and stored.utcoffset() == timedelta(0)
            assert stored.hour == 10
            later = session.scalar(
                select(func.count())
                .select_from(SimInstance)
                .where(SimInstance.received_at > datetime(2026, 7, 14, 10, 30, tzinfo=UTC))
            )
            assert later == 1
    finally:
        db.dispose()


def test_naive_timestamps_are_refused(database_url: str, make_instance: MakeInstance) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(StatementError, match="naive datetime"), db.session() as session:
            session.add(make_instance(1, received_at=datetime(2026, 1, 1, 12, 0)))
            session.flush()
    finally:
        db.dispose()
