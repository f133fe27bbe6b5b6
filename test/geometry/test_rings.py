"""Ring estimation (KITTI scan order) and beam subsampling / held-out splits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.rings import estimate_rings, point_rings
from depth_completion_ros.io.kitti_raw import open_sequence


def synthetic_scan(n_beams: int, per_beam: int, start: float) -> np.ndarray:
    """Counter-clockwise turns that start at azimuth ``start``, one per beam, in storage order."""
    az = start + np.tile(np.linspace(0, 2 * np.pi, per_beam, endpoint=False), n_beams)
    return np.stack([np.cos(az), np.sin(az), np.zeros_like(az)], axis=1)


def test_scan_start_cut_gives_one_ring_per_turn() -> None:
    rings = estimate_rings(synthetic_scan(3, 100, start=0.15))
    np.testing.assert_array_equal(rings, np.repeat([0, 1, 2], 100))


def test_pi_cut_counts_wraps() -> None:
    rings = estimate_rings(synthetic_scan(3, 100, start=0.15), cut="pi")
    assert rings.max() == 3 and rings[0] == 0  # a turn that starts at 0.15 rad crosses pi mid-way


def test_clockwise_scan() -> None:
    rings = estimate_rings(synthetic_scan(2, 50, start=0.1)[:, [0, 1, 2]] * [1, -1, 1])
    np.testing.assert_array_equal(rings, np.repeat([0, 1], 50))


def test_empty_and_bad_cut() -> None:
    assert estimate_rings(np.zeros((0, 4))).shape == (0,)
    with pytest.raises(InputError, match="cut"):
        estimate_rings(np.zeros((3, 3)), cut="ring")


def test_kitti_scans_have_64_rings(sample_dir: Path) -> None:
    for frame in open_sequence(sample_dir):
        assert estimate_rings(frame.points).max() + 1 == 64
        assert abs(estimate_rings(frame.points, cut="pi").max() + 1 - 64) <= 1


def test_kitti_rings_drive0009(drive0009_dir: Path) -> None:
    seq = open_sequence(drive0009_dir)
    counts = [estimate_rings(seq.frame(i).points).max() + 1 for i in range(0, len(seq), 10)]
    assert counts == [64] * len(counts)


def test_rings_are_beams_with_steady_elevation(sample_dir: Path) -> None:
    """In the camera's view, one ring should be one laser: a narrow elevation band."""
    pts = open_sequence(sample_dir).frame(0).points.astype(np.float64)
    elev = np.degrees(np.arctan2(pts[:, 2], np.hypot(pts[:, 0], pts[:, 1])))
    front = np.abs(np.arctan2(pts[:, 1], pts[:, 0])) < 0.7

    def spread(rings: np.ndarray) -> float:
        return float(np.mean([np.std(elev[front & (rings == r)]) for r in np.unique(rings[front])]))

    assert spread(estimate_rings(pts)) < spread(estimate_rings(pts, cut="pi"))


def test_point_rings_prefers_the_field() -> None:
    pts = synthetic_scan(2, 10, 0.1)
    np.testing.assert_array_equal(point_rings(pts, np.arange(20) % 4), np.arange(20) % 4)
    np.testing.assert_array_equal(point_rings(pts), np.repeat([0, 1], 10))
    with pytest.raises(InputError, match="ring"):
        point_rings(pts, np.zeros(19, int))
