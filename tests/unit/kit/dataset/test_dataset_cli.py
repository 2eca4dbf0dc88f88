"""``drimbox kit dataset generate`` through the real Typer application."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from drimbox.cli import app


def test_help_explains_profiles() -> None:
    result = CliRunner().invoke(app, ["kit", "dataset", "generate", "--help"])
    assert result.exit_code == 0
    for word in ("--profile", "--out", "--seed", "--count", "--v-count", "perf", "ans"):
        assert word in result.output


def test_generate_prints_a_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "kit",
            "dataset",
            "generate",
            "--profile",
            "perf",
            "--out",
            str(tmp_path),
            "--count",
            "2",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "perf: 2 files, 1 studies" in result.output
    assert (tmp_path / "manifest.json").exists()


def test_bad_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["kit", "dataset", "generate", "--profile", "xyz", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
