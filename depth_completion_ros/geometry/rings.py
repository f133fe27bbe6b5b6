"""Ring (beam) index of LiDAR points (which rings a model gets: :mod:`.beams`).

A cloud that carries a ``ring`` field (PointCloud2 from most drivers) uses it. A KITTI ``.bin``
scan has none, but it is stored beam after beam, each beam one full turn of the azimuth
``atan2(y, x)``, so the ring is the count of completed turns in storage order.
"""
from __future__ import annotations

import numpy as np

from depth_completion_ros.arrays import Array, IntArray
from depth_completion_ros.checks import check_points
from depth_completion_ros.errors import InputError

#: Margin (radians) before the first point's azimuth at which a new turn (beam) begins.
SEAM_MARGIN = 0.05


def estimate_rings(points: Array, *, cut: str = "scan_start") -> IntArray:
    """Ring (beam) per point from the azimuth in scan order.

    KITTI stores each beam as one full turn that starts and ends near the forward direction (the
    first point's azimuth, about +0.1 rad), not at +-pi. ``cut="scan_start"`` counts completed turns
    of the unwrapped azimuth from the first point (minus ``SEAM_MARGIN``), so each ring is one
    beam: 64 on KITTI. ``cut="pi"`` is the plain count of ``|delta atan2(y, x)| > pi`` jumps (65
    on KITTI: its rings join the end of beam k and the start of beam k + 1 in front of the car).

    Args:
        points: (N, >=3) x, y, z in the LiDAR frame, in the sensor's storage order.
        cut: ``"scan_start"`` or ``"pi"``.

    Returns:
        (N,) int32 ring, 0 for the first point.

    Example:
        >>> pts = np.array([[-1.0, 0.1, 0], [1, 0, 0], [-1, -0.1, 0], [-1, 0.1, 0]])
        >>> estimate_rings(pts, cut="pi").tolist()  # azimuth 3.04, 0, -3.04, then back to 3.04
        [0, 0, 0, 1]
    """
    xyz = check_points(points).astype(np.float64)
    if cut not in ("scan_start", "pi"):
        raise InputError(f"cut: expected 'scan_start' or 'pi', got {cut!r}")
    if len(xyz) == 0:
        return np.zeros(0, np.int32)
    azimuth = np.arctan2(xyz[:, 1], xyz[:, 0])
    if cut == "pi":
        wraps = np.abs(np.diff(azimuth)) > np.pi
        return np.concatenate([[0], np.cumsum(wraps)]).astype(np.int32)
    turn = np.unwrap(azimuth) - azimuth[0]
    if turn[-1] < 0:  # clockwise sensor
        turn = -turn
    rings: IntArray = np.maximum(np.floor((turn + SEAM_MARGIN) / (2 * np.pi)), 0).astype(np.int32)
    return rings


def point_rings(points: Array, ring: Array | None = None) -> IntArray:
    """The ring field when given (checked against the cloud), else :func:`estimate_rings`.

    Raises:
        InputError: ``ring`` does not have one non-negative integer per point.
    """
    if ring is None:
        return estimate_rings(points)
    ring = np.asarray(ring)
    n = len(check_points(points))
    if ring.shape != (n,) or not np.issubdtype(ring.dtype, np.integer) or (ring < 0).any():
        raise InputError(f"ring: expected ({n},) non-negative integers, got shape {ring.shape} "
                         f"dtype {ring.dtype}")
    return ring.astype(np.int32)
