"""Augmentations keep the geometry: a crop moves the principal point, a flip mirrors it, colour
jitter touches RGB only; checked by projecting real points with the package's projection."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.training.augment import (
    Sample,
    approach,
    augment,
    crop,
    flip,
    jitter_colour,
    random_crop,
    scale,
)

WIDTH, HEIGHT = 160, 96


def camera(K: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> PinholeCamera:
    P = np.hstack([K, np.zeros((3, 1))])
    return PinholeCamera.from_camera_info(width, height, K.ravel(), [], np.eye(3).ravel(),
                                          P.ravel())


@pytest.fixture()
def points() -> np.ndarray:
    rng = np.random.default_rng(4)
    z = rng.uniform(2, 40, 4000)
    xy = rng.uniform(-1, 1, (4000, 2)) * z[:, None] * 0.8
    return np.column_stack([xy, z])  # camera frame: lidar_to_camera = identity


@pytest.fixture()
def sample(points: np.ndarray) -> Sample:
    K = np.array([[90.0, 0, 83.3], [0, 90.0, 45.7], [0, 0, 1]])
    depth = project_to_depth(points, np.eye(4), camera(K))
    rgb = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    return Sample(rgb, depth, depth * 2, K, 32)


def test_flip_mirrors_the_principal_point(sample: Sample, points: np.ndarray):
    flipped = flip(sample)
    assert flipped.K[0, 2] == pytest.approx(WIDTH - 83.3) and flipped.K[1, 2] == 45.7
    mirrored = points * [-1, 1, 1]
    assert np.array_equal(project_to_depth(mirrored, np.eye(4), camera(flipped.K)),
                          flipped.sparse)
    assert np.array_equal(flipped.rgb, sample.rgb[:, ::-1])
    assert np.array_equal(flip(flipped).K, sample.K)


def test_crop_moves_the_principal_point(sample: Sample, points: np.ndarray):
    cut_ = crop(sample, 30, 20, 100, 64)
    assert cut_.K[:2, 2].tolist() == pytest.approx([83.3 - 30, 45.7 - 20])
    assert np.array_equal(project_to_depth(points, np.eye(4), camera(cut_.K, 100, 64)),
                          cut_.sparse)
    assert np.array_equal(cut_.target, sample.target[20:84, 30:130])


def test_random_crop_stays_below_the_skipped_rows(sample: Sample):
    rng = np.random.default_rng(1)
    for _ in range(20):
        out = random_crop(sample, 50, 40, rng, skip_top_rows=30)
        y0 = 45.7 - out.K[1, 2]
        assert out.sparse.shape == (40, 50) and 30 <= y0 <= HEIGHT - 40
    assert random_crop(sample, 0, 0, rng).sparse.shape == (HEIGHT, WIDTH)


def test_colour_jitter_changes_rgb_only(sample: Sample):
    out = augment(sample, width=0, height=0, flip_probability=0.0, colour_jitter=0.3,
                  rng=np.random.default_rng(2))
    assert not np.array_equal(out.rgb, sample.rgb) and out.rgb.dtype == np.uint8
    assert np.array_equal(out.sparse, sample.sparse) and np.array_equal(out.K, sample.K)
    assert np.array_equal(jitter_colour(sample.rgb, 1.0, 1.0, 1.0), sample.rgb)
    grey = jitter_colour(sample.rgb, 1.0, 1.0, 0.0)
    assert np.abs(grey.astype(int) - grey[..., :1]).max() <= 1


def test_same_generator_state_same_sample(sample: Sample):
    def draw(seed: int) -> Sample:
        return augment(sample, width=64, height=32, flip_probability=0.5, colour_jitter=0.2,
                       rng=np.random.default_rng(seed))
    a, b = draw(7), draw(7)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("rgb", "sparse", "K"))


@pytest.mark.parametrize("size", [(160, 96), (240, 144), (333, 101)])
def test_scale_moves_points_with_the_intrinsics(sample: Sample, points: np.ndarray, size):
    """Each measurement keeps its depth and lands within half a source pixel (in output pixels)
    of where the scaled K projects its point; no measurement is lost or interpolated."""
    width, height = size
    out = scale(sample, width, height)
    sx, sy = width / WIDTH, height / HEIGHT
    assert out.rgb.shape == (height, width, 3) and out.sparse.shape == (height, width)
    assert out.K[0, 0] == pytest.approx(90.0 * sx) and out.K[1, 2] == pytest.approx(45.7 * sy)
    kept = sample.sparse[sample.sparse > 0]
    assert np.array_equal(np.sort(out.sparse[out.sparse > 0]), np.sort(kept))
    assert np.count_nonzero(out.target) == np.count_nonzero(sample.target)
    z = points[:, 2].astype(np.float32)
    u = out.K[0, 0] * points[:, 0] / points[:, 2] + out.K[0, 2]
    v = out.K[1, 1] * points[:, 1] / points[:, 2] + out.K[1, 2]
    rows, cols = np.nonzero(out.sparse)
    for r, c in zip(rows, cols):
        match = np.flatnonzero(z == out.sparse[r, c])
        assert match.size, "a depth that is not one of the points'"
        du = np.abs(u[match] - (c + 0.5)).min()
        dv = np.abs(v[match] - (r + 0.5)).min()
        assert du <= sx / 2 + 0.5 + 1e-6 and dv <= sy / 2 + 0.5 + 1e-6
    with pytest.raises(ValueError):
        scale(sample, WIDTH - 1, HEIGHT)


def test_zoom_in_augmentation_keeps_the_patch_size(sample: Sample):
    rng = np.random.default_rng(3)
    zooms = []
    for _ in range(10):
        out = augment(sample, width=64, height=32, flip_probability=0.0, colour_jitter=0.0,
                      rng=rng, scale_max=2.0)
        assert out.sparse.shape == (32, 64) and out.rgb.shape == (32, 64, 3)
        zooms.append(out.K[0, 0] / 90.0)
    assert min(zooms) >= 1.0 and max(zooms) <= 2.1 and max(zooms) - min(zooms) > 0.3


@pytest.mark.parametrize("size", [(240, 144), (320, 192)])
def test_a_depth_zoom_is_the_scene_moved_closer_with_the_same_focal_length(
        sample: Sample, points: np.ndarray, size):
    """Zoom by s read as ``"depth"``: the focal length stays 90 px, every depth is divided by
    s, and each measurement sits where the point (X, Y, Z / s) projects with the new K (within
    half a source pixel, as the plain zoom); a plane of constant Y (a road) keeps its Y."""
    width, height = size
    s = width / WIDTH
    out = approach(scale(sample, width, height), width / WIDTH, height / HEIGHT)
    assert out.K[0, 0] == pytest.approx(90.0) and out.K[1, 1] == pytest.approx(90.0)
    assert out.K[:2, 2].tolist() == pytest.approx([83.3 * s, 45.7 * s])
    assert np.sort(out.sparse[out.sparse > 0]) == pytest.approx(
        np.sort(sample.sparse[sample.sparse > 0]) / s, rel=1e-6)
    assert np.sort(out.target[out.target > 0]) == pytest.approx(
        np.sort(sample.target[sample.target > 0]) / s, rel=1e-6)
    closer = points / [1, 1, s]
    z = (points[:, 2] / s).astype(np.float32)
    u = 90.0 * closer[:, 0] / closer[:, 2] + out.K[0, 2]
    v = 90.0 * closer[:, 1] / closer[:, 2] + out.K[1, 2]
    rows, cols = np.nonzero(out.sparse)
    for r, c in zip(rows, cols):
        match = np.flatnonzero(np.isclose(z, out.sparse[r, c], rtol=1e-6))
        assert match.size, "a depth that is not one of the points' moved closer"
        assert np.abs(u[match] - (c + 0.5)).min() <= s / 2 + 0.5 + 1e-6
        assert np.abs(v[match] - (r + 0.5)).min() <= s / 2 + 0.5 + 1e-6
    # a road 1.6 m below the camera: Y from each zoomed pixel's row and depth is still 1.6 m
    K = sample.K
    rows_, cols_ = np.mgrid[0:HEIGHT, 0:WIDTH]
    below = rows_ + 0.5 > K[1, 2] + 5
    road = np.where(below, 1.6 * K[1, 1] / np.maximum(rows_ + 0.5 - K[1, 2], 1e-3), 0)
    flat = approach(scale(Sample(sample.rgb, road.astype(np.float32), road.astype(np.float32),
                                 K, 0), width, height), width / WIDTH, height / HEIGHT)
    r, _ = np.nonzero(flat.target)
    y = (r + 0.5 - flat.K[1, 2]) / flat.K[1, 1] * flat.target[flat.target > 0]
    assert np.median(np.abs(y - 1.6)) < 0.05 and np.all(np.abs(y - 1.6) < 1.6 * s / 5.5)


def test_augment_reads_the_zoom_as_asked(sample: Sample):
    for zoom, focal_changes in (("focal", True), ("depth", False)):
        out = augment(sample, width=64, height=32, flip_probability=0.0, colour_jitter=0.0,
                      rng=np.random.default_rng(5), scale_max=2.0, zoom=zoom)
        zoomed = out.K[0, 0] / 90.0
        assert (zoomed > 1.05) == focal_changes
        if not focal_changes:
            near = out.sparse[out.sparse > 0].min()
            assert near < sample.sparse[sample.sparse > 0].min()
    with pytest.raises(ValueError, match="zoom"):
        augment(sample, width=64, height=32, flip_probability=0.0, colour_jitter=0.0,
                rng=np.random.default_rng(5), scale_max=2.0, zoom="both")
