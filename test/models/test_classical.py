"""Classical model: hand cases, and on the embedded KITTI sample (held-out beams)."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.evaluation.heldout import cut, iter_drive, score_frame
from depth_completion_ros.models import get_model
from depth_completion_ros.models.classical import interpolate_columns


def test_interpolation_is_linear_in_inverse_depth():
    inv = np.zeros((5, 2), np.float32)
    inv[0] = 1 / 10
    inv[4] = 1 / 5
    out, dist = interpolate_columns(inv)
    np.testing.assert_allclose(1 / out[2], 1 / 0.15, rtol=1e-6)   # a plane: 1/z is linear
    np.testing.assert_array_equal(dist[:, 0], [0, 1, 2, 1, 0])


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


def test_classical_beats_ip_basic_mae_on_sample(sample_runs):
    """MAE only: on these 4 frames the RMSE margin is not robust (see models/README.md)."""
    ours = np.mean([score_frame(c.depth, f).mae_mm for c, _, f in sample_runs])
    ref = np.mean([score_frame(i.depth, f).mae_mm for _, i, f in sample_runs])
    assert ours < 0.95 * ref
