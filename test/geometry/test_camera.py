"""PinholeCamera: CameraInfo fields, validation, crop / scale consistency."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.errors import CalibrationError
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.projection import project_points

K = [[700.0, 0.0, 600.5], [0.0, 710.0, 170.25], [0.0, 0.0, 1.0]]
P = [[700.0, 0.0, 600.5, 45.0], [0.0, 710.0, 170.25, 0.2], [0.0, 0.0, 1.0, 0.003]]


def make_camera() -> PinholeCamera:
    return PinholeCamera(1242, 375, np.array(K), np.zeros(5), np.eye(3), np.array(P))


def test_from_camera_info_reshapes_flat_fields() -> None:
    cam = PinholeCamera.from_camera_info(1242, 375, np.ravel(K), [0.0] * 5, np.eye(3).ravel(),
                                         np.ravel(P), "plumb_bob")
    np.testing.assert_array_equal(cam.K, K)
    np.testing.assert_array_equal(cam.P, P)
    np.testing.assert_array_equal(cam.intrinsics(), np.array(P)[:, :3])
    np.testing.assert_array_equal(cam.intrinsics(rectified=False), K)


def test_crop_shifts_principal_point_in_K_and_P() -> None:
    cam = make_camera().crop(13, 23, 1216, 352)
    assert (cam.width, cam.height) == (1216, 352)
    assert cam.K[0, 2] == pytest.approx(600.5 - 13) and cam.K[1, 2] == pytest.approx(170.25 - 23)
    # P row 0 -= x0 * row 2: the baseline column follows too
    assert cam.P[0, 3] == pytest.approx(45.0 - 13 * 0.003)
    assert cam.P[1, 3] == pytest.approx(0.2 - 23 * 0.003)


def test_scale_multiplies_focal_and_principal_point() -> None:
    cam = make_camera().scale(0.5, 0.25)
    np.testing.assert_allclose(cam.K[0], [350.0, 0.0, 300.25])
    np.testing.assert_allclose(cam.K[1], [0.0, 177.5, 42.5625])
    np.testing.assert_allclose(cam.P[0, 3], 22.5)
    assert (cam.width, cam.height) == (621, 94)


def test_crop_projection_equals_crop_of_projection() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform([-20, -3, 1], [20, 3, 60], size=(5000, 3))
    full, crop = make_camera(), make_camera().crop(13, 23, 1216, 352)
    a = project_points(pts, np.eye(4), full)
    b = project_points(pts, np.eye(4), crop)
    inside = (a.u >= 13) & (a.u < 13 + 1216) & (a.v >= 23)
    np.testing.assert_array_equal(b.index, a.index[inside])
    np.testing.assert_array_equal(b.u, a.u[inside] - 13)
    np.testing.assert_array_equal(b.v, a.v[inside] - 23)


def test_scale_projection_lands_in_scaled_pixel() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform([-20, -3, 1], [20, 3, 60], size=(3000, 3))
    cam = make_camera()
    x = (pts @ np.array(P)[0, :3] + 45.0) / (pts[:, 2] + 0.003)
    a = project_points(pts, np.eye(4), cam.scale(2.0))
    np.testing.assert_array_equal(a.u, np.floor(2.0 * x[a.index]).astype(int))


@pytest.mark.parametrize("kwargs, needle", [
    ({"K": np.zeros((3, 3))}, "field K"),
    ({"P": np.zeros((3, 4))}, "field P"),
    ({"K": np.ones(8)}, "field K"),
    ({"K": np.full((3, 3), np.nan)}, "non-finite"),
    ({"distortion_model": "fisheye62"}, "distortion_model"),
    ({"D": np.zeros(3)}, "field D"),
    ({"width": 0}, "width"),
])
def test_bad_camera_raises_calibration_error(kwargs: dict, needle: str) -> None:
    fields = {"width": 10, "height": 10, "K": np.array(K), "D": np.zeros(5), "R": np.eye(3),
              "P": np.array(P), "distortion_model": "plumb_bob"} | kwargs
    with pytest.raises(CalibrationError, match=needle):
        PinholeCamera(**fields)


def test_bad_crop_raises() -> None:
    with pytest.raises(CalibrationError, match="crop"):
        make_camera().crop(100, 0, 1200, 10)


def test_equality_and_hash_compare_values() -> None:
    a, b = make_camera(), make_camera()
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != a.crop(0, 0, 100, 100) and a != "camera"
