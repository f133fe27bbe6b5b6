"""The classical model's ring fill as two compiled loops (Numba), when Numba is installed.

The numpy + OpenCV path (:func:`.classical.fill_rows`, :func:`.classical.interpolate_columns`)
makes about thirty whole-image passes: a doubling scan for each column's nearest filled pixels
above and below, two ``remap`` gathers, then the interpolation and the discontinuity blend as
separate array operations. These loops compute the same numbers in three passes over the image
and are the classical model's fast path; the numpy path stays as the reference they are tested
against (``test/models/test_ring_kernel.py``: equal outputs on real KITTI scans and on edge
cases) and as the fallback without Numba.

1. :func:`inverse_rows`, row by row: the inverse depth of each measurement (``> min_depth``),
   the mask and flat indices of the measurements (for :func:`.scan_pattern.detect_pattern`),
   and the in-beam row fill (an empty pixel takes the largest inverse depth within
   ``half`` pixels of its row; a measured pixel keeps its own);
2. :func:`interpolate_columns`, down then up each column (rows outer, columns inner, so memory
   is read in order): the nearest filled pixel above every pixel is recorded on the way down;
   on the way up, with the one below known, the interpolation, the discontinuity blend and the
   distance are written. One thread: split among threads, the loop waits for its slowest part,
   which on a vehicle's busy CPU more than doubled its time.

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
    _jit = numba.njit(cache=True, nogil=True)
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
        for x in range(width):
            out[x] = zero
        first = count
        for x in range(width):
            depth = row[x]
            mask[x] = depth > min_depth
            if depth > min_depth:
                measured[count] = y * width + x
                count += 1
                value = one / depth
                for u in range(max(x - half, 0), min(x + half + 1, width)):
                    if value > out[u]:
                        out[u] = value
        for i in range(first, count):  # measured pixels keep their own value
            x = measured[i] - y * width
            out[x] = one / row[x]
    return count


@_jit
def _interpolate(filled, jump_ratio, jump_blend, out, dist, above_row,  # type: ignore[no-untyped-def]
                 above_value):
    height, width = filled.shape
    zero = np.float32(0.0)
    one = np.float32(1.0)
    tiny = np.float32(1e-12)
    ratio = np.float32(jump_ratio)
    blend = np.float32(jump_blend)
    rest = np.float32(1.0 - jump_blend)
    last_row = np.full(width, -1, np.int16)
    last_value = np.zeros(width, np.float32)
    for y in range(height):  # down: the nearest filled pixel above (inclusive)
        for x in range(width):
            value = filled[y, x]
            if value > zero:
                last_row[x] = y
                last_value[x] = value
            above_row[y, x] = last_row[x]
            above_value[y, x] = last_value[x]
    next_row = np.full(width, height, np.int16)
    next_value = np.zeros(width, np.float32)
    for y in range(height - 1, -1, -1):  # up: the one below, then the pixel's value
        for x in range(width):
            value = filled[y, x]
            if value > zero:
                next_row[x] = y
                next_value[x] = value
            ra = above_row[y, x]
            a = above_value[y, x]
            rb = next_row[x]
            b = next_value[x]
            if ra < 0:  # nothing above: the pixel below on both sides
                ra = rb
                a = b
            elif rb >= height:  # nothing below: the pixel above on both sides
                rb = ra
                b = a
            offset = y - ra
            gap = rb - y
            if gap < offset:
                offset_or_gap = gap
            else:
                offset_or_gap = offset
            dist[y, x] = np.float32(abs(offset_or_gap))
            span = rb - ra
            if span < 1:
                span = 1
            t = np.float32(offset) / np.float32(span)
            if t < zero:
                t = zero
            elif t > one:
                t = one
            value = (b - a) * t + a
            if a < b:
                near, far = b, a
            else:
                near, far = a, b
            if near > far * ratio:  # a discontinuity: blend with the interpolation in depth
                den = (one - t) * b + t * a
                if den < tiny:
                    den = tiny
                value = blend * value + rest * (a * b / den)
            out[y, x] = value


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
                        out: Float32Array, dist: Float32Array, above_row: IntArray,
                        above_value: Float32Array) -> None:
    """Step 2 of the module docstring (:func:`.classical.interpolate_columns` with no plane
    test), into caller-owned (H, W) buffers: ``out`` float32 interpolated inverse depth (0 in
    all-empty columns), ``dist`` float32 pixel distance to the nearest filled pixel of the
    column (meaningless in all-empty columns), ``above_row`` int16 / ``above_value`` float32
    scratch."""
    if filled.shape[0] > np.iinfo(np.int16).max - 1:
        raise ValueError(f"image height must be < {np.iinfo(np.int16).max}, got "
                         f"{filled.shape[0]}")
    _interpolate(filled, np.float32(jump_ratio), np.float32(jump_blend), out, dist, above_row,
                 above_value)


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
    interpolate_columns(filled, 1.3, 0.5, np.empty_like(sparse), np.empty_like(sparse),
                        np.empty(sparse.shape, np.int16), np.empty_like(sparse))
