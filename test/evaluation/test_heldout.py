"""Held-out-beam protocol: hand cases and the embedded sample."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.errors import InputError
from depth_completion_ros.evaluation.heldout import drop_occluded, iter_drive, prepare_frame
from depth_completion_ros.geometry.crop import KITTI_CROP


def test_bottom_centre_crop_of_kitti_image():
    assert KITTI_CROP.box(375, 1242) == (13, 23, 1216, 352)
    with pytest.raises(InputError, match="at least 1216x352"):
        KITTI_CROP.box(300, 1242)
    assert KITTI_CROP.box(300, 1000, clamp=True) == (0, 0, 1000, 300)


def test_drop_occluded_hand_case():
    sparse = np.zeros((9, 9), np.float32)
    sparse[4, 4] = 10.0
    gt = np.zeros((9, 9), np.float32)
    gt[4, 5] = 11.3   # == 1.1 * 10 + 0.3: kept
    gt[3, 3] = 11.4   # farther than the bound: dropped
    gt[0, 8] = 50.0   # no input within 7x7: kept
    out = drop_occluded(gt, sparse)
    assert out[4, 5] == pytest.approx(11.3) and out[3, 3] == 0 and out[0, 8] == 50.0


def test_sample_split_uses_disjoint_beams(sample_dir):
    rgb, K, frame = next(iter_drive(sample_dir, "32"))
    assert frame.sparse.shape == rgb.shape[:2] and frame.groundtruth.shape == (352, 1216)
    x0, y0, w, h = frame.crop
    crop_in = frame.sparse[y0:y0 + h, x0:x0 + w]
    shared = ((crop_in > 0) & (frame.groundtruth > 0)).sum() / (frame.groundtruth > 0).sum()
    assert shared < 0.02  # different beams; a pixel is rarely hit by both
    frac_in, frac_gt = (crop_in > 0).mean(), (frame.groundtruth > 0).mean()
    assert 0.015 < frac_in < 0.03 and 0.01 < frac_gt < frac_in  # ~4 % of pixels for 64 beams
    _, _, f16 = next(iter_drive(sample_dir, "16"))
    assert (f16.sparse > 0).sum() < 0.6 * (frame.sparse > 0).sum()


def test_unknown_variant(sample_dir):
    with pytest.raises(InputError, match="variant"):
        prepare_frame(np.zeros((3, 4), np.float32), np.eye(4), None, "8")


def test_drive_scans_split_as_the_protocol_and_rank_a_confidence(sample_dir):
    from depth_completion_ros.evaluation.heldout import (
        confidence_ranking,
        iter_drive_scans,
        split_frame,
    )

    scans = list(iter_drive_scans(sample_dir, max_frames=2))
    assert len(scans) == 2
    scan = scans[0]
    split = scan.split(16)
    direct = split_frame(scan.points, scan.rings, scan.lidar_to_camera, scan.camera, 16)
    np.testing.assert_array_equal(split.sparse, direct.sparse)
    np.testing.assert_array_equal(split.groundtruth, direct.groundtruth)
    # a prediction off by 1 m where the confidence is high, by 3 m elsewhere
    depth = np.full(split.sparse.shape, np.nan, np.float32)
    x0, y0, w, h = split.crop
    truth = np.where(split.groundtruth > 0, split.groundtruth, 10.0)
    confidence = np.zeros_like(depth)
    confidence[y0:y0 + h, x0:x0 + w][:, : w // 2] = 1.0
    offset = np.where(confidence[y0:y0 + h, x0:x0 + w] > 0, 1.0, 3.0)
    depth[y0:y0 + h, x0:x0 + w] = truth + offset
    hi, lo = confidence_ranking(depth, confidence, split)
    assert hi < lo and lo == pytest.approx(3.0)
