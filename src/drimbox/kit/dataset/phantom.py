"""Deterministic, anatomy-like synthetic pixel data (numpy, vectorised).

The CT phantoms mimic what makes real CT compress the way it does: large flat regions (air,
padding outside the reconstruction circle) that compress very well, tissue with spatially
correlated noise that does not, sharp bone edges softened by partial volume. Anatomy drifts
smoothly with the slice position; noise is drawn independently per slice from ``(seed, index)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

AIR_HU = -1000.0
PADDING_HU = -1024.0


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    return yy, xx


def _ellipse(
    yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float, tilt: float = 0.0
) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(tilt), np.sin(tilt)
    u = (dx * c + dy * s) / max(rx, 0.5)
    v = (dy * c - dx * s) / max(ry, 0.5)
    return np.asarray((u * u + v * v) <= 1.0)


def _smooth(img: np.ndarray, passes: int = 1) -> np.ndarray:
    """Separable [1 2 1]/4 filter, ``passes`` times: cheap partial-volume blur / noise colouring."""
    out = img
    for _ in range(passes):
        padded = np.pad(out, 1, mode="edge")
        out = (padded[:-2, 1:-1] + 2 * padded[1:-1, 1:-1] + padded[2:, 1:-1]) / 4
        padded = np.pad(out, 1, mode="edge")
        out = (padded[1:-1, :-2] + 2 * padded[1:-1, 1:-1] + padded[1:-1, 2:]) / 4
    return out.astype(np.float32)


def _noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Correlated noise with roughly ``sigma`` standard deviation (CT noise is not white)."""
    white = rng.standard_normal(shape, dtype=np.float32)
    coloured = _smooth(white, 1)
    return (coloured * (sigma / 0.61)).astype(np.float32)


def _paint(
    img: np.ndarray, cy: float, cx: float, ry: float, rx: float, value: float, tilt: float = 0.0
) -> None:
    """Fill an ellipse with ``value``, computing only inside its bounding box (fast)."""
    reach = max(ry, rx) + 1
    rows, cols = img.shape
    y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 2, rows)
    x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 2, cols)
    if y0 >= y1 or x0 >= x1:
        return
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - cy
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] - cx
    c, s = np.cos(tilt), np.sin(tilt)
    u = (dx * c + dy * s) / max(rx, 0.5)
    v = (dy * c - dx * s) / max(ry, 0.5)
    img[y0:y1, x0:x1][(u * u + v * v) <= 1.0] = value


@lru_cache(maxsize=4)
def _fov_mask(size: int) -> np.ndarray:
    """Pixels outside the circular reconstruction field of view (read-only, cached)."""
    yy, xx = _grid(size, size)
    return np.asarray((yy - size / 2 + 0.5) ** 2 + (xx - size / 2 + 0.5) ** 2 > (size / 2) ** 2)


def body_ct_slice(
    index: int, count: int, seed: int, size: int = 512, noise_hu: float = 45.0
) -> np.ndarray:
    """Slice ``index`` of ``count`` of a thorax-abdomen-pelvis CT, as float32 HU."""
    rng = np.random.default_rng([seed, index])
    k = size / 512.0
    z = index / max(count - 1, 1)
    img = np.full((size, size), AIR_HU, dtype=np.float32)
    img[int(430 * k) : int(440 * k), int(36 * k) : int(476 * k)] = -300.0  # table
    cy, cx = (248 + 4 * np.sin(6 * z)) * k, (256 + 3 * np.cos(5 * z)) * k
    ry, rx = (118 + 12 * np.sin(np.pi * z)) * k, (172 + 20 * np.sin(np.pi * z)) * k
    _paint(img, cy, cx, ry, rx, -95.0)  # subcutaneous fat
    _paint(img, cy, cx, ry - 13 * k, rx - 15 * k, 42.0)  # muscle / soft tissue
    lung = float(np.clip((0.4 - z) / 0.12, 0.0, 1.0))
    if lung > 0:
        for side in (-1.0, 1.0):
            _paint(
                img, cy - 6 * k, cx + side * 0.44 * rx, 0.62 * ry * lung, 0.3 * rx * lung, -860.0
            )
        _paint(img, cy - 10 * k, cx + 20 * k, 44 * k * lung, 56 * k * lung, 48.0, 0.4)  # heart
    organs = float(np.clip((z - 0.32) / 0.08, 0, 1) * np.clip((0.78 - z) / 0.08, 0, 1))
    if organs > 0:
        _paint(img, cy - 12 * k, cx - 0.35 * rx, 55 * k * organs, 72 * k * organs, 62.0, 0.3)
        for side in (-1.0, 1.0):  # kidneys, contrast-enhanced
            _paint(img, cy + 42 * k, cx + side * 58 * k, 30 * k * organs, 21 * k * organs, 160.0)
    _paint(img, cy + 22 * k, cx + 12 * k, 12 * k, 12 * k, 240.0)  # aorta
    vy = cy + 0.6 * ry
    vr = (22 + 3 * np.sin(40 * z)) * k
    _paint(img, vy, cx, vr, vr + 4 * k, 1150.0)  # cortical ring
    _paint(img, vy, cx, vr - 3 * k, vr, 320.0)  # cancellous body
    _paint(img, vy + vr + 15 * k, cx, 15 * k, 9 * k, 880.0)  # spinous process
    _paint(img, vy + vr + 3 * k, cx, 7 * k, 8 * k, 25.0)  # canal
    if z > 0.8:
        for side in (-1.0, 1.0):  # pelvic bones
            _paint(img, cy + 28 * k, cx + side * 108 * k, 52 * k, 28 * k, 1050.0, side * 0.5)
    img = _smooth(img, 1)
    img += _noise(rng, (size, size), noise_hu) * np.where(img < -900, 0.5, 1.0).astype(np.float32)
    img[_fov_mask(size)] = PADDING_HU
    return img


def head_ct_slice(
    index: int, count: int, seed: int, size: int = 256, noise_hu: float = 5.0
) -> np.ndarray:
    """An axial head slice: skull, brain, ventricles; float32 HU."""
    rng = np.random.default_rng([seed, index])
    k = size / 256.0
    z = index / max(count - 1, 1)
    scale = float(np.sqrt(max(1.0 - (2 * z - 0.9) ** 2, 0.15)))
    c = size / 2
    img = np.full((size, size), AIR_HU, dtype=np.float32)
    _paint(img, c, c, 100 * k * scale, 82 * k * scale, 1300.0)  # skull
    _paint(img, c, c, 92 * k * scale, 74 * k * scale, 34.0)  # brain
    for side in (-1.0, 1.0):  # lateral ventricles
        _paint(img, c - 8 * k, c + side * 12 * k, 22 * k * scale, 5 * k * scale, 6.0)
    return np.asarray(_smooth(img, 1) + _noise(rng, (size, size), noise_hu), dtype=np.float32)


def hu_to_stored(hu: np.ndarray, intercept: float = -1024.0, max_value: int = 4095) -> np.ndarray:
    """Quantise HU to unsigned stored values (RescaleSlope 1)."""
    return np.clip(np.rint(hu - intercept), 0, max_value).astype(np.uint16)


def blob_image(
    rows: int, cols: int, seed: int, index: int = 0, peak: float = 1000.0, blobs: int = 5
) -> np.ndarray:
    """Generic smooth bright blobs on a dark background (MR, NM, PET-like); float32 >= 0."""
    rng = np.random.default_rng([seed, index, rows, cols])
    yy, xx = _grid(rows, cols)
    img = np.zeros((rows, cols), dtype=np.float32)
    for b in range(blobs):
        cy = rows * (0.3 + 0.4 * rng.random())
        cx = cols * (0.3 + 0.4 * rng.random())
        r = min(rows, cols) * (0.08 + 0.12 * rng.random())
        img += (
            peak
            * (0.4 + 0.6 * (b + 1) / blobs)
            * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        )
    img += np.abs(rng.standard_normal((rows, cols), dtype=np.float32)) * peak * 0.02
    return img


def gradient_image(rows: int, cols: int, max_value: int) -> np.ndarray:
    """A diagonal ramp with a centred disc: shows orientation and grey scale direction."""
    yy, xx = _grid(rows, cols)
    ramp = (yy + xx) / max(rows + cols - 2, 1)
    disc = _ellipse(yy, xx, rows / 2, cols / 2, rows / 5, cols / 5)
    img = ramp * 0.8 * max_value + disc * 0.2 * max_value
    return np.asarray(np.clip(img, 0, max_value), dtype=np.float32)


def color_image(rows: int, cols: int) -> np.ndarray:
    """An RGB test pattern (uint8, rows x cols x 3): red, green, blue ramps and a white disc."""
    yy, xx = _grid(rows, cols)
    rgb = np.zeros((rows, cols, 3), dtype=np.float32)
    rgb[..., 0] = 255 * xx / max(cols - 1, 1)
    rgb[..., 1] = 255 * yy / max(rows - 1, 1)
    rgb[..., 2] = 255 * (1 - xx / max(cols - 1, 1))
    rgb[_ellipse(yy, xx, rows / 2, cols / 2, rows / 6, cols / 6)] = 255.0
    return rgb.astype(np.uint8)
