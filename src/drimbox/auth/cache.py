"""A small bounded cache whose entries expire at a given instant (least recently used first out).

Keys are SHA-256 digests of tokens (:func:`token_key`), so a memory dump never shows a usable token.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


def token_key(token: str) -> bytes:
    """The cache key of a token: its SHA-256 digest, never the token itself."""
    return hashlib.sha256(token.encode("ascii", "surrogateescape")).digest()


class ExpiringLru(Generic[V]):
    """At most ``max_entries`` values, each dropped at its deadline or when least recently used."""

    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[float, V]] = OrderedDict()

    def get(self, key: bytes) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, value = entry
        if self._clock() >= deadline:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: bytes, value: V, deadline: float) -> None:
        """Keep ``value`` until ``deadline`` (same clock); a past deadline stores nothing."""
        if deadline <= self._clock():
            self._entries.pop(key, None)
            return
        self._entries[key] = (deadline, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
