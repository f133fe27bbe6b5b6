"""The one beam split: which LiDAR rings a model gets, and which it is scored on, per line count.

Used by the evaluation (held-out beams, line sweeps) and by training (density subsampling,
self-supervision on held-out beams), so both split scans by exactly the same rule.

Input rings for ``lines`` of a 64-beam LiDAR: ``ring % (64 // lines) == 0`` (64 -> all, 32 ->
even rings, 16 -> every 4th, 8 -> every 8th, 4 -> every 16th); 0 lines = no LiDAR (dropout).

Held-out beams (no ground truth needed): the hidden rings sit halfway between input rings,
``ring % step == step // 2``, which is exactly the held-out protocol of
:mod:`depth_completion_ros.evaluation.heldout` for 32 lines (input even, hidden odd) and 16 lines
(input ``% 4 == 0``, hidden ``% 4 == 2``), extended the same way to 8 lines (``% 8 == 0`` /
``% 8 == 4``) and 4 lines (``% 16 == 0`` / ``% 16 == 8``). With 0 lines every ring is hidden
(nothing to hide it from). 64 lines cannot be scored on held-out beams (no beam is left over):
use ``--gt`` for that.
"""
from __future__ import annotations

import numpy as np

from depth_completion_ros.arrays import BoolArray, IntArray
from depth_completion_ros.errors import InputError

#: Line counts of the sweep, most first.
SWEEP_LINES: tuple[int, ...] = (64, 32, 16, 8, 4, 0)
TOTAL_LINES = 64


def ring_step(lines: int) -> int:
    """Ring stride of ``lines`` input lines out of 64 (``lines`` in 64 / 32 / 16 / 8 / 4)."""
    if lines not in SWEEP_LINES or lines == 0:
        raise InputError(f"lines must be one of {SWEEP_LINES[:-1]} (or 0 = no LiDAR), got {lines}")
    return TOTAL_LINES // lines


def input_mask(rings: IntArray, lines: int) -> BoolArray:
    """(N,) bool mask of the points a model gets with ``lines`` lines (all False for 0)."""
    rings = np.asarray(rings)
    if lines == 0:
        return np.zeros(rings.shape, bool)
    return np.asarray(rings % ring_step(lines) == 0, dtype=bool)


def heldout_mask(rings: IntArray, lines: int) -> BoolArray:
    """(N,) bool mask of the held-out (scored) points for ``lines`` input lines.

    Raises:
        InputError: ``lines == 64`` (no beam left to hold out) or an unknown line count.
    """
    rings = np.asarray(rings)
    if lines == 0:
        return np.ones(rings.shape, bool)
    if lines == TOTAL_LINES:
        raise InputError("held-out beams with 64 input lines is impossible (no beam is left "
                         "over): use --gt, or 32 / 16 / 8 / 4 / 0 lines")
    step = ring_step(lines)
    return np.asarray(rings % step == step // 2, dtype=bool)


def sweep_lines(requested: int | None, heldout: bool) -> tuple[int, ...]:
    """Line counts to evaluate: the requested one, else the whole sweep (without 64 when
    scoring on held-out beams)."""
    if requested is not None:
        if requested != 0:
            ring_step(requested)
        if heldout and requested == TOTAL_LINES:
            heldout_mask(np.zeros(1, int), TOTAL_LINES)  # raises with the reason
        return (requested,)
    return tuple(n for n in SWEEP_LINES if not (heldout and n == TOTAL_LINES))
