"""The packaged migration scripts and the code-built Alembic configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from drimbox.store.migrate import MIGRATIONS_DIR, alembic_config, head_revision, upgrade


def test_scripts_ship_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert not (MIGRATIONS_DIR.parent / "alembic.ini").exists()  # not needed at run time


def test_one_linear_history_starting_at_0001() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1
    revisions = list(scripts.walk_revisions())
    assert revisions[-1].revision == "0001" and revisions[-1].down_revision is None
    assert head_revision() == revisions[0].revision


def test_env_refuses_to_run_without_a_connection() -> None:
    with pytest.raises(RuntimeError, match=r"drimbox\.store\.migrate"):
        command.upgrade(alembic_config(), "head")


def test_upgrade_creates_the_sqlite_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "drimbox.sqlite3"
    upgrade(f"sqlite:///{target}")
    assert target.is_file()
