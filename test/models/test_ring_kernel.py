"""The compiled loops (models/ring_kernel.py) against the numpy path they replace: the same
depths, bit for bit, and confidences to float rounding, on real scans of every density and on
edge cases."""
from __future__ import annotations

import numpy as np
import pytest

from depth_completion_ros.evaluation.heldout import iter_drive_scans
from depth_completion_ros.models import classical, ring_kernel
from depth_completion_ros.models.classical import ClassicalConfig, fill_rows, interpolate_columns

pytest.importorskip("numba")


DEFAULT = ClassicalConfig()


def both_paths(sparse: np.ndarray, config: ClassicalConfig, monkeypatch: pytest.MonkeyPatch
               ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """classical.complete through the compiled loops, then through the numpy path."""
    assert ring_kernel.AVAILABLE
    compiled = classical.complete(sparse, config)
    with monkeypatch.context() as patch:
        patch.setattr(ring_kernel, "AVAILABLE", False)
        reference = classical.complete(sparse, config)
    return compiled, reference


def assert_same(compiled, reference) -> None:  # type: ignore[no-untyped-def]
    """Depth bit for bit; confidence to float rounding (its exponent is summed in another
    order: one pass against five OpenCV ones)."""
    np.testing.assert_array_equal(compiled[0], reference[0])
    np.testing.assert_allclose(compiled[1], reference[1], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(compiled[1] == 0, reference[1] == 0)


@pytest.mark.parametrize("lines", [64, 32, 16, 4])
def test_real_scans_give_the_numpy_paths_numbers(sample_dir, lines, monkeypatch):
    """Every frame of the embedded KITTI sample, full image: the protocol's input beams at 32,
    16 and 4 lines, and the whole scan (64)."""
    from depth_completion_ros.geometry.projection import project_to_depth

    for scan in iter_drive_scans(sample_dir):
        sparse = (scan.split(lines).sparse if lines < 64 else
                  project_to_depth(scan.points[:, :3], scan.lidar_to_camera, scan.camera))
        compiled, reference = both_paths(sparse, DEFAULT, monkeypatch)
        assert np.isfinite(compiled[0]).sum() > 0.5 * sparse.size
        assert_same(compiled, reference)


@pytest.mark.parametrize("config", [
    ClassicalConfig(),
    ClassicalConfig(row_fill_px=1, median_px=0, blur_px=0),
    ClassicalConfig(jump_blend=1.0, jump_ratio=1.0),
    ClassicalConfig(jump_blend=0.0, min_depth=3.0, median_px=5),
])
def test_edge_cases_give_the_numpy_paths_numbers(config, monkeypatch):
    """Random sparse images with empty columns, measurements on the borders, a single pixel,
    depths at and below ``min_depth``, one row, one column."""
    rng = np.random.default_rng(7)
    cases = []
    for shape, share in (((40, 60), 0.05), ((40, 60), 0.3), ((1, 30), 0.2), ((30, 1), 0.2),
                         ((25, 17), 0.01)):
        sparse = np.where(rng.random(shape) < share, rng.uniform(0.05, 80.0, shape), 0.0)
        cases.append(sparse.astype(np.float32))
    single = np.zeros((20, 30), np.float32)
    single[7, 29] = 12.5
    cases.append(single)
    borders = np.zeros((20, 30), np.float32)
    borders[[0, 19], :] = 9.0
    borders[:, [0, 29]] = 3.0
    borders[5:15, 10:20] = 0.0
    cases.append(borders)
    beams = np.zeros((50, 80), np.float32)
    beams[::6, ::2] = rng.uniform(2.0, 60.0, beams[::6, ::2].shape)
    beams[:, 30:40] = 0.0  # whole empty columns between beams
    cases.append(beams)
    odd = cases[1].copy()  # values a user's data may hold: NaN, inf, negative
    odd[3, ::7], odd[9, ::5], odd[15, ::3] = np.nan, np.inf, -4.0
    cases.append(odd)
    for sparse in cases:
        assert_same(*both_paths(sparse, config, monkeypatch))


def test_loops_match_their_numpy_steps():
    """inverse_rows = the mask, the indices and fill_rows; interpolate_columns = the numpy
    interpolation (its distances too, wherever the column holds a measurement)."""
    rng = np.random.default_rng(3)
    sparse = np.where(rng.random((64, 96)) < 0.08, rng.uniform(0.05, 70.0, (64, 96)), 0.0
                      ).astype(np.float32)
    sparse[:, 50:60] = 0.0  # 52..57 stay empty after the 5-pixel row fill
    valid = sparse > 0.5
    inv = np.where(valid, 1.0 / np.where(valid, sparse, 1.0), 0.0).astype(np.float32)
    filled, mask = np.empty_like(sparse), np.empty(sparse.shape, np.bool_)
    measured = ring_kernel.inverse_rows(sparse, 0.5, 5, filled, mask,
                                        np.empty(sparse.size, np.int64))
    np.testing.assert_array_equal(mask, valid)
    np.testing.assert_array_equal(measured, np.flatnonzero(valid))
    np.testing.assert_array_equal(filled, fill_rows(inv, 5))
    want, want_dist = interpolate_columns(filled.copy(), 1.3, 0.5)
    out, dist = np.empty_like(sparse), np.empty_like(sparse)
    ring_kernel.interpolate_columns(filled, 1.3, 0.5, out, dist)
    np.testing.assert_array_equal(out, want)
    has = filled.max(axis=0) > 0
    assert (~has).sum() == 6 and (out[:, ~has] == 0).all()
    np.testing.assert_array_equal(dist[:, has], want_dist[:, has])


def test_discontinuity_blend_by_hand():
    """40 m above, 5 m below, 4 rows apart: the middle pixel mixes the two interpolations."""
    filled = np.zeros((5, 1), np.float32)
    filled[0], filled[4] = 1 / 40, 1 / 5
    out, dist = np.empty_like(filled), np.empty_like(filled)
    ring_kernel.interpolate_columns(filled, 1.3, 0.5, out, dist)
    np.testing.assert_allclose(out[2, 0], 0.5 * 0.1125 + 0.5 / 22.5, rtol=1e-6)
    np.testing.assert_array_equal(dist[:, 0], [0, 1, 2, 1, 0])


@pytest.mark.parametrize("helpers", [0, 1, 3])
def test_shared_chunks_give_the_same_numbers(sample_dir, helpers, monkeypatch):
    """With 0, 1 or 3 helper threads and chunks smaller than the image, the same depths."""
    from depth_completion_ros.models.ring_kernel import share_work

    scan = next(iter_drive_scans(sample_dir))
    sparse = scan.split(16).sparse
    want = classical.complete(sparse)
    monkeypatch.setattr(ring_kernel, "HELPERS", helpers)
    monkeypatch.setattr(ring_kernel, "_pool", None)  # a pool of this size
    monkeypatch.setattr(ring_kernel, "ROW_BLOCK", 7)
    monkeypatch.setattr(ring_kernel, "COLUMN_BLOCK", 50)
    got = classical.complete(sparse)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    seen: list[int] = []
    share_work(seen.append, 23)
    assert sorted(seen) == list(range(23))

    def fail(chunk: int) -> None:
        if chunk == 5:
            raise RuntimeError("chunk 5")

    with pytest.raises(RuntimeError, match="chunk 5"):
        share_work(fail, 23)


def test_a_failed_compile_falls_back_to_the_numpy_path(monkeypatch, caplog):
    """No compiler or no writable cache: logged once, the model still completes (numpy path)."""
    def broken(*args):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot cache function: no locator available")

    sparse = np.zeros((30, 40), np.float32)
    sparse[10::5, ::2] = 7.0
    want = classical.complete(sparse)
    monkeypatch.setattr(ring_kernel, "_top_row", broken)
    monkeypatch.setattr(ring_kernel, "_compiled", None)
    with caplog.at_level("WARNING"):
        got = classical.complete(sparse)
    assert not ring_kernel.ready()
    assert "numpy path" in caplog.text and "no locator" in caplog.text
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-6)
