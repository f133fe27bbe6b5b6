"""Devkit metrics against hand-computed values; invalid-prediction filling; distance bins."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.errors import InputError
from depth_completion_ros.metrics.devkit import (
    binned_metrics,
    fill_invalid_devkit,
    frame_metrics,
    mean_metrics,
)


def test_hand_computed_frame() -> None:
    gt = np.array([[10.0, 20.0], [0.0, 40.0]])  # the 0 is not scored
    pred = np.array([[11.0, 20.0], [5.0, 30.0]])
    m = frame_metrics(pred, gt)
    # errors 1, 0, -10 m
    assert m.num_pixels == 3
    assert m.mae_mm == pytest.approx(11 / 3 * 1000)
    assert m.rmse_mm == pytest.approx(np.sqrt(101 / 3) * 1000)
    inv = [1 / 11 - 1 / 10, 0.0, 1 / 30 - 1 / 40]  # 1/m
    assert m.imae_per_km == pytest.approx(np.mean(np.abs(inv)) * 1000)
    assert m.irmse_per_km == pytest.approx(np.sqrt(np.mean(np.square(inv))) * 1000)
    assert m.abs_rel == pytest.approx((0.1 + 0 + 0.25) / 3)
    assert m.sq_rel == pytest.approx((0.01 + 0 + 0.0625) / 3)
    # ratios 1.1, 1, 1.333: delta1 = 2/3, 1.333 < 1.5625
    assert (m.delta1, m.delta2, m.delta3) == pytest.approx((2 / 3, 1.0, 1.0))


def test_mean_over_frames_is_the_plain_mean() -> None:
    a = frame_metrics(np.array([[2.0]]), np.array([[1.0]]))  # 1000 mm, 1 pixel
    b = frame_metrics(np.full((1, 3), 4.0), np.full((1, 3), 4.0))  # 0 mm, 3 pixels
    m = mean_metrics([a, None, b])
    assert m.mae_mm == pytest.approx(500.0) and m.num_pixels == 4
    assert mean_metrics([None]) is None


def loop_fill(pred: np.ndarray) -> np.ndarray:
    """Reference: the devkit's interpolateBackground written as plain loops."""
    d = np.where(pred > 0, pred, -1.0)
    h, w = d.shape
    for v in range(h):
        valid = [u for u in range(w) if d[v, u] > 0]
        for u in range(w):
            if d[v, u] > 0 or not valid:
                continue
            left = [x for x in valid if x < u]
            right = [x for x in valid if x > u]
            if left and right:
                d[v, u] = min(d[v, left[-1]], d[v, right[0]])
            else:
                d[v, u] = d[v, (left or right)[-1 if left else 0]]
    full = [v for v in range(h) if d[v, 0] > 0]
    for v in range(h):
        if d[v, 0] <= 0 and full and (v < full[0] or v > full[-1]):
            d[v] = d[full[0]] if v < full[0] else d[full[-1]]
    return np.where(d > 0, d, np.nan)


def test_devkit_fill_matches_loop_reference() -> None:
    rng = np.random.default_rng(0)
    pred = rng.uniform(1, 50, size=(12, 17))
    pred[rng.random(pred.shape) < 0.6] = 0
    pred[[0, 5, 11]] = 0  # empty first, interior and last rows
    pred[3, 4] = np.nan
    np.testing.assert_array_equal(fill_invalid_devkit(pred), loop_fill(np.nan_to_num(pred)))


def test_invalid_predictions_devkit_vs_clamp() -> None:
    gt = np.array([[10.0, 10.0, 10.0]])
    pred = np.array([[8.0, np.nan, 12.0]])  # devkit: gap takes min(8, 12) = 8
    assert frame_metrics(pred, gt).mae_mm == pytest.approx(2000)  # errors 2, 2, 2 m
    clamp = frame_metrics(pred, gt, invalid="clamp", min_depth=1.0)
    assert clamp.mae_mm == pytest.approx((2 + 9 + 2) / 3 * 1000)
    all_bad = frame_metrics(np.zeros((1, 3)), gt, min_depth=2.0)  # nothing to fill from
    assert all_bad.mae_mm == pytest.approx(8000)


def test_binned_metrics() -> None:
    gt = np.array([[5.0, 25.0, 30.0, 90.0, 0.0]])
    pred = np.array([[6.0, 25.0, 33.0, 1.0, 1.0]])
    bins = binned_metrics(pred, gt)
    assert bins[(0.0, 20.0)].mae_mm == pytest.approx(1000)
    assert bins[(20.0, 40.0)].mae_mm == pytest.approx(1500) and bins[(20.0, 40.0)].num_pixels == 2
    assert bins[(40.0, 80.0)] is None


@pytest.mark.parametrize("pred, gt, kwargs, needle", [
    (np.ones((2, 2)), np.ones((2, 3)), {}, "same"),
    (np.ones((2, 2)), np.zeros((2, 2)), {}, "no valid"),
    (np.ones((2, 2)), np.ones((2, 2)), {"invalid": "zero"}, "invalid"),
])
def test_bad_metric_inputs(pred: np.ndarray, gt: np.ndarray, kwargs: dict, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        frame_metrics(pred, gt, **kwargs)
