"""Does a sparse depth image come from a ring (spinning, beam-per-row) LiDAR or not?

A spinning LiDAR's beams are near-horizontal lines of closely spaced samples, with empty rows
between beams; solid-state, raster-grid and rosette patterns (and any scattered sampling) have
no such lines: a measured pixel is about as likely to have a measured neighbour above or below
it as to its left or right. The test, on a sample of the measured pixels:

1. the neighbourhood ``k``: the smallest ``k`` in 1..``max_gap`` at which at least
   ``min_share`` of the measured pixels have another measured pixel within ``k`` pixels in
   their row (the along-beam spacing; none: too sparse along rows, so no lines: scattered);
2. rings when the share with a measured pixel within ``k`` pixels in their *column* is at most
   ``1 / anisotropy`` of the row share.

Measured on the shared KITTI frames (64 lines, held-out 32 / 16 lines in, random 50 % / 20 %
subsets): rings; synthetic rosette and raster-grid scans: scattered (test/synthetic).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_completion_ros.arrays import BoolArray, FloatArray, IntArray


@dataclass(frozen=True)
class ScanPattern:
    """The test's result.

    Attributes:
        rings: the scan has ring (beam-per-row) structure.
        gap_px: the neighbourhood used (0 when no ``k`` qualified).
        row_share, column_share: shares of measured pixels with a neighbour within ``gap_px``
            in their row / column.
    """

    rings: bool
    gap_px: int
    row_share: float
    column_share: float


def _shares(valid_flat: BoolArray, idx: IntArray, step: int, max_gap: int) -> FloatArray:
    """For k = 1..``max_gap``: the share of ``idx`` with a measured pixel within ``k`` steps of
    ``step`` (flat offsets, clipped to the image), all from one gather."""
    size = valid_flat.size
    offsets = np.arange(1, max_gap + 1) * step
    near = (valid_flat[np.clip(idx[:, None] + offsets, 0, size - 1)]
            | valid_flat[np.clip(idx[:, None] - offsets, 0, size - 1)])
    within: FloatArray = np.logical_or.accumulate(near, axis=1).mean(axis=0)
    return within


def detect_pattern(valid: BoolArray, measured: IntArray | None = None, *, max_gap: int = 4,
                   min_share: float = 0.25, anisotropy: float = 3.0, sample: int = 1000,
                   ) -> ScanPattern:
    """Ring structure or not (module docstring) of an (H, W) mask of measured pixels.

    Args:
        valid: (H, W) bool, measured pixels.
        measured: flat indices of ``valid``'s True pixels, when known (else computed).
        max_gap, min_share, anisotropy: see the module docstring.
        sample: at most this many measured pixels are tested (evenly spaced, deterministic).

    Example:
        >>> rows = np.zeros((20, 40), bool); rows[::5, :] = True  # 4 beams
        >>> detect_pattern(rows).rings
        True
        >>> grid = np.zeros((20, 40), bool); grid[::3, ::3] = True  # a raster grid
        >>> detect_pattern(grid).rings
        False
    """
    width = valid.shape[1]
    flat = valid.reshape(-1)
    idx = np.flatnonzero(flat) if measured is None else measured
    if idx.size == 0:
        return ScanPattern(False, 0, 0.0, 0.0)
    idx = idx[:: max(1, idx.size // sample)]
    rows, columns = _shares(flat, idx, 1, max_gap), _shares(flat, idx, width, max_gap)
    for k in range(1, max_gap + 1):
        row, column = float(rows[k - 1]), float(columns[k - 1])
        if row >= min_share:
            return ScanPattern(column * anisotropy <= row, k, row, column)
    return ScanPattern(False, 0, float(rows[-1]), float(columns[-1]))
