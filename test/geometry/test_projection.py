"""Projection: hand-computed cases, z-buffer, raw path, round trip, real-data density."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depth_completion_ros.errors import InputError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.projection import (
    project_points,
    project_to_depth,
    unproject_depth,
)
from depth_completion_ros.io.kitti_raw import open_sequence

K = np.array([[100.0, 0.0, 20.5], [0.0, 100.0, 10.5], [0.0, 0.0, 1.0]])
CAM = PinholeCamera(40, 20, K)
CROP = (slice(23, 375), slice(13, 13 + 1216))  # KITTI bottom-centre 1216x352


def test_point_straight_ahead_lands_on_principal_point() -> None:
    depth = project_to_depth(np.array([[0.0, 0.0, 7.0]]), np.eye(4), CAM)
    assert depth[10, 20] == pytest.approx(7.0)
    assert np.count_nonzero(depth) == 1


def test_pixel_is_floor_of_projection() -> None:
    # x / z * f + c = 0.5 / 5 * 100 + 20.5 = 30.5 -> column 30; y: -0.26/2*100+10.5 = -2.5 -> out
    proj = project_points(np.array([[0.5, 0.0, 5.0], [0.0, -0.26, 2.0]]), np.eye(4), CAM)
    assert proj.u.tolist() == [30] and proj.v.tolist() == [10] and proj.index.tolist() == [0]


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_zbuffer_keeps_nearest_of_two_in_one_pixel(order: list[int]) -> None:
    pts = np.array([[0.0, 0.0, 9.0], [0.0, 0.0, 4.0]])[order]
    depth = project_to_depth(pts, np.eye(4), CAM)
    assert depth[10, 20] == pytest.approx(4.0)


def test_behind_below_min_depth_nan_and_outside_are_dropped() -> None:
    pts = np.array([[0, 0, -5.0], [0, 0, 0.05], [np.nan, 0, 5], [0, np.inf, 5], [50, 0, 1.0],
                    [0, 0, 5.0]])
    proj = project_points(pts, np.eye(4), CAM)
    assert proj.index.tolist() == [5]


def test_extrinsic_is_applied_before_projection() -> None:
    T = np.eye(4)
    T[:3, 3] = [0.0, 0.0, 2.0]  # camera 2 m behind the LiDAR
    depth = project_to_depth(np.array([[0.0, 0.0, 3.0]]), T, CAM)
    assert depth[10, 20] == pytest.approx(5.0)


def test_rectified_depth_is_third_row_of_P() -> None:
    P = np.hstack([K, [[0.0], [0.0], [0.5]]])
    cam = PinholeCamera(40, 20, K, P=P)
    depth = project_to_depth(np.array([[0.0, 0.0, 3.0]]), np.eye(4), cam)
    assert depth.max() == pytest.approx(3.5)


def test_empty_cloud_gives_empty_image() -> None:
    depth = project_to_depth(np.zeros((0, 4), np.float32), np.eye(4), CAM)
    assert depth.shape == (20, 40) and depth.dtype == np.float32 and not depth.any()


@pytest.mark.parametrize("points, matrix, needle", [
    (np.zeros((5, 2)), np.eye(4), "points"),
    (np.zeros(3), np.eye(4), "points"),
    (np.array([["a", "b", "c"]]), np.eye(4), "points"),
    (np.zeros((5, 3)), np.eye(3), "lidar_to_camera"),
    (np.zeros((5, 3)), np.full((4, 4), np.nan), "lidar_to_camera"),
])
def test_bad_inputs_raise_input_error(points: np.ndarray, matrix: np.ndarray, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        project_to_depth(points, matrix, CAM)


def test_raw_path_without_distortion_equals_rectified_path() -> None:
    rng = np.random.default_rng(2)
    pts = rng.uniform([-5, -2, 1], [5, 2, 30], size=(2000, 3))
    a = project_points(pts, np.eye(4), CAM, rectified=True)
    b = project_points(pts, np.eye(4), CAM, rectified=False)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.u, b.u)


def test_raw_path_plumb_bob_hand_value() -> None:
    cam = PinholeCamera(400, 200, K, D=np.array([0.1, 0, 0, 0, 0]))
    # x/z = 0.5, r^2 = 0.25, factor 1.025 -> 100 * 0.5125 + 20.5 = 71.75
    assert project_points(np.array([[1.0, 0, 2.0]]), np.eye(4), cam, rectified=False).u[0] == 71


def test_raw_path_equidistant_hand_value() -> None:
    cam = PinholeCamera(400, 200, K, D=np.zeros(4), distortion_model="equidistant")
    # theta = atan(1) = 0.785398 -> 100 * 0.785398 + 20.5 = 99.04
    assert project_points(np.array([[1.0, 0, 1.0]]), np.eye(4), cam, rectified=False).u[0] == 99


def test_project_then_unproject_round_trip() -> None:
    rng = np.random.default_rng(3)
    pts = rng.uniform([-4, -2, 2], [4, 2, 40], size=(300, 3))
    proj = project_points(pts, np.eye(4), CAM)
    depth = project_to_depth(pts, np.eye(4), CAM)
    xyz = unproject_depth(depth, K)
    back = xyz[proj.v, proj.u]
    won = depth[proj.v, proj.u] == proj.depth  # the points that won their pixel
    z = pts[proj.index[won], 2]
    np.testing.assert_allclose(back[won, 2], z, rtol=1e-6)
    # pixel centre vs the true position: at most half a pixel at that depth
    assert np.all(np.abs(back[won, :2] - pts[proj.index[won], :2]) <= 0.5 * z[:, None] / 100 + 1e-5)
    # re-projecting the unprojected points lands in the same pixels with the same depths
    again = project_to_depth(back[won].astype(np.float64), np.eye(4), CAM)
    np.testing.assert_allclose(again[proj.v[won], proj.u[won]], depth[proj.v[won], proj.u[won]])
    assert np.isnan(xyz[depth == 0]).all()


def _densities(root: Path) -> list[float]:
    seq = open_sequence(root)
    cam = seq.calibration.camera(2, 1242, 375)
    out = []
    for frame in seq:
        depth = project_to_depth(frame.points, seq.calibration.lidar_to_camera(), cam)
        out.append(100.0 * np.count_nonzero(depth[CROP]) / depth[CROP].size)
    return out


def test_density_in_kitti_crop_embedded_sample(sample_dir: Path) -> None:
    dens = _densities(sample_dir)
    assert len(dens) == 4 and all(3.3 <= d <= 4.8 for d in dens), dens


def test_density_in_kitti_crop_seq16(seq16_dir: Path) -> None:
    dens = _densities(seq16_dir)  # 3.50-3.75 % to two decimals (min is 3.498 %)
    assert len(dens) == 16 and all(3.495 <= d < 3.755 for d in dens), dens


def test_density_in_kitti_crop_drive0009(drive0009_dir: Path) -> None:
    dens = _densities(drive0009_dir)
    assert len(dens) == 51 and all(3.805 <= d < 4.515 for d in dens), dens


def test_raw_path_rational_polynomial_reduces_to_plumb_bob() -> None:
    rng = np.random.default_rng(4)
    pts = rng.uniform([-2, -1, 2], [2, 1, 20], size=(500, 3))
    plumb = PinholeCamera(400, 200, K, D=np.array([0.1, -0.02, 0, 0, 0]))
    rational = PinholeCamera(400, 200, K, D=np.array([0.1, -0.02, 0, 0, 0, 0, 0, 0]),
                             distortion_model="rational_polynomial")
    a = project_points(pts, np.eye(4), plumb, rectified=False)
    b = project_points(pts, np.eye(4), rational, rectified=False)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.index, b.index)


def test_raw_path_drops_nan_and_empty() -> None:
    cam = PinholeCamera(40, 20, K, D=np.zeros(5))
    proj = project_points(np.array([[np.nan, 0, 5], [0, 0, 5.0]]), np.eye(4), cam, rectified=False)
    assert proj.index.tolist() == [1] and proj.u.tolist() == [20]
    assert project_to_depth(np.zeros((0, 3)), np.eye(4), cam, rectified=False).sum() == 0


def test_raw_path_drops_points_folded_back_by_distortion() -> None:
    """KITTI's raw camera 2: a point 56 degrees off-axis would fold back into the image."""
    K2 = np.array([[959.791, 0, 696.0217], [0, 956.9251, 224.1806], [0, 0, 1]])
    cam = PinholeCamera(1392, 512, K2, D=np.array([-0.3691481, 0.1968681, 0.00135, 0.00057,
                                                   -0.0677070]))
    folded = np.array([[1.5, 0.0, 1.0]])  # normalised radius 1.5
    img, _ = cv2.projectPoints(folded, np.zeros(3), np.zeros(3), K2, cam.D)
    assert 0 <= img[0, 0, 0] < 1392  # OpenCV alone puts it inside the image
    assert len(project_points(folded, np.eye(4), cam, rectified=False).u) == 0
    edge = np.array([[0.6, 0.0, 1.0]])  # inside the field of view: kept
    assert len(project_points(edge, np.eye(4), cam, rectified=False).u) == 1


@pytest.mark.parametrize("per_pixel", [1, 3, 40])
def test_zbuffer_keeps_the_nearest_point_whatever_the_order(per_pixel):
    # 40 points in one pixel, written far to near and shuffled, exceed the write-again rounds
    # and take the sorted path; the result is the per-pixel minimum either way
    from depth_completion_ros.geometry.projection import ProjectedPoints, zbuffer

    rng = np.random.default_rng(per_pixel)
    u = np.repeat(rng.integers(0, 50, 200), per_pixel)
    v = np.repeat(rng.integers(0, 30, 200), per_pixel)
    depth = rng.uniform(1, 80, u.size).astype(np.float32)
    for order in (np.argsort(-depth), rng.permutation(u.size)):
        got = zbuffer(ProjectedPoints(u[order], v[order], depth[order], order), 30, 50)
        expected = np.full(30 * 50, np.inf, np.float32)
        np.minimum.at(expected, v * 50 + u, depth)
        expected[np.isinf(expected)] = 0
        np.testing.assert_array_equal(got, expected.reshape(30, 50))
