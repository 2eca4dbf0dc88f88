"""Synthetic pixel data: deterministic, CT-like value ranges."""

from __future__ import annotations

import numpy as np

from drimbox.kit.dataset.phantom import PADDING_HU, body_ct_slice, head_ct_slice, hu_to_stored


def test_same_inputs_same_pixels_other_seed_other_noise() -> None:
    a = body_ct_slice(10, 100, 1, size=128)
    assert np.array_equal(a, body_ct_slice(10, 100, 1, size=128))
    assert not np.array_equal(a, body_ct_slice(10, 100, 2, size=128))


def test_body_slice_has_air_padding_soft_tissue_and_bone() -> None:
    hu = body_ct_slice(600, 1300, 1)
    assert hu.shape == (512, 512) and hu.dtype == np.float32
    assert hu[0, 0] == PADDING_HU  # outside the reconstruction circle
    centre = hu[200:300, 200:300]
    assert -200 < float(np.median(centre)) < 200
    assert float(hu.max()) > 700  # bone


def test_stored_values_fit_12_bits() -> None:
    stored = hu_to_stored(head_ct_slice(3, 10, 1))
    assert stored.dtype == np.uint16
    assert int(stored.max()) <= 4095
