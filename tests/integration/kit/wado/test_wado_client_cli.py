"""``drimbox kit wado get`` against a real loopback HTTP server serving a known multipart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from typer.testing import CliRunner
from wado_server import ERRORS, build_app

from drimbox.cli import app as cli_app
from drimbox.kit.wado import ANS_ACCEPT, LOSSY_FIRST_ACCEPT
from support.dicom_factory import SeriesFiles, make_ct_series
from support.servers import RunningServer, serve_asgi

DATA = Path("/work/shared/drim-m-data")
VALIDATOR_SAMPLE = DATA / "Echantillons_validateurs/Validateur_WADO-RS"
SERIES_SAMPLE = VALIDATOR_SAMPLE / "Requete_WADO-RS_-_Serie/Requete_WADO-RS_-_Serie.txt"
RESPONSE_SAMPLE = VALIDATOR_SAMPLE / "Reponse_WADO-RS/Reponse_WADO-RS.txt"
HEADER_LINE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+: ?\S.*")


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> SeriesFiles:
    [made] = make_ct_series(tmp_path_factory.mktemp("wado"), instances=3, prefix="WADOCLI")
    return made


@pytest.fixture
def seen() -> list[dict[str, list[str]]]:
    return []


@pytest.fixture
def server(series: SeriesFiles, seen: list[dict[str, list[str]]]) -> Iterator[RunningServer]:
    with serve_asgi(build_app(series, seen)) as running:
        yield running


def wado(server: RunningServer, series: SeriesFiles, *extra: str, study: str | None = None):  # type: ignore[no-untyped-def]
    args = [
        "kit", "wado", "get",
        "--endpoint", server.base_url + "/rs",
        "--token", "T0K3N",
        "--study", study or series.study_uid,
        "--series", series.series_uid,
        "--kos", "1.2.3.4.5.6.7.8.9",
        *extra,
    ]  # fmt: skip
    return CliRunner().invoke(cli_app, args)


def parse_heads(text: str) -> list[list[str]]:
    """Split a dump/sample into heads: blocks of lines ended by an empty line."""
    heads, current = [], []
    for line in text.split("\n"):
        if line == "":
            if current:
                heads.append(current)
            current = []
        else:
            current.append(line)
    if current:
        heads.append(current)
    return heads


def test_default_accept_is_the_ans_sample_line() -> None:
    sample = SERIES_SAMPLE.read_text(encoding="utf-8").split("\n")
    [accept] = [line for line in sample if line.startswith("Accept:")]
    assert accept.removeprefix("Accept:") == ANS_ACCEPT


def test_series_parts_are_listed_with_syntax_size_and_uid(
    server: RunningServer, series: SeriesFiles, seen: list[dict[str, list[str]]]
) -> None:
    result = wado(server, series)
    assert result.exit_code == 0, result.output
    for uid, path in zip(series.sop_uids, series.paths, strict=True):
        line = next(x for x in result.output.splitlines() if uid in x and "part" in x)
        assert "1.2.840.10008.1.2.1 " in line
        assert f"{path.stat().st_size} B" in line
    assert "parts: 3" in result.output
    assert "syntax 1.2.840.10008.1.2.1: 3" in result.output
    assert "first part:" in result.output
    [headers] = seen
    assert headers["authorization"] == ["Bearer T0K3N"]
    assert headers["kos-sopinstanceuid"] == ["1.2.3.4.5.6.7.8.9"]
    assert headers["accept"] == [ANS_ACCEPT]


def test_several_accept_lines_are_sent_as_several_headers(
    server: RunningServer, series: SeriesFiles, seen: list[dict[str, list[str]]]
) -> None:
    result = wado(server, series, "--accept", LOSSY_FIRST_ACCEPT, "--accept", "*/*;q=0.1")
    assert result.exit_code == 0, result.output
    assert seen[0]["accept"] == [LOSSY_FIRST_ACCEPT, "*/*;q=0.1"]


def test_save_writes_decodable_files(
    server: RunningServer, series: SeriesFiles, tmp_path: Path
) -> None:
    out = tmp_path / "saved"
    result = wado(server, series, "--save", str(out), "--no-parts")
    assert result.exit_code == 0, result.output
    saved = sorted(out.glob("*.dcm"))
    assert sorted(p.stem for p in saved) == sorted(series.sop_uids)
    for path in saved:
        ds = dcmread(path)
        assert ds.SOPInstanceUID == path.stem
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns)


def test_instance_level_request(
    server: RunningServer, series: SeriesFiles, seen: list[dict[str, list[str]]]
) -> None:
    sop = series.sop_uids[1]
    result = wado(server, series, "--instance", sop)
    assert result.exit_code == 0, result.output
    assert f"/instances/{sop}" in result.output
    assert "parts: 1" in result.output


def test_dump_has_the_ans_sample_layout(
    server: RunningServer, series: SeriesFiles, tmp_path: Path
) -> None:
    dump = tmp_path / "exchange.txt"
    result = wado(server, series, "--dump", str(dump))
    assert result.exit_code == 0, result.output
    text = dump.read_text(encoding="utf-8")
    assert "\r" not in text
    request, response = parse_heads(text)
    url = f"{server.base_url}/rs/studies/{series.study_uid}/series/{series.series_uid}"
    assert request[0] == f"GET {url} HTTP/1.1"
    assert "Authorization: Bearer T0K3N" in request
    assert "KOS-SOPInstanceUID: 1.2.3.4.5.6.7.8.9" in request
    assert f"Accept: {ANS_ACCEPT}" in request
    assert all(HEADER_LINE.fullmatch(line) for line in request[1:] + response[1:])
    assert response[0] == "HTTP/1.1 200 OK"
    assert any(line.lower().startswith("content-type: multipart/related") for line in response)
    # Same layout as the ANS samples: request line, header lines, empty line; status line, ….
    [sample_request] = parse_heads(SERIES_SAMPLE.read_text(encoding="utf-8"))
    [sample_response] = parse_heads(RESPONSE_SAMPLE.read_text(encoding="utf-8"))
    assert re.fullmatch(r"GET https?://\S+ HTTP/1\.1", sample_request[0])
    assert re.fullmatch(r"HTTP/1\.1 \d{3} .+", sample_response[0])
    assert all(HEADER_LINE.fullmatch(line) for line in sample_request[1:] + sample_response[1:])
    assert text.endswith("\n\n")


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_error_statuses_show_their_e_code(
    server: RunningServer, series: SeriesFiles, tmp_path: Path, case: str
) -> None:
    status, code, message = ERRORS[case]
    if case == "deny":
        args = ["--token", case]
    elif case in ("unknown-kos", "unpublished"):
        args = ["--kos", case]
    else:
        args = []
    dump = tmp_path / "error.txt"
    result = wado(server, series, *args, "--dump", str(dump), study=None if args else case)
    assert result.exit_code == 1
    assert f"HTTP {status}" in result.output
    assert f"DRIM-M code {code}" in result.output
    assert message in result.output
    assert dump.read_text().rstrip("\n").endswith(f'"message":"{message}"}}')


def test_mislabelled_parts_fail(server: RunningServer, series: SeriesFiles) -> None:
    result = wado(server, series, study="mislabelled")
    assert result.exit_code == 1
    assert "labelled 1.2.840.10008.1.2.4.80 but the file meta says 1.2.840.10008.1.2.1" in (
        result.output
    )


def test_truncated_multipart_fails(server: RunningServer, series: SeriesFiles) -> None:
    result = wado(server, series, study="truncated")
    assert result.exit_code == 1
    assert "bad multipart body" in result.output


def test_no_server_exits_1(series: SeriesFiles) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["kit", "wado", "get", "--endpoint", "http://127.0.0.1:9/rs", "--token", "t",
         "--study", "1.2", "--series", "1.3", "--kos", "1.4"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "no response" in result.output
