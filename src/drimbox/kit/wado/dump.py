"""``--dump``: the request and response heads as text, laid out like the ANS samples.

The ANS files (Echantillons_validateurs/Validateur_WADO-RS, test_a_blanc/Simulateur_client_wadoRS)
hold a request line in absolute form, ``Name: value`` header lines, and an empty line; the
response sample is a status line, header lines and an empty line. Lines end with LF, as in the
samples. An error body (JSON or text) follows its head; multipart bodies are never dumped.
"""

from __future__ import annotations

from pathlib import Path

from .client import WadoResult


def _head(first_line: str, headers: list[tuple[str, str]]) -> str:
    return "".join([first_line + "\n", *(f"{name}: {value}\n" for name, value in headers), "\n"])


def request_head(result: WadoResult) -> str:
    return _head(result.request_line, result.request_headers)


def response_head(result: WadoResult) -> str:
    version = result.http_version if result.http_version.startswith("HTTP/") else "HTTP/1.1"
    return _head(f"{version} {result.status} {result.reason}".rstrip(), result.headers)


def render(result: WadoResult) -> str:
    text = request_head(result) + response_head(result)
    if result.error_body:
        text += result.error_body.rstrip("\n") + "\n"
    return text


def write_dump(path: Path, result: WadoResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result), encoding="utf-8", newline="\n")
