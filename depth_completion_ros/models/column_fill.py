"""Vectorised per-column interpolation for the classical model (numpy + OpenCV, no row loops).

Each column of a sparse image is filled between its nearest valid pixel above and below. The row
of that pixel comes from a running max of (encoded) row indices, computed as a log-step doubling
scan (Hillis-Steele: ``ceil(log2(H))`` whole-array ``np.maximum`` calls on uint16, much faster
than ``np.maximum.accumulate`` along axis 0), downwards for the pixel above and upwards for the
pixel below; rows stay int16 throughout and the values are gathered with two ``cv2.remap`` calls
on fixed-point (``CV_16SC2``) maps.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, BoolArray, Float32Array, IntArray, UInt16Array

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


def running_max(values: Array, reverse: bool = False) -> Array:
    """Running maximum along axis 0 by doubling scan; ``values`` is consumed (reused as a buffer).

    Args:
        values: (H, W) array of a numpy integer or float dtype.
        reverse: scan upwards (row ``y`` holds the max of rows ``y..H-1``) instead of downwards
            (``np.maximum.accumulate(values, axis=0)``: the max of rows ``0..y``).

    Returns:
        (H, W) array, same dtype (``values`` itself or a buffer of the same shape).
    """
    current, spare = values, np.empty_like(values)
    step = 1
    while step < current.shape[0]:
        if reverse:
            spare[-step:] = current[-step:]
            np.maximum(current[:-step], current[step:], out=spare[:-step])
        else:
            spare[:step] = current[:step]
            np.maximum(current[step:], current[:-step], out=spare[step:])
        current, spare = spare, current
        step *= 2
    return current


@lru_cache(maxsize=4)
def _index_images(height: int, width: int) -> tuple[IntArray, UInt16Array, UInt16Array]:
    """Cached read-only (height, width) images: int16 column, uint16 ``y + 1``, uint16 ``H - y``."""
    cols = np.broadcast_to(np.arange(width, dtype=np.int16), (height, width))
    down = np.broadcast_to(np.arange(1, height + 1, dtype=np.uint16)[:, None], (height, width))
    images = (np.ascontiguousarray(cols), np.ascontiguousarray(down),
              np.ascontiguousarray(down[::-1]))
    for image in images:
        image.flags.writeable = False
    return images


def bracket_rows(valid: BoolArray) -> tuple[IntArray, IntArray]:
    """Row of each column's nearest valid pixel above and below every pixel.

    Args:
        valid: (H, W) bool, H <= :data:`MAX_HEIGHT`.

    Returns:
        (above, below), (H, W) int16 rows; -1 where no valid pixel above, H where none below.
    """
    height, width = valid.shape
    if height > MAX_HEIGHT:
        raise ValueError(f"image height must be <= {MAX_HEIGHT}, got {height}")
    _, down, up = _index_images(height, width)
    mask = valid.view(np.uint8)
    above = running_max(cv2.copyTo(down, mask))  # zero outside mask
    np.subtract(above, np.uint16(1), out=above)  # 0 (none) wraps to 65535 = int16 -1
    below = running_max(cv2.copyTo(up, mask), reverse=True)
    np.subtract(np.uint16(height), below, out=below)  # 0 (none) -> H
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


def gather_rows(image: Float32Array, rows: IntArray) -> Float32Array:
    """``image[rows[y, x], x]`` for every pixel, 0 where ``rows`` is out of range.

    Args:
        image: (H, W) float32.
        rows: (H, W) int16 row indices.
    """
    cols = _index_images(*image.shape)[0]
    # the stub wants a map2, but OpenCV takes None with a CV_16SC2 map1
    gathered: Float32Array = cv2.remap(  # type: ignore[call-overload]
        image, cv2.merge([cols, rows]), None, cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return gathered


def column_brackets(image: Float32Array) -> ColumnBrackets:
    """Bracketing values, position and distance for every pixel of a sparse image.

    A missing side takes the other side's row before the gather, so both values are equal
    there and the position, clipped to [0, 1], does not matter.

    Args:
        image: (H, W) float32, valid where > 0.
    """
    height = image.shape[0]
    above_row, below_row = bracket_rows(image > 0)
    substitute_missing(above_row, below_row)
    rows = np.arange(height, dtype=np.int16)[:, None]
    offset = np.subtract(rows, above_row)  # int16, |.| <= H
    # offset and gap are both >= 0 between two valid rows; where a side was substituted one of
    # them is the other's negative, so the distance is |min(offset, gap)|
    dist = np.abs(np.minimum(offset, np.subtract(below_row, rows))).astype(np.float32)
    span = np.subtract(below_row, above_row)
    np.maximum(span, np.int16(1), out=span)
    t = offset.astype(np.float32)
    t /= span.astype(np.float32)
    np.clip(t, np.float32(0.0), np.float32(1.0), out=t)
    return ColumnBrackets(gather_rows(image, above_row), gather_rows(image, below_row), t, dist,
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
