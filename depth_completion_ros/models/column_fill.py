"""Vectorised per-column interpolation for the classical model (numpy + OpenCV, no row loops).

Each column of a sparse image is filled between its nearest valid pixel above and below. The row
of that pixel comes from a running max of (encoded) row indices, computed as a log-step doubling
scan (Hillis-Steele: ``ceil(log2(H))`` whole-array ``np.maximum`` calls on uint16, much faster
than ``np.maximum.accumulate`` along axis 0), downwards for the pixel above and upwards for the
pixel below; rows stay int16 throughout and the values are gathered with two ``cv2.remap`` calls
on fixed-point (``CV_16SC2``) maps.

:func:`fill_columns` is the plain nearest-in-column fill (no interpolation) that stands in where a
model gives no depth (a refinement network's D0, the median-depth prior).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from depth_completion_ros.arrays import (
    Array,
    BoolArray,
    Float32Array,
    FloatArray,
    IntArray,
    UInt16Array,
)
from depth_completion_ros.models.workspace import Workspace

#: largest image height the int16 row encoding supports
MAX_HEIGHT = 32766


@dataclass(frozen=True)
class ColumnBrackets:
    """For every pixel, its column's nearest valid pixels above (row <= y) and below (row >= y).

    All arrays are (H, W) float32. A missing side copies the other one; in all-empty columns
    both values are 0 (and ``t``, ``dist`` are meaningless there).

    Attributes:
        above: value of the nearest valid pixel above (inclusive).
        below: value of the nearest valid pixel below (inclusive).
        t: position between them in [0, 1], 0 at the upper one, 1 at the lower one.
        dist: pixel distance to the nearer of the two.
        above_row: (H, W) int16 row of the pixel above (H in all-empty columns).
        below_row: (H, W) int16 row of the pixel below (H in all-empty columns).
    """

    above: Float32Array
    below: Float32Array
    t: Float32Array
    dist: Float32Array
    above_row: IntArray
    below_row: IntArray


def running_max(values: Array, reverse: bool = False, spare: Array | None = None,
                op: np.ufunc = np.maximum) -> Array:
    """Running maximum along axis 0 by doubling scan; ``values`` is consumed (reused as a buffer).

    Args:
        values: (H, W) array of a numpy integer or float dtype.
        reverse: scan upwards (row ``y`` holds the max of rows ``y..H-1``) instead of downwards
            (``np.maximum.accumulate(values, axis=0)``: the max of rows ``0..y``).
        spare: (H, W) buffer of the same dtype to alternate with (None: allocated).
        op: ``np.maximum`` or ``np.minimum`` (a running minimum).

    Returns:
        (H, W) array, same dtype (``values`` itself or ``spare``).
    """
    current = values
    spare = np.empty_like(values) if spare is None else spare
    step = 1
    while step < current.shape[0]:
        if reverse:
            spare[-step:] = current[-step:]
            op(current[:-step], current[step:], out=spare[:-step])
        else:
            spare[:step] = current[:step]
            op(current[step:], current[:-step], out=spare[step:])
        current, spare = spare, current
        step *= 2
    return current


def _down_index(ws: Workspace, height: int, width: int) -> UInt16Array:
    """(height, width) uint16 image of ``y + 1``, kept in ``ws`` (the first rows of the tallest
    one asked for: the values do not depend on the height)."""
    def fill(full: Array) -> None:
        full[:] = np.arange(1, full.shape[0] + 1, dtype=np.uint16)[:, None]

    buf: UInt16Array = ws.constant("index_down", (height, width), np.uint16, fill)
    return buf


def _col_index(ws: Workspace, height: int, width: int) -> IntArray:
    """(height, width) int16 image of the column index, kept in ``ws``."""
    def fill(full: Array) -> None:
        full[:] = np.arange(width, dtype=np.int16)

    buf: IntArray = ws.constant("index_col", (height, width), np.int16, fill)
    return buf


def bracket_rows(valid: BoolArray, workspace: Workspace | None = None
                 ) -> tuple[IntArray, IntArray]:
    """Row of each column's nearest valid pixel above and below every pixel.

    Args:
        valid: (H, W) bool, H <= :data:`MAX_HEIGHT`.
        workspace: buffers to reuse (None: fresh arrays).

    Returns:
        (above, below), (H, W) int16 rows; -1 where no valid pixel above, H where none below.
    """
    ws = Workspace() if workspace is None else workspace
    height, width = valid.shape
    if height > MAX_HEIGHT:
        raise ValueError(f"image height must be <= {MAX_HEIGHT}, got {height}")
    shape = (height, width)
    marks = np.multiply(_down_index(ws, height, width), valid,
                        out=ws.get("rows_a", shape, np.uint16))  # y + 1 where valid, else 0
    lower = np.subtract(marks, np.uint16(1), out=ws.get("rows_b", shape, np.uint16))  # 65535: none
    spare = ws.get("rows_spare", shape, np.uint16)
    above = running_max(marks, spare=spare)
    np.subtract(above, np.uint16(1), out=above)  # 0 (none) wraps to 65535 = int16 -1
    spare = marks if above is spare else spare
    below = running_max(lower, reverse=True, spare=spare, op=np.minimum)
    np.minimum(below, np.uint16(height), out=below)  # none -> H
    return above.view(np.int16), below.view(np.int16)


def substitute_missing(above: IntArray, below: IntArray) -> None:
    """In place: a missing side (-1 above, H below) takes the other side's row.

    Uses each column's first valid row (``below[0]``) and last one (``above[-1]``): above the
    first valid row the pixel above is that row, below the last one the pixel below is that row.
    All-empty columns end with both rows at H (out of range, so gathered as 0).

    Args:
        above, below: (H, W) int16 from :func:`bracket_rows`, modified.
    """
    first, last = below[0].copy(), above[-1].copy()
    np.maximum(above, first, out=above)
    np.minimum(below, np.maximum(last, first), out=below)


def gather_rows(image: Float32Array, rows: IntArray, workspace: Workspace | None = None,
                name: str = "gathered") -> Float32Array:
    """``image[rows[y, x], x]`` for every pixel, 0 where ``rows`` is out of range.

    Args:
        image: (H, W) float32.
        rows: (H, W) int16 row indices.
        workspace: buffers to reuse (None: fresh arrays); the result is its buffer ``name``.
    """
    ws = Workspace() if workspace is None else workspace
    shape = image.shape
    mapping = cv2.merge([_col_index(ws, *shape), rows], ws.get("map", (shape[0], 2 * shape[1]),
                                                                np.int16).reshape(*shape, 2))
    out = ws.get(name, shape, np.float32)
    # the stub wants a map2, but OpenCV takes None with a CV_16SC2 map1
    gathered: Float32Array = cv2.remap(  # type: ignore[call-overload]
        image, mapping, None, cv2.INTER_NEAREST, dst=out, borderMode=cv2.BORDER_CONSTANT,
        borderValue=0)
    return gathered


def column_brackets(image: Float32Array, workspace: Workspace | None = None) -> ColumnBrackets:
    """Bracketing values, position and distance for every pixel of a sparse image.

    A missing side takes the other side's row before the gather, so both values are equal
    there and the position, clipped to [0, 1], does not matter.

    Args:
        image: (H, W) float32, valid where > 0.
        workspace: buffers to reuse (None: fresh arrays); the result's arrays are its buffers.
    """
    ws = Workspace() if workspace is None else workspace
    shape = image.shape
    valid = np.greater(image, np.float32(0.0), out=ws.get("valid", shape, np.bool_))
    above_row, below_row = bracket_rows(valid, ws)
    substitute_missing(above_row, below_row)
    rows = np.arange(shape[0], dtype=np.int16)[:, None]
    offset = np.subtract(rows, above_row, out=ws.get("offset", shape, np.int16))  # |.| <= H
    # offset and gap are both >= 0 between two valid rows; where a side was substituted one of
    # them is the other's negative, so the distance is |min(offset, gap)|
    gap = np.subtract(below_row, rows, out=ws.get("gap", shape, np.int16))
    np.minimum(offset, gap, out=gap)
    np.abs(gap, out=gap)
    dist = ws.get("dist", shape, np.float32)
    np.copyto(dist, gap)
    span = np.subtract(below_row, above_row, out=gap)
    np.maximum(span, np.int16(1), out=span)
    t = ws.get("t", shape, np.float32)
    np.copyto(t, offset)
    span_f = ws.get("span", shape, np.float32)
    np.copyto(span_f, span)
    t /= span_f
    np.clip(t, np.float32(0.0), np.float32(1.0), out=t)
    return ColumnBrackets(gather_rows(image, above_row, ws, "above"),
                          gather_rows(image, below_row, ws, "below"), t, dist,
                          above_row, below_row)


def fill_empty_columns(image: Float32Array, dist: Float32Array) -> None:
    """In place: columns with no value (all 0) interpolate between their nearest filled columns.

    After :func:`column_brackets`-based interpolation a column is either filled in every row or
    empty in every row (no measurement at all, e.g. a gap in a 4-line scan); left empty, those
    columns would be NaN holes and would pull the following median / blur towards 0. Each empty
    column takes the linear interpolation of its nearest filled columns left and right (the
    nearer one alone at the image borders); its distance becomes the horizontal pixel distance
    to that column plus that column's own distance. Nothing happens when no column is empty or
    none is filled.

    Args:
        image: (H, W) float32 filled-or-empty columns (e.g. inverse depth), modified.
        dist: (H, W) float32 pixel distance to the nearest measurement, modified.
    """
    filled = image[0] > 0
    empty = np.flatnonzero(~filled)
    good = np.flatnonzero(filled)
    if empty.size == 0 or good.size == 0:
        return
    pos = np.searchsorted(good, empty)
    left = good[np.maximum(pos - 1, 0)]
    right = good[np.minimum(pos, good.size - 1)]
    span = np.maximum(right - left, 1).astype(np.float32)
    w = np.clip((empty - left) / span, 0.0, 1.0).astype(np.float32)  # 0 / 1 at the borders
    image[:, empty] = image[:, left] * (1.0 - w) + image[:, right] * w
    nearer = np.where(np.abs(empty - left) <= np.abs(right - empty), left, right)
    dist[:, empty] = dist[:, nearer] + np.abs(empty - nearer).astype(np.float32)


def on_plane(b: ColumnBrackets, jump: IntArray, above: Float32Array, below: Float32Array,
             tolerance: float) -> BoolArray:
    """Whether each gap's two ends and the next filled pixel below the lower end are collinear
    in (row, inverse depth): a plane, where ``1/z`` is affine in the row (e.g. far ground).

    Args:
        b: column brackets of an (H, W) inverse-depth image.
        jump: (N,) flat pixel indices.
        above, below: (N,) float32 bracket values at ``jump``.
        tolerance: largest deviation of the lower end from the line through the upper end and
            the third pixel, relative to the lower end's value.

    Returns:
        (N,) bool, False where the column has no filled pixel below the lower end.
    """
    height, width = b.above.shape
    rows_a, rows_b = (np.take(r, jump).astype(np.int32) for r in (b.above_row, b.below_row))
    third = jump.astype(np.int32)
    third += (np.minimum(rows_b + 1, height - 1) - third // width) * width
    span_c = (np.take(b.below_row, third) - rows_a).astype(np.float32)  # <= span_b if none
    span_b = (rows_b - rows_a).astype(np.float32)
    # (b - a) * (rc - ra) - (c - a) * (rb - ra), compared with tolerance * b * (rc - ra)
    cross = np.abs((below - above) * span_c - (np.take(b.below, third) - above) * span_b)
    return (span_c > span_b) & (cross <= np.float32(tolerance) * below * span_c)


def fill_columns(depth: FloatArray, valid: BoolArray) -> Float32Array:
    """(H, W) float32: each invalid pixel takes the nearest valid value of its column (above
    first, else below); columns with none take the mean valid depth (0 when none at all).

    Example:
        >>> d = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan]], np.float32)
        >>> fill_columns(d, np.isfinite(d)).tolist()
        [[2.0, 1.0], [2.0, 1.0], [2.0, 1.0]]
    """
    height = depth.shape[0]
    rows = np.arange(height)[:, None]
    above = np.maximum.accumulate(np.where(valid, rows, -1), axis=0)
    below = np.minimum.accumulate(np.where(valid, rows, height)[::-1], axis=0)[::-1]
    source = np.where(above >= 0, above, below)
    has = source < height
    cols = np.broadcast_to(np.arange(depth.shape[1]), depth.shape)
    fallback = float(depth[valid].mean()) if valid.any() else 0.0
    picked = depth[np.minimum(source, height - 1), cols]
    return np.where(valid, depth, np.where(has, picked, fallback)).astype(np.float32)
