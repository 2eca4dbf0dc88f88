"""The on-disk warm cache: atomic publication, first writer wins, LRU eviction by size."""

from __future__ import annotations

import os
from pathlib import Path

from drimbox.dicom.transfer import ImageTraits
from drimbox.source.rad107.cache import SeriesCache

TRAITS = ImageTraits(has_pixels=True, bits_stored=12)
EVRLE = "1.2.840.10008.1.2.1"


def fill(cache: SeriesCache, series: str, size: int, syntax: str = EVRLE) -> bool:
    writer = cache.writer("1.2", series, syntax)
    for n in range(2):
        writer.add(f"{series}.{n}", bytes(size), syntax, EVRLE, TRAITS)
    return writer.commit(("PAT1",))


def test_a_variant_is_invisible_until_committed(tmp_path: Path) -> None:
    cache = SeriesCache(tmp_path, 10**6)
    writer = cache.writer("1.2", "1.2.3", EVRLE)
    writer.add("1.2.3.1", b"x" * 10, EVRLE, EVRLE, TRAITS)
    assert cache.variant("1.2", "1.2.3", EVRLE) is None
    assert writer.commit(("PAT1",))
    variant = cache.variant("1.2", "1.2.3", EVRLE)
    assert variant is not None and variant.patient_ids == ("PAT1",)
    (entry,) = variant.instances
    assert entry.path.read_bytes() == b"x" * 10 and entry.traits == TRAITS


def test_abort_leaves_nothing_and_first_writer_wins(tmp_path: Path) -> None:
    cache = SeriesCache(tmp_path, 10**6)
    dropped = cache.writer("1.2", "1.2.3", EVRLE)
    dropped.add("1.2.3.1", b"a", EVRLE, EVRLE, TRAITS)
    dropped.abort()
    assert cache.variants("1.2", "1.2.3") == []
    assert fill(cache, "1.2.3", 5)
    assert not fill(cache, "1.2.3", 7)  # a concurrent second writer loses, cleanly
    variant = cache.variant("1.2", "1.2.3", EVRLE)
    assert variant is not None and variant.instances[0].path.stat().st_size == 5
    assert list((tmp_path / ".staging").iterdir()) == []


def test_lru_eviction_spares_recent_and_in_use_variants(tmp_path: Path) -> None:
    cache = SeriesCache(tmp_path, 3500)  # two variants (2 x 500 B + manifest) fit, not three
    fill(cache, "1.2.1", 500)
    fill(cache, "1.2.2", 500)
    oldest = cache.variant("1.2", "1.2.1", EVRLE)
    assert oldest is not None
    cache.variant("1.2", "1.2.2", EVRLE)  # 1.2.2 is now the most recently used
    with cache.reading(oldest):  # being served: not evicted even though least recent
        fill(cache, "1.2.3", 500)
        assert cache.variant("1.2", "1.2.1", EVRLE) is not None
        assert cache.variant("1.2", "1.2.2", EVRLE) is None
    assert cache.size <= 3500


def test_rescan_after_restart_and_forget(tmp_path: Path) -> None:
    cache = SeriesCache(tmp_path, 10**6)
    fill(cache, "1.2.3", 100)
    os.makedirs(tmp_path / ".staging" / "crashed")
    again = SeriesCache(tmp_path, 10**6)
    assert again.size == cache.size > 200  # files + manifest
    assert not (tmp_path / ".staging" / "crashed").exists()
    again.put_metadata("1.2", "1.2.3", b"{}")
    assert again.metadata("1.2", "1.2.3") == b"{}"
    again.forget_series("1.2", "1.2.3")
    assert again.variants("1.2", "1.2.3") == [] and again.metadata("1.2", "1.2.3") is None
    assert again.size == 0
