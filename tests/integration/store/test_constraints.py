"""Integrity and concurrent writers (DIMSE threads) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from drimbox.store.db import Database
from drimbox.store.models import SimInstance

MakeInstance = Callable[..., SimInstance]

THREADS = 4
INSERTS_PER_THREAD = 200


def test_same_sop_instance_twice_under_one_aet_is_refused(
    database_url: str, make_instance: MakeInstance
) -> None:
    db = Database(database_url)
    try:
        with db.session() as session:
            session.add(make_instance(1, aet="PACS_A"))
            session.add(make_instance(1, aet="PACS_B"))  # another AE title has its own view
        with pytest.raises(IntegrityError), db.session() as session:
            session.add(make_instance(1, aet="PACS_A", path="/elsewhere.dcm"))
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(SimInstance)) == 2
    finally:
        db.dispose()


def test_concurrent_writers_do_not_hit_database_is_locked(
    database_url: str, make_instance: MakeInstance
) -> None:
    """Four threads each committing 200 single-row transactions (WAL + busy_timeout on SQLite)."""
    db = Database(database_url)
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(worker: int) -> None:
        try:
            start.wait(timeout=30)
            for n in range(INSERTS_PER_THREAD):
                with db.session() as session:
                    session.add(make_instance(worker * 10_000 + n, aet=f"PACS_{worker}"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        assert not any(thread.is_alive() for thread in threads)
        assert errors == []
        with db.session() as session:
            total = session.scalar(select(func.count()).select_from(SimInstance))
            per_aet = dict(
                session.execute(
                    select(SimInstance.aet, func.count()).group_by(SimInstance.aet)
                ).all()
            )
        assert total == THREADS * INSERTS_PER_THREAD
        assert per_aet == {f"PACS_{w}": INSERTS_PER_THREAD for w in range(THREADS)}
    finally:
        db.dispose()
