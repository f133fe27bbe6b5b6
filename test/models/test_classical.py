"""Classical model: hand cases, and on the embedded KITTI sample (held-out beams)."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.evaluation.heldout import cut, iter_drive, score_frame
from depth_completion_ros.models import classical, get_model
from depth_completion_ros.models.classical import interpolate_columns
from depth_completion_ros.models.column_fill import bracket_rows, running_max, substitute_missing


def test_interpolation_is_linear_in_inverse_depth():
    inv = np.zeros((5, 2), np.float32)
    inv[0] = 1 / 10
    inv[4] = 1 / 5
    out, dist = interpolate_columns(inv, jump_ratio=2.5)  # 10 m -> 5 m: below the jump ratio
    np.testing.assert_allclose(1 / out[2], 1 / 0.15, rtol=1e-6)   # a plane: 1/z is linear
    np.testing.assert_array_equal(dist[:, 0], [0, 1, 2, 1, 0])


def test_discontinuity_blends_inverse_and_depth_interpolation():
    inv = np.zeros((5, 1), np.float32)
    inv[0], inv[4] = 1 / 40, 1 / 5  # 40 m above, 5 m below: a jump
    out, _ = interpolate_columns(inv, jump_ratio=1.3, jump_blend=0.5)
    # middle: inverse interp (1/40 + 1/5) / 2 = 0.1125; depth interp 22.5 m -> 1/22.5
    np.testing.assert_allclose(out[2, 0], 0.5 * 0.1125 + 0.5 / 22.5, rtol=1e-6)
    np.testing.assert_allclose(out[[0, 4], 0], [1 / 40, 1 / 5], rtol=1e-6)


def test_plane_test_exempts_collinear_gaps_from_the_blend():
    inv = np.zeros((9, 2), np.float32)
    inv[[0, 4, 8], 0] = [0.02, 0.06, 0.10]  # collinear in (row, 1/d): a plane, no blend
    inv[[0, 4, 8], 1] = [0.02, 0.06, 0.06]  # a jump onto a fronto-parallel surface: blend
    out, _ = interpolate_columns(inv, jump_ratio=1.3, jump_blend=0.5, plane_tolerance=0.05)
    np.testing.assert_allclose(out[2, 0], 0.04, rtol=1e-6)
    np.testing.assert_allclose(out[2, 1], 0.5 * 0.04 + 0.5 / 33.3333333, rtol=1e-5)
    off, _ = interpolate_columns(inv, jump_ratio=1.3, jump_blend=0.5, plane_tolerance=0.0)
    np.testing.assert_allclose(off[2, 0], off[2, 1], rtol=1e-6)


def test_running_max_and_bracket_rows_match_reference():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 1000, (37, 5)).astype(np.uint16)
    np.testing.assert_array_equal(running_max(values.copy()),
                                  np.maximum.accumulate(values, axis=0))
    np.testing.assert_array_equal(running_max(values.copy(), reverse=True),
                                  np.maximum.accumulate(values[::-1], axis=0)[::-1])
    valid = np.zeros((6, 3), bool)
    valid[[1, 4], 0] = True
    valid[2, 1] = True
    above, below = bracket_rows(valid)
    np.testing.assert_array_equal(above[:, 0], [-1, 1, 1, 1, 4, 4])
    np.testing.assert_array_equal(below[:, 0], [1, 1, 4, 4, 4, 6])
    np.testing.assert_array_equal(above[:, 1], [-1, -1, 2, 2, 2, 2])
    np.testing.assert_array_equal(below[:, 2], [6] * 6)
    substitute_missing(above, below)  # a missing side takes the other's row; empty column: H
    np.testing.assert_array_equal(above[:, 0], [1, 1, 1, 1, 4, 4])
    np.testing.assert_array_equal(below[:, 0], [1, 1, 4, 4, 4, 4])
    np.testing.assert_array_equal(above[:, 2], [6] * 6)
    np.testing.assert_array_equal(below[:, 2], [6] * 6)


def test_no_measurement_gives_nan_and_zero_confidence():
    out = get_model("classical").predict(np.zeros((6, 7, 3), np.uint8),
                                         np.zeros((6, 7), np.float32), np.eye(3))
    assert np.isnan(out.depth).all() and (out.confidence == 0).all()


@pytest.fixture(scope="module")
def sample_runs(sample_dir):
    """(classical output, ip_basic output, frame) for each frame of the sample, 32 lines in."""
    classical, ip_basic = get_model("classical"), get_model("ip_basic")
    return [(classical.predict(rgb, f.sparse, K), ip_basic.predict(rgb, f.sparse, K), f)
            for rgb, K, f in iter_drive(sample_dir, "32")]


def test_confidence_ranks_errors_on_sample(sample_runs):
    err, conf = [], []
    for out, _, frame in sample_runs:
        mask = frame.groundtruth > 0
        err.append(np.abs(cut(out.depth, frame.crop)[mask] - frame.groundtruth[mask]))
        conf.append(cut(out.confidence, frame.crop)[mask])
    err, conf = np.concatenate(err), np.concatenate(conf)
    top = conf >= np.median(conf)
    assert err[top].mean() < 0.7 * err[~top].mean()


def test_classical_beats_ip_basic_on_sample(sample_runs):
    """Held-out 32 lines on the 4 embedded frames: RMSE 3600 vs 3829 mm, MAE 751 vs 893 mm."""
    ours = [score_frame(c.depth, f) for c, _, f in sample_runs]
    ref = [score_frame(i.depth, f) for _, i, f in sample_runs]
    assert np.mean([m.rmse_mm for m in ours]) < 0.97 * np.mean([m.rmse_mm for m in ref])
    assert np.mean([m.mae_mm for m in ours]) < 0.9 * np.mean([m.mae_mm for m in ref])


def test_no_estimate_above_the_lidar_field_of_view():
    """Rows above the top measured row are NaN (confidence 0); a margin extends the top row."""
    sparse = np.zeros((12, 6), np.float32)
    sparse[5, :] = 4.0
    sparse[9, :] = 8.0
    depth, conf = classical.complete(sparse, classical.ClassicalConfig(blur_px=0, median_px=0,
                                                                       top_margin_px=0))
    assert np.isnan(depth[:5]).all() and (conf[:5] == 0).all()
    assert np.isfinite(depth[5:]).all()
    assert depth[5, 0] == pytest.approx(4.0)
    config = classical.ClassicalConfig(blur_px=0, median_px=0, top_margin_px=2)
    depth, conf = classical.complete(sparse, config)
    assert np.isnan(depth[:3]).all() and (conf[:3] == 0).all()
    np.testing.assert_allclose(depth[3:5], 4.0)
    assert 0 < conf[3, 0] < conf[4, 0] < conf[5, 0]


def test_empty_columns_interpolate_between_their_filled_neighbours():
    from depth_completion_ros.models.column_fill import fill_empty_columns

    image = np.zeros((2, 6), np.float32)
    image[:, 1], image[:, 4] = 0.5, 0.2  # columns 0, 2, 3, 5 empty
    dist = np.zeros_like(image)
    dist[:, 1], dist[:, 4] = 1.0, 2.0
    fill_empty_columns(image, dist)
    np.testing.assert_allclose(image[0], [0.5, 0.5, 0.4, 0.3, 0.2, 0.2])
    np.testing.assert_allclose(dist[0], [2.0, 1.0, 2.0, 3.0, 2.0, 3.0])


def test_sparse_scans_give_no_depth_outside_the_measured_range(sample_dir):
    """Every estimate is a blend of measurements: with 4 lines (gaps with no measurement in whole
    columns) nothing may fall below the nearest or beyond the farthest input depth (a hole
    blurred into its neighbours once gave 0.07 m next to 5 m measurements)."""
    from depth_completion_ros.geometry.projection import project_to_depth
    from depth_completion_ros.geometry.rings import estimate_rings
    from depth_completion_ros.io.kitti_raw import open_sequence

    for frame in open_sequence(sample_dir):
        camera = frame.calibration.camera(2, frame.image.shape[1], frame.image.shape[0])
        rings = estimate_rings(frame.points[:, :3], cut="pi")
        for every in (2, 16):
            sparse = project_to_depth(frame.points[rings % every == 0, :3],
                                      frame.calibration.lidar_to_camera(), camera)
            depth, conf = classical.complete(sparse)
            top = int(np.flatnonzero((sparse > 0).any(axis=1))[0])
            measured = sparse[sparse > 0.1]
            assert np.isfinite(depth[top:]).all() and (conf[top:] > 0).all()
            assert depth[top:].min() >= 0.999 * measured.min()
            assert np.nanmax(depth) <= 1.001 * measured.max()


def test_a_gap_of_empty_columns_neither_stays_empty_nor_drags_its_neighbours_down():
    sparse = np.zeros((40, 60), np.float32)
    sparse[[10, 20, 30], :20] = 5.0
    sparse[[10, 20, 30], 40:] = 5.0  # columns 20-39: no measurement at all
    depth, conf = classical.complete(sparse)
    np.testing.assert_allclose(depth[10:], 5.0, rtol=1e-5)
    assert (conf[10:, 30] < conf[10:, 0]).all()  # the gap centre is farther from the data
