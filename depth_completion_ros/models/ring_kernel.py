"""The classical model's ring fill and confidence as compiled loops (Numba), when installed.

The numpy + OpenCV path (:func:`.classical.fill_rows`, :func:`.classical.interpolate_columns`)
makes about thirty whole-image passes: a doubling scan for each column's nearest filled pixels
above and below, two ``remap`` gathers, then the interpolation and the discontinuity blend as
separate array operations. These loops compute the same numbers in two passes over the image
and are the classical model's fast path; the numpy path stays as the reference they are tested
against (``test/models/test_ring_kernel.py``: equal outputs on real KITTI scans and on edge
cases) and as the fallback without Numba.

1. :func:`inverse_rows`, row by row: the inverse depth of each measurement (``> min_depth``),
   the mask and flat indices of the measurements (for :func:`.scan_pattern.detect_pattern`),
   and the in-beam row fill (an empty pixel takes the largest inverse depth within
   ``half`` pixels of its row; a measured pixel keeps its own);
2. :func:`interpolate_columns`, column by column: the column's filled rows, then each gap
   between two of them in one loop whose kind (plain inverse-depth interpolation or, across a
   discontinuity, the blend) is decided once per gap, not per pixel. Going down a column reads
   memory with a stride, but the few hundred cache lines a column touches are the ones the next
   fifteen columns use, so they stay in cache; it measured faster than row-ordered passes
   (1.28 vs 1.47 ms on seq16's 32-line crops). One thread: split among threads, a loop waits
   for its slowest part, which on a busy CPU more than doubled its time.
3. :func:`confidence_exponent`: the confidence's exponent (3x3 depth range and distance) in
   one pass instead of five OpenCV ones.

Numba's machine code is cached next to this module (``cache=True``) or in the user's cache
folder; the first call in a process without a cache compiles (about a second): the model
compiles on construction (:func:`warm_up`), not on the first frame.
"""
from __future__ import annotations

import logging

import numpy as np

from depth_completion_ros.arrays import BoolArray, Float32Array, IntArray

LOG = logging.getLogger(__name__)

try:  # optional: without it the classical model runs its numpy path (same numbers, slower)
    import numba
except ImportError:  # pragma: no cover - the venv installs it
    numba = None  # type: ignore[assignment]

#: whether the compiled loops are available
AVAILABLE = numba is not None


def _identity(function):  # type: ignore[no-untyped-def]
    return function


if numba is not None:
    _jit = numba.njit(cache=True, nogil=True, error_model="numpy")
else:  # the functions stay plain Python (never called: AVAILABLE is False)
    _jit = _identity


@_jit
def _inverse_rows(sparse, min_depth, half, filled, valid, measured):  # type: ignore[no-untyped-def]
    height, width = sparse.shape
    count = 0
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for y in range(height):
        row, out, mask = sparse[y], filled[y], valid[y]
        for x in range(width):  # branch-free: the mask, the row cleared
            mask[x] = row[x] > min_depth
            out[x] = zero
        first = count
        for x in range(width):
            if mask[x]:
                measured[count] = y * width + x
                count += 1
        for i in range(first, count):  # each measurement's value over its neighbourhood
            x = measured[i] - y * width
            value = one / row[x]
            for u in range(max(x - half, 0), min(x + half + 1, width)):
                if value > out[u]:
                    out[u] = value
        for i in range(first, count):  # measured pixels keep their own value
            x = measured[i] - y * width
            out[x] = one / row[x]
    return count


@_jit
def _interpolate(filled, jump_ratio, jump_blend, out, dist, rows):  # type: ignore[no-untyped-def]
    height, width = filled.shape
    zero = np.float32(0.0)
    one = np.float32(1.0)
    tiny = np.float32(1e-12)
    ratio = np.float32(jump_ratio)
    blend = np.float32(jump_blend)
    rest = np.float32(1.0 - jump_blend)
    for x in range(width):
        count = 0
        for y in range(height):  # the column's filled rows
            if filled[y, x] > zero:
                rows[count] = y
                count += 1
        if count == 0:  # no value: 0 (the numpy path's distance, never used)
            for y in range(height):
                out[y, x] = zero
                dist[y, x] = np.float32(height - y)
            continue
        first, last = rows[0], rows[count - 1]
        for y in range(first):  # above the first: its value
            out[y, x] = filled[first, x]
            dist[y, x] = np.float32(first - y)
        for i in range(count - 1):  # each gap, its end values and kind found once
            ra, rb = rows[i], rows[i + 1]
            a, b = filled[ra, x], filled[rb, x]
            span = np.float32(rb - ra)
            out[ra, x] = a
            dist[ra, x] = zero
            if max(a, b) > min(a, b) * ratio:  # a discontinuity: blend with the depth lerp
                for y in range(ra + 1, rb):
                    t = np.float32(y - ra) / span
                    den = max((one - t) * b + t * a, tiny)
                    out[y, x] = blend * ((b - a) * t + a) + rest * (a * b / den)
                    dist[y, x] = np.float32(min(y - ra, rb - y))
            else:
                for y in range(ra + 1, rb):
                    t = np.float32(y - ra) / span
                    out[y, x] = (b - a) * t + a
                    dist[y, x] = np.float32(min(y - ra, rb - y))
        for y in range(last, height):  # from the last down: its value
            out[y, x] = filled[last, x]
            dist[y, x] = np.float32(y - last)


@_jit
def _row_extrema(row, high, low):  # type: ignore[no-untyped-def]
    width = row.shape[0]
    for x in range(width):
        a = row[x - 1] if x > 0 else row[x]
        b = row[x]
        c = row[x + 1] if x + 1 < width else row[x]
        m = a if a > b else b
        high[x] = m if m > c else c
        n = a if a < b else b
        low[x] = n if n < c else c


@_jit
def _exponent(depth, dist, k_spread, k_dist, out):  # type: ignore[no-untyped-def]
    height, width = depth.shape
    high = np.empty((3, width), np.float32)  # 3x3 extrema as row extrema of three rows, kept
    low = np.empty((3, width), np.float32)   # in a ring of three row buffers
    _row_extrema(depth[0], high[0], low[0])
    for y in range(height):
        if y + 1 < height:
            _row_extrema(depth[y + 1], high[(y + 1) % 3], low[(y + 1) % 3])
        here = y % 3
        up = (y + 2) % 3 if y > 0 else here
        down = (y + 1) % 3 if y + 1 < height else here
        hu, hh, hd, lu, lh, ld = high[up], high[here], high[down], low[up], low[here], low[down]
        row, gaps, result = depth[y], dist[y], out[y]
        for x in range(width):
            m = hu[x] if hu[x] > hh[x] else hh[x]
            m = m if m > hd[x] else hd[x]
            n = lu[x] if lu[x] < lh[x] else lh[x]
            n = n if n < ld[x] else ld[x]
            result[x] = (m - n) / row[x] * k_spread + gaps[x] * k_dist


def inverse_rows(sparse: Float32Array, min_depth: float, row_fill_px: int,
                 filled: Float32Array, valid: BoolArray, measured: IntArray) -> IntArray:
    """Step 1 of the module docstring, into caller-owned buffers.

    Args:
        sparse: (H, W) float32 depth, metres, 0 = none (C-contiguous).
        min_depth: measurements at or below are ignored.
        row_fill_px: width of the row fill (odd, >= 1; 1 = none).
        filled: (H, W) float32, written: row-filled inverse depth, 0 = empty.
        valid: (H, W) bool, written: the measurements.
        measured: (H * W,) int64 contiguous buffer; its first entries are written.

    Returns:
        The flat indices of the measurements (a view of ``measured``), in row-major order.
    """
    count = _inverse_rows(sparse, np.float32(min_depth), row_fill_px // 2, filled, valid,
                          measured)
    view: IntArray = measured[:count]
    return view


def interpolate_columns(filled: Float32Array, jump_ratio: float, jump_blend: float,
                        out: Float32Array, dist: Float32Array) -> None:
    """Step 2 of the module docstring (:func:`.classical.interpolate_columns` with no plane
    test), into caller-owned (H, W) float32 buffers: ``out`` the interpolated inverse depth
    (0 in all-empty columns), ``dist`` the pixel distance to the nearest filled pixel of the
    column (meaningless in all-empty columns)."""
    _interpolate(filled, np.float32(jump_ratio), np.float32(jump_blend), out, dist,
                 np.empty(filled.shape[0], np.int64))


def warm_up() -> None:
    """Compile (or load from the cache) both loops on a tiny image; no-op without Numba."""
    if not AVAILABLE:
        return
    sparse = np.zeros((4, 8), np.float32)
    sparse[1, 2] = sparse[3, 5] = 10.0
    filled = np.empty_like(sparse)
    measured = inverse_rows(sparse, 0.1, 3, filled, np.empty(sparse.shape, np.bool_),
                            np.empty(sparse.size, np.int64))
    assert measured.size == 2
    interpolate_columns(filled, 1.3, 0.5, np.empty_like(sparse), np.empty_like(sparse))


def confidence_exponent(depth: Float32Array, dist: Float32Array, spread_scale: float,
                        dist_scale: float, out: Float32Array) -> None:
    """``out = spread * spread_scale + dist * dist_scale`` in one pass, ``spread`` being the
    3x3 range of ``depth`` over itself, ``(max - min) / depth``, the neighbourhood clipped at
    the borders (as OpenCV's dilate / erode): the exponent of
    :func:`.classical.confidence_map`, whose numpy path takes five OpenCV passes for it (equal
    to within float rounding). inf / NaN where ``depth`` is 0. All (H, W) float32, C-contiguous.
    """
    _exponent(depth, dist, np.float32(spread_scale), np.float32(dist_scale), out)
