"""RFC 6750 §2.1 Bearer header parsing: every refusal is typed (403 / E204), no network needed."""

from __future__ import annotations

import pytest

from drimbox.auth.bearer import MAX_TOKEN_LENGTH, parse_bearer
from drimbox.auth.errors import AccessDenied, TokenMalformed, TokenMissing


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),  # the scheme is case-insensitive
        ("BEARER  abc", "abc"),  # 1*SP
        ("Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"),  # RFC 6750 example
        ("Bearer a+b/c~d==", "a+b/c~d=="),  # b64token charset, trailing "="
        ("  Bearer eyJhbGciOi.eyJzdWIi.c2ln  ", "eyJhbGciOi.eyJzdWIi.c2ln"),  # OWS around
    ],
)
def test_valid_headers(header: str, token: str) -> None:
    assert parse_bearer(header) == token


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing(header: str | None) -> None:
    with pytest.raises(TokenMissing):
        parse_bearer(header)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Basic dXNlcjpwYXNz", "'Basic'"),
        ("abc", "'abc'"),
        ("eyJhbGciOiJSUzI1NiIsInR5cCIgOiAiSldUIn0", "unknown scheme"),
        ("Bearer", "empty"),  # no space, no token
        ("Bearer ", "empty"),
        ("Bearer a b", "b64token"),
        ("Bearer a=b", "b64token"),  # "=" only as trailing padding
        ("Bearer tok\u00e9n", "b64token"),
        ('Bearer "abc"', "b64token"),
        ("Bearer\tabc", "scheme"),  # SP only, not HTAB
        ("Bearer abc,Bearer def", "b64token"),
    ],
)
def test_malformed(header: str, reason: str) -> None:
    with pytest.raises(TokenMalformed, match=reason):
        parse_bearer(header)


def test_a_bare_token_is_never_echoed_in_the_message() -> None:
    with pytest.raises(TokenMalformed) as caught:
        parse_bearer("eyJhbGciOiJSUzI1NiIsInR5cCIgOiAiSldUIn0")
    assert "eyJ" not in str(caught.value)


def test_overlong_token_is_refused() -> None:
    parse_bearer("Bearer " + "a" * MAX_TOKEN_LENGTH)
    with pytest.raises(TokenMalformed, match="longer than"):
        parse_bearer("Bearer " + "a" * (MAX_TOKEN_LENGTH + 1))


def test_refusals_map_to_403_e204() -> None:
    for error in (TokenMissing, TokenMalformed):
        assert issubclass(error, AccessDenied)
        assert error.http_status == 403 and error.user_code == "E204"
    assert TokenMissing.oauth_error is None
    assert TokenMalformed.oauth_error == "invalid_request"
