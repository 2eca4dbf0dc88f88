"""Error bodies (code = DRIM-M user code) and mount paths of the RAD-107 router."""

from __future__ import annotations

import json

from drimbox.auth.errors import TokenExpired, TokenMissing
from drimbox.config import PacsNode, Settings
from drimbox.errors import PacsTimeout
from drimbox.source.rad107.errors import KosUnknown, KosWithdrawn, NoAcceptableSyntax
from drimbox.source.rad107.router import base_paths, error_response


def body(response: object) -> dict[str, object]:
    return dict(json.loads(response.body))  # type: ignore[attr-defined]


def test_error_bodies_carry_status_and_user_code() -> None:
    cases = [
        (KosUnknown("x"), 404, "E205"),
        (KosWithdrawn("x"), 410, "E206"),
        (PacsTimeout("x"), 504, "E208"),
        (TokenExpired("x"), 403, "E204"),
    ]
    for exc, status, code in cases:
        response = error_response(exc)
        assert response.status_code == status
        assert body(response) == {"status": status, "code": code, "message": str(exc)}


def test_403_has_an_rfc6750_challenge() -> None:
    assert error_response(TokenExpired("x")).headers["www-authenticate"] == (
        'Bearer realm="drimbox" error="invalid_token"'
    )
    assert error_response(TokenMissing("x")).headers["www-authenticate"] == 'Bearer realm="drimbox"'


def test_406_lists_the_supported_syntaxes() -> None:
    response = error_response(NoAcceptableSyntax("none", ["1.2.840.10008.1.2.1"]))
    assert body(response)["supported"] == ["1.2.840.10008.1.2.1"]


def test_routes_are_mounted_under_each_public_base_path() -> None:
    def node(name: str, index: int, url: str | None) -> PacsNode:
        return PacsNode(
            name=name, ae_title=name.upper(), port=104, index=index, public_base_url=url
        )

    settings = Settings(
        pacs=[
            node("a", 1, "https://vi1.999.example.fr/drimbox/rs/"),
            node("b", 2, "https://vi2.999.example.fr/drimbox/rs"),
            node("c", 3, "https://vi3.999.example.fr/other"),
        ]
    )
    assert base_paths(settings) == ["/drimbox/rs", "/other"]
    assert base_paths(Settings()) == [""]
