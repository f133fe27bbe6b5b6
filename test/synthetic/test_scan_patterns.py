"""Any LiDAR pattern: the classical model tells ring scans from scattered ones and never loses to
nearest-measurement fill, on synthetic rosette and raster-grid scans (dense analytic truth
everywhere the camera sees the scene) and on random subsets of real KITTI scans (the other
measured pixels scored)."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models.classical import ClassicalConfig, complete
from depth_completion_ros.models.nearest import nearest_fill
from depth_completion_ros.models.scan_pattern import detect_pattern


def rmse(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    err = pred[mask] - truth[mask]
    assert np.isfinite(err).all()
    return float(np.sqrt(np.mean(err ** 2)))


def directions(azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                     np.sin(elevation)], axis=1)


def rosette(points: int) -> np.ndarray:
    """Directions of a rose-curve scan (a Livox-like non-repetitive pattern), 80 x 40 degrees."""
    theta = np.linspace(0.0, 2 * np.pi * 50, points)
    rho = np.cos(7.3 * theta)
    return directions(np.radians(40) * rho * np.cos(theta),
                      np.radians(20) * rho * np.sin(theta) - np.radians(5))


def raster(step_deg: float) -> np.ndarray:
    """Directions of a regular grid (flash / raster solid-state LiDAR)."""
    az, el = np.meshgrid(np.radians(np.arange(-45, 45, step_deg)),
                         np.radians(np.arange(-25, 10, step_deg)))
    return directions(az.ravel(), el.ravel())


@pytest.fixture(scope="module")
def view(scene):
    camera = scene.make_camera(640, 360, f=400.0)
    transform = scene.lidar_to_camera()
    truth, _ = scene.gt_depth(camera, transform)
    return scene, camera, transform, truth


def scan_image(view, dirs: np.ndarray) -> np.ndarray:
    scene, camera, transform, _ = view
    t, _ = scene.raycast(np.zeros(3), dirs)
    hit = np.isfinite(t)
    return project_to_depth((dirs[hit] * t[hit, None]).astype(np.float32), transform, camera)


@pytest.mark.parametrize("name", ["rosette 20k", "rosette 60k", "raster 0.3", "raster 0.6"])
def test_scattered_scans_are_detected_and_beat_nearest(view, name):
    kind, size = name.split()
    dirs = rosette(int(size[:-1]) * 1000) if kind == "rosette" else raster(float(size))
    sparse = scan_image(view, dirs)
    truth = view[3]
    assert not detect_pattern(sparse > 0).rings
    scored = (truth > 0) & (sparse == 0)
    ours = rmse(complete(sparse)[0], truth, scored)
    assert ours < rmse(nearest_fill(sparse)[0], truth, scored)
    # the beam-aware fill alone is what lost here
    assert ours < rmse(complete(sparse, ClassicalConfig(pattern="rings"))[0], truth, scored)


def test_ring_scans_keep_the_beam_aware_fill(view):
    scene = view[0]
    scan = scene.spin_scan(scene.HDL32)
    sparse = project_to_depth(scan.points, view[2], view[1])
    assert detect_pattern(sparse > 0).rings
    np.testing.assert_array_equal(complete(sparse)[0],
                                  complete(sparse, ClassicalConfig(pattern="rings"))[0])


@pytest.mark.parametrize("fraction", [0.5, 0.2])
def test_random_subsets_of_real_scans_beat_nearest(sample_dir, fraction):
    # mean RMSE over the 4 frames (one frame of a 20 % draw may go either way by < 2 %)
    rng = np.random.default_rng(7)
    ours, nearest = [], []
    for frame in open_sequence(sample_dir):
        camera = frame.calibration.camera(2, frame.image.shape[1], frame.image.shape[0])
        full = project_to_depth(frame.points, frame.calibration.lidar_to_camera(), camera)
        measured = full > 0
        keep = measured & (rng.random(full.shape) < fraction)
        sparse = np.where(keep, full, 0).astype(np.float32)
        scored = measured & ~keep
        assert detect_pattern(keep).rings
        ours.append(rmse(complete(sparse)[0], full, scored))
        nearest.append(rmse(nearest_fill(sparse)[0], full, scored))
    assert np.mean(ours) < 0.97 * np.mean(nearest)
