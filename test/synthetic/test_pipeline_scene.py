"""DepthPipeline with every registered model, and the node's conversions, on the synthetic scene."""
from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from depth_completion_ros.decoding import cloud_to_points, image_to_rgb
from depth_completion_ros.errors import MissingWeightsError
from depth_completion_ros.models.registry import get_entry, get_model, list_models
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.settings import PipelineSettings

MODELS = [entry.name for entry in list_models()]
#: models that complete only (their depth interpolates the LiDAR's); a model that also predicts
#: from the image (SAN) is not bound to the measured range, nor its confidence to the beams
COMPLETION_ONLY = [entry.name for entry in list_models() if not entry.spec.runs_without_lidar]


def run(scene, model: str, beams: str = "VLP16", config: dict | None = None,
        rectified: bool = True):
    """(result, gt depth, gt label) of one 640x480 frame."""
    dist = () if rectified else (-0.25, 0.07, 0.001, -0.0015, 0.0)
    camera = scene.make_camera(640, 480, f=450.0, distortion=dist)
    T = scene.lidar_to_camera()
    try:
        built = get_model(model, config, device="cpu")
    except MissingWeightsError as err:  # a learned model without shipped weights
        pytest.skip(f"no weights shipped: {err}")
    pipe = DepthPipeline(built, T,
                         PipelineSettings(use_rectified=rectified, max_depth=120.0))
    rgb = np.full((480, 640, 3), 128, np.uint8)
    result = pipe.process(rgb, camera, scene.spin_scan(getattr(scene, beams)).points)
    gt, label = scene.gt_depth(camera, T, rectified)
    return result, gt, label


@pytest.mark.parametrize("rectified", [True, False])
@pytest.mark.parametrize("model", MODELS)
def test_every_model_full_size_nan_only_outside_the_beams_and_within_measured_range(
        scene, model, rectified):
    result, _, _ = run(scene, model, rectified=rectified)
    depth, conf, sparse = result.depth, result.confidence, result.sparse_depth
    assert depth.shape == conf.shape == sparse.shape == (480, 640)
    assert depth.dtype == conf.dtype == np.float32
    rows = np.flatnonzero((sparse > 0).any(axis=1))
    nan = np.isnan(depth)
    assert (conf[nan] == 0).all() and (conf >= 0).all() and (conf <= 1).all()
    lo, hi = sparse[sparse > 0].min(), sparse.max()
    if model in COMPLETION_ONLY:
        assert depth[~nan].min() >= lo * (1 - 1e-5) and depth[~nan].max() <= hi * (1 + 1e-5)
    assert result.points_in_view == np.count_nonzero(sparse) > 3000
    network = get_entry(model).network
    if network is not None:  # a learned network estimates its crop only (NaN outside)
        x0, y0, w, h = network.input_spec.crop.box(480, 640, clamp=True)
        assert nan[:y0].all() and nan[:, :x0].all() and nan[:, x0 + w:].all()
        nan = nan[y0:y0 + h, x0:x0 + w]
        rows = rows[(rows >= y0) & (rows < y0 + h)] - y0
    if model != "ip_basic":  # IP-Basic leaves unfilled holes (NaN) by design
        assert not nan[rows[0]:rows[-1] + 1].any()
    if model == "classical":  # documented: NaN exactly above top_margin_px rows over the top beam
        margin = get_model("classical").config.top_margin_px
        assert np.isnan(depth[:rows[0] - margin]).all() and not nan[rows[0] - margin:].any()
    if model == "nearest":
        assert not nan.any()


def plane_errors(result, gt, label, surface: int, max_gt: float,
                 scene_pole: int = 3) -> np.ndarray:
    """Relative errors of ``depth`` on ``surface`` pixels between their column's top and bottom
    beam, 21 px from any other surface and from the pole's columns, at GT depth below ``max_gt``
    metres."""
    measured = result.sparse_depth > 0
    row = np.arange(measured.shape[0])[:, None]
    first = np.where(measured.any(axis=0), measured.argmax(axis=0), measured.shape[0])
    last = measured.shape[0] - 1 - measured[::-1].argmax(axis=0)
    mask = cv2.erode((label == surface).astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    other = cv2.dilate((label == scene_pole).astype(np.uint8), np.ones((1, 21), np.uint8)) > 0
    mask[:, other.any(axis=0)] = False  # columns through the pole: its edges bracket the ground
    mask &= (row >= first) & (row <= last)  # between the column's top and bottom beam
    mask &= (gt < max_gt) & np.isfinite(result.depth)
    assert mask.sum() > 5000
    return np.abs(result.depth[mask] - gt[mask]) / gt[mask]


@pytest.mark.parametrize("beams", ["VLP16", "HDL32"])
@pytest.mark.parametrize("rectified", [True, False])
def test_classical_is_nearly_exact_on_the_wall_and_the_near_ground(scene, beams, rectified):
    """Inverse depth is affine on a plane and the model interpolates it between beams. On the
    ground this holds where adjacent beams differ by less than ``jump_ratio`` (1.3) in depth:
    below 12 m for both sensors (farther, see the next test)."""
    result, gt, label = run(scene, "classical", beams, rectified=rectified)
    wall = plane_errors(result, gt, label, scene.WALL, np.inf)
    ground = plane_errors(result, gt, label, scene.GROUND, 12.0)
    assert np.median(wall) < 2e-4 and np.percentile(wall, 99) < 2e-3
    assert np.median(ground) < 2e-3 and np.percentile(ground, 99) < 1e-2


def test_classical_far_ground_is_exact_with_the_plane_test(scene):
    """Far ground beams of a 16-line LiDAR differ by more than ``jump_ratio`` (99 m / 33 m /
    20 m at -1 / -3 / -5 degrees); without the plane test (``plane_tolerance=0``, the default)
    the blend meant for object edges bends the plane there, with it the ground is as exact as
    pure inverse-depth interpolation (``jump_blend=1``)."""
    errors = {}
    for key, config in (("default", None), ("plane_test", {"plane_tolerance": 0.05}),
                        ("pure", {"jump_blend": 1.0})):
        result, gt, label = run(scene, "classical", "VLP16", config=config)
        errors[key] = np.percentile(plane_errors(result, gt, label, scene.GROUND, 60.0), 95)
    assert errors["default"] > 0.025  # measured 0.037
    assert errors["plane_test"] < 0.012  # measured 0.0081
    assert errors["pure"] < 0.012  # measured 0.0081


@pytest.mark.parametrize("model", COMPLETION_ONLY)
def test_confidence_is_higher_at_measurements_than_far_from_them(scene, model):
    result, _, _ = run(scene, model, "HDL32")
    dist = cv2.distanceTransform((result.sparse_depth <= 0).astype(np.uint8), cv2.DIST_L2, 3)
    valid = np.isfinite(result.depth)
    near = result.confidence[dist == 0].mean()
    far = result.confidence[valid & (dist > 10)].mean()
    assert near > 0.7 and far < 0.3 and near > 3 * far


def _cloud(scan, *, organised: bool = False, xyz_type: str = "<f4") -> SimpleNamespace:
    """A Velodyne-style PointCloud2: x, y, z, pad, intensity f4, ring u2, pad, time f4 (32 B);
    organised (ring x azimuth, no-returns at (0, 0, 0) as Ouster drivers publish them)."""
    size = np.dtype(xyz_type).itemsize
    dtype = np.dtype({"names": ["x", "y", "z", "intensity", "ring", "time"],
                      "formats": [xyz_type] * 3 + ["<f4", "<u2", "<f4"],
                      "offsets": [0, size, 2 * size, 4 * size, 4 * size + 4, 4 * size + 8],
                      "itemsize": 4 * size + 16})
    n = len(scan.points)
    pts = np.zeros(n + 500 if organised else n, dtype)  # 500 no-return points
    for i, axis in enumerate("xyz"):
        pts[axis][:n] = scan.points[:, i]
    pts["ring"][:n], pts["intensity"][:n] = scan.ring, 7.0
    kind = 7 if xyz_type == "<f4" else 8
    fields = [SimpleNamespace(name=name, offset=dtype.fields[name][1], datatype=code, count=1)
              for name, code in (("x", kind), ("y", kind), ("z", kind), ("intensity", 7),
                                 ("ring", 4), ("time", 7))]
    height = 4 if organised else 1
    return SimpleNamespace(fields=fields, data=pts.tobytes(), point_step=dtype.itemsize,
                           row_step=dtype.itemsize * len(pts) // height, is_bigendian=False,
                           height=height, width=len(pts) // height, is_dense=not organised)


@pytest.mark.parametrize("xyz_type", ["<f4", "<f8"])
def test_driver_style_cloud_decodes_to_the_scan(scene, xyz_type):
    scan = scene.spin_scan(scene.VLP16, order="firing")
    cloud = cloud_to_points(_cloud(scan, xyz_type=xyz_type))
    np.testing.assert_array_equal(cloud.xyz, scan.points)
    np.testing.assert_array_equal(cloud.ring, scan.ring)
    assert (cloud.intensity == 7.0).all()


def test_no_return_points_at_the_origin_are_dropped(scene):
    """An organised cloud's (0, 0, 0) no-returns used to survive decoding; with the camera behind
    the LiDAR the origin is in view, and they became one invented 0.3 m measurement."""
    scan = scene.spin_scan(scene.VLP16, order="firing")[:0] if False else \
        scene.spin_scan(scene.VLP16, order="firing")
    scan = type(scan)(scan.points[:len(scan.points) // 4 * 4], scan.ring[:len(scan.ring) // 4 * 4],
                      scan.label[:len(scan.label) // 4 * 4])
    cloud = cloud_to_points(_cloud(scan, organised=True))
    np.testing.assert_array_equal(cloud.xyz, scan.points)
    T = scene.lidar_to_camera()
    T[:3, 3] = scene.camera_rotation() @ [0.3, 0.0, 0.15]  # camera 0.3 m behind, 0.15 m below
    camera = scene.make_camera(640, 480, f=450.0)
    result = DepthPipeline(get_model("classical"), T).process(
        np.zeros((480, 640, 3), np.uint8), camera, cloud.xyz)
    assert result.sparse_depth[result.sparse_depth > 0].min() > 5.0


@pytest.mark.parametrize("pad", [0, 13])
def test_bgr8_with_row_padding_decodes_to_rgb(pad):
    rgb = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    rows = np.concatenate([rgb[:, :, ::-1].reshape(480, -1), np.full((480, pad), 9, np.uint8)],
                          axis=1)
    msg = SimpleNamespace(height=480, width=640, encoding="bgr8", is_bigendian=0,
                          step=rows.shape[1], data=rows.tobytes())
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)
