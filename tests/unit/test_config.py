"""Typed configuration: TOML file, DRIMBOX_* overrides, precise errors, masked display."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drimbox.cli import app
from drimbox.config import load_settings, masked_dump
from drimbox.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

GOOD = """
data_dir = "data"
log_level = "DEBUG"

[dimse]
ae_title = "DRIMBOX_TEST"
port = 4242

[[pacs]]
name = "main"
ae_title = "PACS_SOURCE_1"
port = 11120
index = 1

[[pacs]]
name = "second"
ae_title = "PACS_SOURCE_2"
host = "127.0.0.1"
port = 11121
retrieve_method = "get"
index = 2

[kit.pacs.move_destinations]
DRIMBOX = "127.0.0.1:11112"
"""

PACS = '[[pacs]]\nname = "{name}"\nae_title = "{ae}"\nport = 104\nindex = {index}\n'


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DRIMBOX_* variable of the caller leaks in; relative paths land in tmp_path."""
    for name in list(os.environ):
        if name.startswith("DRIMBOX_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "drimbox.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.dimse.port == 11112
    assert settings.dimse.ae_title == "DRIMBOX"
    assert settings.pacs == []
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'drimbox.sqlite3'}"


def test_toml_file_with_nested_pacs_list(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.log_level == "DEBUG"
    assert settings.dimse.ae_title == "DRIMBOX_TEST" and settings.dimse.port == 4242
    assert [(p.name, p.ae_title, p.port, p.index) for p in settings.pacs] == [
        ("main", "PACS_SOURCE_1", 11120, 1),
        ("second", "PACS_SOURCE_2", 11121, 2),
    ]
    assert settings.pacs_by_name("second").retrieve_method == "get"
    assert settings.pacs[0].calling_ae == "DRIMBOX"  # default inside a list entry
    assert settings.kit.pacs.move_destinations == {"DRIMBOX": "127.0.0.1:11112"}


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIMBOX_CONFIG", str(write(tmp_path, GOOD)))
    assert load_settings().dimse.port == 4242


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIMBOX_DIMSE__PORT", "11113")
    monkeypatch.setenv("DRIMBOX_LOG_LEVEL", "WARNING")
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.dimse.port == 11113
    assert settings.dimse.ae_title == "DRIMBOX_TEST"  # the rest of [dimse] still from the file
    assert settings.log_level == "WARNING"


def test_shipped_example_configuration_is_valid() -> None:
    settings = load_settings(REPO / "drimbox.example.toml")
    assert settings.pacs_by_name("main").index == 1


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[dimse]\nport = 70000\n", "dimse.port", "less than or equal to 65535"),
        ('[dimse]\nport = "eleven"\n', "dimse.port", "valid integer"),
        ('[dimse]\nae_title = "TOO_LONG_AE_TITLE_X"\n', "dimse.ae_title", "1 to 16"),
        (PACS.format(name="m", ae="A\\\\B", index=1), "pacs.0.ae_title", "no backslash"),
        (PACS.format(name="m", ae="A", index=0), "pacs.0.index", "greater than or equal to 1"),
        ('log_level = "LOUD"\n', "log_level", "'DEBUG'"),
        (
            "[kit.pacs.move_destinations]\nX = 'nowhere'\n",
            "kit.pacs.move_destinations",
            "host:port",
        ),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert str(path) in message
    line = next(line for line in message.splitlines() if line.strip().startswith(f"{key}:"))
    assert problem in line


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("colour = 'blue'\n", "colour"),
        ("[dimse]\nprot = 104\n", "dimse.prot"),
        (PACS.format(name="m", ae="A", index=1) + "aet = 'B'\n", "pacs.0.aet"),
        ("[kit.pacs]\narchive = '/tmp'\n", "kit.pacs.archive"),
    ],
)
def test_unknown_keys_are_rejected(tmp_path: Path, text: str, key: str) -> None:
    assert f"{key}: Extra inputs are not permitted" in error_of(write(tmp_path, text))


def test_unknown_nested_environment_key_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIMBOX_DIMSE__PROT", "104")
    assert "dimse.prot" in error_of()


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ((("a", 1), ("a", 2)), "distinct name"),
        ((("a", 1), ("b", 1)), "distinct index"),
    ],
)
def test_duplicate_pacs_are_rejected(
    tmp_path: Path, entries: tuple[tuple[str, int], ...], problem: str
) -> None:
    text = "".join(PACS.format(name=name, ae="PACS", index=index) for name, index in entries)
    message = error_of(write(tmp_path, text))
    assert "pacs:" in message and problem in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    assert str(missing) in error_of(missing)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[dimse\nport = 1\n")
    message = error_of(path)
    assert str(path) in message and "line 1" in message


def test_unknown_pacs_name_lists_the_known_ones(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match=r"'other'.*main, second"):
        settings.pacs_by_name("other")


def test_masked_dump_hides_the_database_password(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, 'database_url = "postgresql+psycopg://drimbox:s3cr@t!@127.0.0.1:5432/db"\n')
    )
    dump = masked_dump(settings)
    assert dump["database_url"] == "postgresql+psycopg://drimbox:***@127.0.0.1:5432/db"
    assert "s3cr" not in json.dumps(dump)
    assert "s3cr" not in repr(settings)


def test_config_show_prints_the_effective_configuration(tmp_path: Path) -> None:
    path = write(tmp_path, 'database_url = "postgresql+asyncpg://u:hunter2@127.0.0.1/d"\n' + GOOD)
    result = CliRunner().invoke(
        app, ["--config", str(path), "config", "show"], env={"DRIMBOX_DIMSE__PORT": "11113"}
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["dimse"] == {**shown["dimse"], "port": 11113, "ae_title": "DRIMBOX_TEST"}
    assert [p["name"] for p in shown["pacs"]] == ["main", "second"]
    assert shown["database_url"] == "postgresql+asyncpg://u:***@127.0.0.1/d"
    assert "hunter2" not in result.output


def test_invalid_configuration_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[dimse]\nport = 70000\n")
    result = CliRunner().invoke(app, ["--config", str(path), "config", "show"])
    assert result.exit_code == 2
    assert "dimse.port" in result.stderr
    assert result.stdout == ""


def test_config_show_as_a_real_process(tmp_path: Path) -> None:
    """The installed `drimbox` command, as an operator types it."""
    path = write(tmp_path, GOOD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIMBOX_")}
    command = [str(Path(sys.executable).with_name("drimbox")), "--config", str(path)]
    done = subprocess.run(
        [*command, "config", "show"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dimse"]["port"] == 4242
    bad = write(tmp_path, "[[pacs]]\nname = 'x'\n", "bad.toml")
    done = subprocess.run(
        [*command[:-1], str(bad), "config", "show"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "pacs.0.ae_title: Field required" in done.stderr
    assert "Traceback" not in done.stderr


PSC_URL = (
    "https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet/protocol/openid-connect"
    "/token/introspect"
)
PSC_TLS = f"""
[psc]
introspection_url = "{PSC_URL}"
client_id = "drimbox-source"
client_secret = "psc-s3cret"
auth_method = "client_secret_post"
timeout = 5
cache_ttl_max = 120
negative_cache_ttl = 2
cache_max_entries = 50

[tls]
certificate = "server.pem"
private_key = "server.key"
client_ca = "ca.pem"
"""


def test_psc_and_tls_sections(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, PSC_TLS))
    psc = settings.psc
    assert psc.introspection_url == PSC_URL
    assert psc.client_id == "drimbox-source" and psc.auth_method == "client_secret_post"
    assert psc.client_secret is not None and psc.client_secret.get_secret_value() == "psc-s3cret"
    assert (psc.timeout, psc.cache_ttl_max, psc.negative_cache_ttl) == (5, 120, 2)
    assert psc.cache_max_entries == 50
    assert settings.tls.certificate == Path("server.pem")
    assert settings.tls.client_ca == Path("ca.pem")
    assert settings.tls.allow_plain_http is False
    assert "psc-s3cret" not in json.dumps(masked_dump(settings))


def test_psc_and_tls_defaults() -> None:
    settings = load_settings()
    assert settings.psc.introspection_url is None
    assert settings.psc.auth_method == "client_secret_basic"
    assert (settings.psc.timeout, settings.psc.cache_ttl_max) == (10.0, 300.0)
    assert settings.psc.negative_cache_ttl == 0
    assert settings.tls.certificate is None and settings.tls.allow_plain_http is False


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[psc]\nintrospection_url = "http://idp.example/x"\n', "psc.introspection_url", "https"),
        ('[psc]\nintrospection_url = "ftp://127.0.0.1/x"\n', "psc.introspection_url", "https"),
        (
            '[psc]\nintrospection_url = "https://idp.example/x"\nclient_id = "c"\n',
            "psc",
            "client_id and client_secret",
        ),
        ('[psc]\nauth_method = "private_key_jwt"\n', "psc.auth_method", "client_secret_basic"),
        ("[psc]\ntimeout = 0\n", "psc.timeout", "greater than 0"),
        ('[tls]\ncertificate = "a.pem"\n', "tls", "go together"),
        ('[tls]\nclient_ca = "ca.pem"\n', "tls", "needs certificate"),
        ("[tls]\nplain_http = true\n", "tls.plain_http", "Extra inputs"),
    ],
)
def test_invalid_psc_and_tls_values(tmp_path: Path, text: str, key: str, problem: str) -> None:
    message = error_of(write(tmp_path, text))
    line = next(line for line in message.splitlines() if line.strip().startswith(f"{key}:"))
    assert problem in line


def test_plain_http_introspection_is_allowed_to_loopback_only(tmp_path: Path) -> None:
    text = (
        '[psc]\nintrospection_url = "http://127.0.0.1:8080/realms/r/x"\n'
        'client_id = "c"\nclient_secret = "s"\n'
    )
    assert load_settings(write(tmp_path, text)).psc.introspection_url == (
        "http://127.0.0.1:8080/realms/r/x"
    )
