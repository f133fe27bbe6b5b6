"""The classical model's ring fill and confidence as compiled loops (Numba), when installed.

The numpy + OpenCV path (:func:`.classical.fill_rows`, :func:`.classical.interpolate_columns`)
makes about thirty whole-image passes: a doubling scan for each column's nearest filled pixels
above and below, two ``remap`` gathers, then the interpolation and the discontinuity blend as
separate array operations. These loops compute the same depths in two passes over the image
and are the classical model's fast path; the numpy path stays as the reference they are tested
against (``test/models/test_ring_kernel.py``: equal depths on real KITTI scans and on edge
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
   (1.28 vs 1.47 ms on seq16's 32-line crops, one thread);
3. :func:`confidence_exponent`: the confidence's exponent (3x3 depth range and distance) in
   one pass instead of five OpenCV ones.

Each splits its image into a few chunks (rows or columns) that the calling thread and
:data:`HELPERS` helper threads share (:func:`share_work`; the loops release the GIL).

Numba's machine code is cached next to this module (``cache=True``) or in the user's cache
folder; the first call in a process without a cache compiles (seconds): the model compiles on
construction (:func:`warm_up`), not on the first frame.
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from depth_completion_ros.arrays import BoolArray, Float32Array, IntArray

LOG = logging.getLogger(__name__)

try:  # optional: without it the classical model runs its numpy path (same depths, slower)
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

#: columns per chunk of the column loop; rows per chunk of the row loop and the exponent
COLUMN_BLOCK = 304
ROW_BLOCK = 80

#: helper threads that share the chunks with the calling thread (one fewer than the cores this
#: process may use, at most 3)
HELPERS = max(0, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else (os.cpu_count() or 1), 4) - 1)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _helpers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=HELPERS, thread_name_prefix="ring_kernel")
        return _pool


def share_work(run: Callable[[int], object], chunks: int) -> None:
    """``run(0)`` ... ``run(chunks - 1)``, the calling thread and :data:`HELPERS` helper threads
    taking the next chunk in turn (the compiled loops release the GIL).

    Why not Numba's own ``parallel=True``: its threads wait for each other's share, and with
    another process busy on the second core it made a frame 3 to 4 times slower than one thread
    (12-16 ms against 4 ms, seq16 32-line crops, 2 cores). Here a helper the scheduler holds
    back takes fewer chunks; the caller waits at most for the chunk a helper is running, not at
    all for a helper that never started. A few large chunks: each hand-over costs a switch of
    the GIL, and 10 chunks of 128 columns measured slower than 4 of 304.
    """
    if chunks <= 1 or not HELPERS:
        for chunk in range(chunks):
            run(chunk)
        return
    counter = itertools.count()  # next() is atomic under the GIL

    def work() -> None:
        for chunk in counter:
            if chunk >= chunks:
                return
            run(chunk)

    pending = [_helpers().submit(work) for _ in range(HELPERS)]
    try:
        work()
    finally:  # no helper still writes into the caller's buffers once this returns or raises
        for future in pending:
            if not future.cancel():
                future.exception()  # waits
    for future in pending:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]


@_jit
def _inverse_rows(sparse, min_depth, half, filled, valid, measured,  # type: ignore[no-untyped-def]
                  start, stop):
    width = sparse.shape[1]
    count = start * width  # this chunk's indices go from its first pixel's index on
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for y in range(start, stop):
        row, out, mask = sparse[y], filled[y], valid[y]
        for x in range(width):  # branch-free: the mask, the row cleared
            mask[x] = row[x] > min_depth
            out[x] = zero
        first = count
        base = y * width
        for x in range(width):  # branch-free compaction: written always, kept if measured
            measured[count] = base + x
            count += mask[x]
        for i in range(first, count):  # each measurement's value over its neighbourhood
            x = measured[i] - base
            value = one / row[x]
            for u in range(max(x - half, 0), min(x + half + 1, width)):
                if value > out[u]:
                    out[u] = value
        for i in range(first, count):  # measured pixels keep their own value
            x = measured[i] - base
            out[x] = one / row[x]
    return count - start * width


@_jit
def _fill_column(filled, x, rows, count, blend, rest, ratio,  # type: ignore[no-untyped-def]
                 out, dist):
    height = filled.shape[0]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    tiny = np.float32(1e-12)
    if count == 0:  # no value: 0 (the numpy path's distance, never used)
        for y in range(height):
            out[y, x] = zero
            dist[y, x] = np.float32(height - y)
        return
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
def _interpolate(filled, ratio, blend, out, dist, start, stop):  # type: ignore[no-untyped-def]
    height = filled.shape[0]
    zero = np.float32(0.0)
    rest = np.float32(1.0) - blend
    rows = np.empty(height, np.int64)
    for x in range(start, stop):
        count = 0
        for y in range(height):  # the column's filled rows
            if filled[y, x] > zero:
                rows[count] = y
                count += 1
        _fill_column(filled, x, rows, count, blend, rest, ratio, out, dist)


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
def _exponent_rows(depth, dist, k_spread, k_dist, out,  # type: ignore[no-untyped-def]
                   start, stop):
    height, width = depth.shape
    high = np.empty((3, width), np.float32)  # 3x3 extrema as row extrema of three rows, kept
    low = np.empty((3, width), np.float32)   # in a ring of three row buffers
    if start > 0:
        _row_extrema(depth[start - 1], high[(start - 1) % 3], low[(start - 1) % 3])
    _row_extrema(depth[start], high[start % 3], low[start % 3])
    for y in range(start, stop):
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


@_jit
def _top_row(sparse, min_depth):  # type: ignore[no-untyped-def]
    height, width = sparse.shape
    for y in range(height):
        for x in range(width):
            if sparse[y, x] > min_depth:
                return y
    return -1


def _chunks(size: int, block: int) -> tuple[int, Callable[[int], tuple[int, int]]]:
    """Number of chunks of ``block`` over ``size`` and each chunk's [start, stop)."""
    return -(-size // block), lambda chunk: (chunk * block, min(chunk * block + block, size))


def top_row(sparse: Float32Array, min_depth: float) -> int | None:
    """First row holding a value above ``min_depth`` (None if none); stops there."""
    row = int(_top_row(sparse, np.float32(min_depth)))
    return None if row < 0 else row


def inverse_rows(sparse: Float32Array, min_depth: float, row_fill_px: int,
                 filled: Float32Array, valid: BoolArray, measured: IntArray) -> IntArray:
    """Step 1 of the module docstring, into caller-owned buffers.

    Args:
        sparse: (H, W) float32 depth, metres, 0 = none (C-contiguous).
        min_depth: measurements at or below are ignored.
        row_fill_px: width of the row fill (odd, >= 1; 1 = none).
        filled: (H, W) float32, written: row-filled inverse depth, 0 = empty.
        valid: (H, W) bool, written: the measurements.
        measured: (H * W,) int64 contiguous scratch buffer.

    Returns:
        The flat indices of the measurements, in row-major order (``measured`` or a new array).
    """
    chunks, bounds = _chunks(sparse.shape[0], ROW_BLOCK)
    counts = [0] * chunks
    threshold, half = np.float32(min_depth), row_fill_px // 2

    def run(chunk: int) -> None:
        counts[chunk] = int(_inverse_rows(sparse, threshold, half, filled, valid, measured,
                                          *bounds(chunk)))

    share_work(run, chunks)
    width = sparse.shape[1]
    parts = [measured[bounds(c)[0] * width:bounds(c)[0] * width + counts[c]]
             for c in range(chunks)]
    found: IntArray = parts[0] if chunks == 1 else np.concatenate(parts)
    return found


def interpolate_columns(filled: Float32Array, jump_ratio: float, jump_blend: float,
                        out: Float32Array, dist: Float32Array) -> None:
    """Step 2 of the module docstring (:func:`.classical.interpolate_columns` with no plane
    test), into caller-owned (H, W) float32 buffers: ``out`` the interpolated inverse depth
    (0 in all-empty columns), ``dist`` the pixel distance to the nearest filled pixel of the
    column (meaningless in all-empty columns)."""
    chunks, bounds = _chunks(filled.shape[1], COLUMN_BLOCK)
    ratio, blend = np.float32(jump_ratio), np.float32(jump_blend)
    share_work(lambda chunk: _interpolate(filled, ratio, blend, out, dist, *bounds(chunk)),
               chunks)


def confidence_exponent(depth: Float32Array, dist: Float32Array, spread_scale: float,
                        dist_scale: float, out: Float32Array) -> None:
    """``out = spread * spread_scale + dist * dist_scale`` in one pass, ``spread`` being the
    3x3 range of ``depth`` over itself, ``(max - min) / depth``, the neighbourhood clipped at
    the borders (as OpenCV's dilate / erode): the exponent of
    :func:`.classical.confidence_map`, whose numpy path takes five OpenCV passes for it (equal
    to within float rounding). inf / NaN where ``depth`` is 0. All (H, W) float32, C-contiguous.
    """
    chunks, bounds = _chunks(depth.shape[0], ROW_BLOCK)
    spread, distance = np.float32(spread_scale), np.float32(dist_scale)
    share_work(lambda chunk: _exponent_rows(depth, dist, spread, distance, out, *bounds(chunk)),
               chunks)


def _compile() -> bool:
    """Compile (or load from the cache) every loop and check it on a tiny image."""
    sparse = np.zeros((4, 8), np.float32)
    sparse[1, 2] = sparse[3, 5] = 10.0
    filled = np.empty_like(sparse)
    measured = inverse_rows(sparse, 0.1, 3, filled, np.empty(sparse.shape, np.bool_),
                            np.empty(sparse.size, np.int64))
    out = np.empty_like(sparse)
    interpolate_columns(filled, 1.3, 0.5, out, np.empty_like(sparse))
    confidence_exponent(sparse + 1, sparse, -1.0, -1.0, np.empty_like(sparse))
    return measured.tolist() == [10, 29] and top_row(sparse, 0.1) == 1 and bool(
        np.isclose(out[0, 2], 0.1) and np.isclose(out[2, 5], 0.1))


_compiled: bool | None = None  # None: not tried yet


def ready() -> bool:
    """Whether the compiled loops can be used: Numba is installed (:data:`AVAILABLE`) and the
    loops compiled (or came from the cache) and gave the expected numbers on a tiny image. The
    first call compiles (seconds); a failure (no compiler for this CPU, no writable cache
    folder, ...) is logged once and the classical model runs its numpy path."""
    global _compiled
    if not AVAILABLE:
        return False
    if _compiled is None:
        try:
            _compiled = _compile()
        except Exception as err:  # numba raises its own errors, or RuntimeError / OSError
            LOG.warning("the classical model's compiled loops are unavailable (%s: %s): it "
                        "runs its numpy path (same depths, slower)", type(err).__name__, err)
            _compiled = False
        else:
            if not _compiled:
                LOG.warning("the classical model's compiled loops gave wrong numbers on a "
                            "check image: it runs its numpy path")
    return _compiled


def warm_up() -> None:
    """Compile the loops now (:func:`ready`), not on the first frame."""
    ready()
