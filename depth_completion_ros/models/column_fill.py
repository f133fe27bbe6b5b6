"""Vectorised per-column interpolation for the classical model (numpy + OpenCV, no row loops).

Each column of a sparse image is filled between its nearest valid pixel above and below. The row
of that pixel comes from a running max (min) of row indices, computed as a log-step doubling scan
(Hillis-Steele: ``ceil(log2(H))`` whole-array ``np.maximum`` calls on uint16, much faster than
``np.maximum.accumulate`` along axis 0); the values are gathered with one ``cv2.remap``.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ColumnBrackets:
    """For every pixel, its column's nearest valid pixels above (row <= y) and below (row >= y).

    All arrays are (H, W) float32. A missing side copies the other one; in all-empty columns
    both values are 0.

    Attributes:
        above: value of the nearest valid pixel above (inclusive).
        below: value of the nearest valid pixel below (inclusive).
        t: position between them, 0 at the upper one, 1 at the lower one (0 if a side is missing).
        dist: pixel distance to the nearer of the two (``H`` in all-empty columns).
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
    above -= 1.0
    flipped = np.where(valid[::-1], rows, np.uint16(0))  # row y -> 1-based index from the bottom
    below = running_max(flipped)[::-1].astype(np.float32)
    np.subtract(np.float32(height), below, out=below)
    return above, below


def gather_rows(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``image[rows[y, x], x]`` for every pixel, 0 where ``rows`` is out of range.

    Args:
        image: (H, W) float32.
        rows: (H, W) float32 integer-valued row indices.
    """
    cols = np.broadcast_to(np.arange(image.shape[1], dtype=np.float32), image.shape)
    return cv2.remap(image, np.ascontiguousarray(cols), rows, cv2.INTER_NEAREST,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def column_brackets(image: np.ndarray) -> ColumnBrackets:
    """Bracketing values, position and distance for every pixel of a sparse image.

    Args:
        image: (H, W) float32, valid where > 0.
    """
    height = image.shape[0]
    above_row, below_row = bracket_rows(image > 0)
    above, below = gather_rows(image, above_row), gather_rows(image, below_row)
    has_above, has_below = above_row >= 0, below_row < height
    rows = np.arange(height, dtype=np.float32)[:, None]
    dist = np.minimum(np.where(has_above, rows - above_row, np.float32(height)), below_row - rows)
    t = (rows - above_row) / np.maximum(below_row - above_row, np.float32(1))
    both = has_above & has_below
    t[~both] = 0.0
    np.copyto(above, below, where=~has_above)
    np.copyto(below, above, where=~has_below)
    return ColumnBrackets(above, below, t, dist)
