"""Vectorised per-column interpolation for the classical model (numpy + OpenCV, no row loops).

Each column of a sparse image is filled between its nearest valid pixel above and below. The row
of that pixel comes from a running max (min) of row indices, computed as a log-step doubling scan
(Hillis-Steele: ``ceil(log2(H))`` whole-array ``np.maximum`` calls on uint16, much faster than
``np.maximum.accumulate`` along axis 0); the values are gathered with one ``cv2.remap``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


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
    """

    above: np.ndarray
    below: np.ndarray
    t: np.ndarray
    dist: np.ndarray


def running_max(values: np.ndarray) -> np.ndarray:
    """Running maximum down axis 0 (``np.maximum.accumulate(values, axis=0)``), by doubling scan.

    Args:
        values: (H, W) array of a numpy integer or float dtype.

    Returns:
        (H, W) array, same dtype; row ``y`` holds the max of rows ``0..y``.
    """
    current, spare = values.copy(), np.empty_like(values)
    step = 1
    while step < current.shape[0]:
        spare[:step] = current[:step]
        np.maximum(current[step:], current[:-step], out=spare[step:])
        current, spare = spare, current
        step *= 2
    return current


def bracket_rows(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each column's nearest valid pixel above and below every pixel.

    Args:
        valid: (H, W) bool, H < 65535.

    Returns:
        (above, below), (H, W) float32 rows; -1 where no valid pixel above, H where none below.
    """
    height = valid.shape[0]
    rows = np.arange(1, height + 1, dtype=np.uint16)[:, None]
    above = running_max(np.where(valid, rows, np.uint16(0))).astype(np.float32)
    above -= np.float32(1.0)
    flipped = np.where(valid[::-1], rows, np.uint16(0))  # row y -> 1-based index from the bottom
    below = running_max(flipped)[::-1].astype(np.float32)
    np.subtract(np.float32(height), below, out=below)
    return above, below


@lru_cache(maxsize=4)
def _column_map(height: int, width: int) -> np.ndarray:
    """(height, width) float32 x coordinates for ``cv2.remap`` (cached, read-only)."""
    cols = np.ascontiguousarray(np.broadcast_to(np.arange(width, dtype=np.float32),
                                                (height, width)))
    cols.flags.writeable = False
    return cols


def gather_rows(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``image[rows[y, x], x]`` for every pixel, 0 where ``rows`` is out of range.

    Args:
        image: (H, W) float32.
        rows: (H, W) float32 integer-valued row indices.
    """
    return cv2.remap(image, _column_map(*image.shape), rows, cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def column_brackets(image: np.ndarray) -> ColumnBrackets:
    """Bracketing values, position and distance for every pixel of a sparse image.

    A missing side takes the other side's row before the gather, so both values are equal
    there and the position, clipped to [0, 1], does not matter.

    Args:
        image: (H, W) float32, valid where > 0.
    """
    height = image.shape[0]
    above_row, below_row = bracket_rows(image > 0)
    no_above, no_below = above_row < 0, below_row >= height
    np.copyto(above_row, below_row, where=no_above)
    np.copyto(below_row, above_row, where=no_below)
    rows = np.arange(height, dtype=np.float32)[:, None]
    t = np.subtract(rows, above_row)
    dist = np.abs(t)
    span = np.subtract(below_row, above_row)
    np.maximum(span, np.float32(1.0), out=span)
    t /= span
    np.clip(t, np.float32(0.0), np.float32(1.0), out=t)
    np.subtract(below_row, rows, out=span)
    np.minimum(dist, np.abs(span, out=span), out=dist)
    return ColumnBrackets(gather_rows(image, above_row), gather_rows(image, below_row), t, dist)
