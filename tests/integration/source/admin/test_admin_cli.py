"""`drimbox source import-kos / import-xdm / iocm-pending` end to end (Typer runner)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from drimbox.cli import app
from support.kos_samples import BASE_URL, OTHER_BASE_URL, simple_kos


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "drimbox.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "var"}"\n\n[[pacs]]\nname = "pacs1"\nae_title = "PACS1"\n'
        f'port = 11112\npublic_base_url = "{BASE_URL}"\n'
    )
    return path


def test_import_kos_reports_each_file_and_fails_on_any_refusal(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.dcm", tmp_path / "bad.dcm"
    good.write_bytes(simple_kos(31))
    bad.write_bytes(simple_kos(32, base_url=OTHER_BASE_URL))
    runner = CliRunner()
    config = str(_config(tmp_path))
    ok = runner.invoke(app, ["-c", config, "source", "import-kos", str(good), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)[0]["outcome"] == "imported"
    mixed = runner.invoke(app, ["-c", config, "source", "import-kos", str(good), str(bad)])
    assert mixed.exit_code == 1
    assert "0 imported, 1 already present, 1 invalid" in mixed.output
    notes = runner.invoke(app, ["-c", config, "source", "iocm-pending", "--json"])
    assert notes.exit_code == 0 and json.loads(notes.output) == []


def test_import_xdm_refuses_a_non_xdm_zip(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("../escape.txt", "x")
    result = CliRunner().invoke(
        app, ["-c", str(_config(tmp_path)), "source", "import-xdm", str(path)]
    )
    assert result.exit_code == 1 and "path traversal" in result.output
