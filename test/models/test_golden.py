"""Golden frames: each learning-free model on frame 0 of the embedded sample (all 64 lines) against
a stored expected output, so a change in a recipe fails here instead of only moving a ranking.

``golden/<model>.npz`` holds the depth and confidence at 400 fixed pixels (seeded, anywhere in
the image, NaN included) and summary statistics of the whole output. They were written once from
the code of the published recipes (IP-Basic ``fill_in_fast`` with extrapolation and Gaussian
blur, the classical model's defaults, the nearest fill); rewrite them only for a deliberate change
of a recipe, and say so in the commit::

    .venv/bin/python test/models/test_golden.py
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.models import get_model

GOLDEN_DIR = Path(__file__).parent / "golden"
MODELS = ("classical", "ip_basic", "nearest")
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
N_PIXELS = 400


def pixels(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The fixed (rows, cols) checked, drawn once from a seeded generator."""
    rng = np.random.default_rng(20180509)
    return rng.integers(0, shape[0], N_PIXELS), rng.integers(0, shape[1], N_PIXELS)


def summary(depth: np.ndarray, confidence: np.ndarray) -> dict[str, np.ndarray]:
    """Values at :func:`pixels` and whole-image statistics (metres; float64 sums)."""
    rows, cols = pixels(depth.shape)
    finite = np.isfinite(depth)
    return {"rows": rows, "cols": cols, "depth": depth[rows, cols],
            "confidence": confidence[rows, cols],
            "finite_count": np.array(int(finite.sum())),
            "depth_sum": np.array(depth[finite].sum(dtype=np.float64)),
            "depth_percentiles": np.percentile(depth[finite], PERCENTILES),
            "confidence_sum": np.array(confidence.sum(dtype=np.float64))}


@pytest.mark.parametrize("name", MODELS)
def test_model_matches_its_golden_frame(name, sample_frame):
    golden = np.load(GOLDEN_DIR / f"{name}.npz")
    out = get_model(name).predict(sample_frame.rgb, sample_frame.sparse, sample_frame.K)
    got = summary(out.depth, out.confidence)
    assert np.array_equal(golden["rows"], got["rows"]) and np.array_equal(golden["cols"],
                                                                           got["cols"])
    np.testing.assert_allclose(got["depth"], golden["depth"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(got["confidence"], golden["confidence"], rtol=1e-5, atol=1e-5)
    assert int(got["finite_count"]) == int(golden["finite_count"])
    for key in ("depth_sum", "depth_percentiles", "confidence_sum"):
        np.testing.assert_allclose(got[key], golden[key], rtol=1e-5, err_msg=key)


def test_goldens_are_not_trivial():
    """The stored frames hold real depth: NaN and finite pixels, values over the LiDAR's range."""
    for name in MODELS:
        golden = np.load(GOLDEN_DIR / f"{name}.npz")
        finite = np.isfinite(golden["depth"])
        assert 200 < finite.sum() <= N_PIXELS, name
        assert 3 < golden["depth_percentiles"][0] < golden["depth_percentiles"][-1] < 80, name


def _write() -> None:
    conftest = Path(__file__).with_name("conftest.py")
    spec = importlib.util.spec_from_file_location("models_conftest", conftest)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from depth_completion_ros.paths import SAMPLE_DIR
    frame = module.load_sample_frame(SAMPLE_DIR)
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name in MODELS:
        out = get_model(name).predict(frame.rgb, frame.sparse, frame.K)
        np.savez_compressed(GOLDEN_DIR / f"{name}.npz", **summary(out.depth, out.confidence))
        print(f"wrote {GOLDEN_DIR.name}/{name}.npz")


if __name__ == "__main__":
    _write()
