"""The token cache: per-entry deadlines, LRU bound, digests as keys."""

from __future__ import annotations

import hashlib

import pytest

from drimbox.auth.cache import ExpiringLru, token_key


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_entries_live_until_their_deadline() -> None:
    clock = FakeClock()
    cache: ExpiringLru[str] = ExpiringLru(10, clock)
    cache.put(b"a", "A", clock.now + 5)
    clock.now += 4.9
    assert cache.get(b"a") == "A"
    clock.now += 0.1
    assert cache.get(b"a") is None
    assert len(cache) == 0


def test_a_past_deadline_stores_nothing_and_drops_the_old_value() -> None:
    clock = FakeClock()
    cache: ExpiringLru[str] = ExpiringLru(10, clock)
    cache.put(b"a", "A", clock.now + 5)
    cache.put(b"a", "B", clock.now)
    assert cache.get(b"a") is None


def test_least_recently_used_goes_first() -> None:
    clock = FakeClock()
    cache: ExpiringLru[int] = ExpiringLru(2, clock)
    cache.put(b"a", 1, clock.now + 60)
    cache.put(b"b", 2, clock.now + 60)
    assert cache.get(b"a") == 1  # "b" is now the least recently used
    cache.put(b"c", 3, clock.now + 60)
    assert (cache.get(b"a"), cache.get(b"b"), cache.get(b"c")) == (1, None, 3)
    assert len(cache) == 2


def test_discard_and_clear() -> None:
    clock = FakeClock()
    cache: ExpiringLru[int] = ExpiringLru(4, clock)
    cache.put(b"a", 1, clock.now + 60)
    cache.put(b"b", 2, clock.now + 60)
    cache.discard(b"a")
    cache.discard(b"zz")
    assert cache.get(b"a") is None and len(cache) == 1
    cache.clear()
    assert len(cache) == 0


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ExpiringLru(0, FakeClock())


def test_key_is_the_sha256_digest_not_the_token() -> None:
    assert token_key("abc") == hashlib.sha256(b"abc").digest()
    assert b"abc" not in token_key("abc")
