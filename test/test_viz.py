"""Colour maps and LiDAR overlays; alignment of projected LiDAR with image edges on real data."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.projection import project_points, project_to_depth
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.viz import colorize, colorize_depth, colormap_lut, overlay_points


def test_colorize_fixed_range_and_nan_black() -> None:
    lut = colormap_lut()
    out = colorize(np.array([[-5.0, 0.0, 5.0, 10.0, 99.0, np.nan]]), 0.0, 10.0)
    assert out.shape == (1, 6, 3) and out.dtype == np.uint8
    assert out[0, 0].tolist() == out[0, 1].tolist() == lut[0].tolist()  # clipped below
    assert out[0, 2].tolist() == lut[128].tolist()  # 5 / 10 * 255 = 127.5 -> 128
    assert out[0, 3].tolist() == out[0, 4].tolist() == lut[255].tolist()
    assert out[0, 5].tolist() == [0, 0, 0]
    assert colorize(np.zeros((1, 1)), 0, 1, zero_is_invalid=True)[0, 0].tolist() == [0, 0, 0]
    bgr = colorize(np.array([[10.0]]), 0.0, 10.0, rgb=False)
    assert bgr[0, 0].tolist() == lut[255, ::-1].tolist()


def test_lut_matches_opencv_colormap() -> None:
    grey = np.array([[0, 100, 255]], np.uint8)
    np.testing.assert_array_equal(colormap_lut(cv2.COLORMAP_JET)[grey[0]],
                                  cv2.applyColorMap(grey, cv2.COLORMAP_JET)[0, :, ::-1])


@pytest.mark.parametrize("call", [
    lambda: colorize(np.zeros((2, 2)), 1.0, 1.0),
    lambda: colorize(np.zeros((2, 2, 2)), 0.0, 1.0),
    lambda: overlay_points(np.zeros((2, 2), np.uint8), [0], [0], [1.0]),
    lambda: overlay_points(np.zeros((2, 2, 3), np.uint8), [0], [0, 1], [1.0]),
])
def test_bad_viz_inputs(call) -> None:
    with pytest.raises(InputError):
        call()


def test_overlay_nearest_on_top_and_radius() -> None:
    rgb = np.full((5, 5, 3), 7, np.uint8)
    out = overlay_points(rgb, np.array([2, 2]), np.array([2, 2]), np.array([80.0, 0.0]), radius=1)
    lut = colormap_lut()
    assert out[2, 2].tolist() == lut[0].tolist()  # the 0 m point drawn last
    assert (out[1:4, 1:4] == lut[0]).all() and (out[0] == 7).all() and (rgb == 7).all()


def test_overlay_changes_exactly_the_projected_pixels(sample_dir: Path) -> None:
    seq = open_sequence(sample_dir)
    frame = seq.frame(0)
    cam = seq.calibration.camera(2, 1242, 375)
    sparse = project_to_depth(frame.points, seq.calibration.lidar_to_camera(), cam)
    v, u = np.nonzero(sparse > 0)
    out = overlay_points(frame.image, u, v, sparse[v, u], radius=0)
    changed = np.any(out != frame.image, axis=2)
    hit = sparse > 0
    assert not changed[~hit].any()
    expected = colormap_lut()[np.clip(np.round(sparse[hit] * 255 / 80), 0, 255).astype(int)]
    np.testing.assert_array_equal(out[hit], expected)


def edge_score(image: np.ndarray, depth: np.ndarray) -> float:
    """Mean image gradient between horizontally adjacent LiDAR pixels whose depth jumps > 30 %."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    v, u = np.nonzero(depth > 0)  # row-major: sorted by row, then column
    z = depth[v, u]
    pairs = (v[1:] == v[:-1]) & (u[1:] - u[:-1] <= 4)
    jumps = np.flatnonzero(pairs & (np.abs(z[1:] - z[:-1]) > 0.3 * np.minimum(z[1:], z[:-1])))
    return float(np.mean([grad[v[i], u[i]:u[i + 1] + 1].max() for i in jumps]))


def test_lidar_depth_edges_align_with_image_edges(sample_dir: Path) -> None:
    """Shifting the projection by 3 px sideways must weaken the depth-edge / image-edge match."""
    seq = open_sequence(sample_dir)
    cam, T = seq.calibration.camera(2, 1242, 375), seq.calibration.lidar_to_camera()
    for frame in seq:
        scores = {}
        for shift in (-3, 0, 3):
            P = cam.P + shift * np.outer([1.0, 0.0, 0.0], cam.P[2])
            moved = PinholeCamera(cam.width, cam.height, P[:, :3], P=P)
            scores[shift] = edge_score(frame.image, project_to_depth(frame.points, T, moved))
        assert scores[0] > 1.05 * max(scores[-3], scores[3]), scores


def test_project_points_feed_overlay(sample_dir: Path) -> None:
    seq = open_sequence(sample_dir)
    frame = seq.frame(1)
    proj = project_points(frame.points, seq.calibration.lidar_to_camera(),
                          seq.calibration.camera(2, 1242, 375))
    out = overlay_points(frame.image, proj.u, proj.v, proj.depth, radius=0)
    assert np.any(out != frame.image, axis=2).sum() == len(np.unique(proj.v * 1242 + proj.u))


def test_colorize_depth_near_warm_fixed_range_black_nan():
    depth = np.array([[0.0, 40.0, 80.0, np.nan]], np.float32)
    bgr = colorize_depth(depth, 0.0, 80.0)
    expected = cv2.applyColorMap(np.array([[255, 128, 0]], np.uint8), cv2.COLORMAP_TURBO)
    np.testing.assert_array_equal(bgr[0, :3], expected[0])
    np.testing.assert_array_equal(bgr[0, 3], [0, 0, 0])
