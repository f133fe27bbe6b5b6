"""Acceptance: evaluate on a bag made from the sample prints every metric, writes the report, and an
independent scorer reading the saved PNGs gives the same numbers."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.cli.main import main
from depth_completion_ros.evaluation import heldout
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models.registry import get_model
from depth_completion_ros.paths import REPO_ROOT

METRICS = ("rmse", "mae", "irmse", "imae", "abs_rel", "sq_rel", "delta1", "delta2", "delta3")


def _independent_scorer():
    spec = importlib.util.spec_from_file_location(
        "independent_score", REPO_ROOT / "tools" / "independent_score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def evaluated(sample_bag: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("evaluate")
    code = main(["evaluate", str(sample_bag), "--model", "nearest", "--heldout-beams",
                 "--report", str(out / "report"), "--save-predictions", str(out / "pred"),
                 "--lines", "16"])
    assert code == 0
    return out, ""


def test_table_report_and_json(evaluated: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    out, _ = evaluated
    document = json.loads((out / "report" / "metrics.json").read_text())
    for name in METRICS:
        assert np.isfinite(document[name]) and name in document["by_lines"][0]["metrics"]
    assert document["headline_lines"] == 16 and len(document["frames"]) == 4
    report = (out / "report" / "report.md").read_text()
    assert "CC BY-NC-SA 3.0" in report and "rmse_vs_distance.png" in report
    assert "rmse_vs_lines.png" not in report  # one line count: no RMSE-vs-lines figure
    assert (out / "report" / "rmse_vs_distance.png").stat().st_size > 1000
    assert len((out / "report" / "frames.csv").read_text().splitlines()) == 5


def test_independent_scorer_gives_the_same_numbers(evaluated: tuple[Path, str]) -> None:
    out, _ = evaluated
    document = json.loads((out / "report" / "metrics.json").read_text())
    scorer = _independent_scorer()
    scores = scorer.score_folder(out / "pred" / "lines_16")
    assert scores["frames"] == 4
    for name in METRICS:
        assert scores[name] == pytest.approx(document[name], rel=1e-9, abs=1e-12)
    assert scorer.main([str(out / "pred"), "--json", str(out / "report" / "metrics.json")]) == 0


def test_offline_figures_equal_the_heldout_protocol(evaluated: tuple[Path, str],
                                                    sample_dir: Path) -> None:
    """The bag path (conversions, sync, tf, pipeline) scores like the protocol on the raw files,
    up to the 1/256 m PNG encoding."""
    out, _ = evaluated
    document = json.loads((out / "report" / "metrics.json").read_text())
    model = get_model("nearest")
    rmse = []
    for frame in open_sequence(sample_dir):
        camera = frame.calibration.camera(2, 1242, 375)
        prepared = heldout.prepare_frame(frame.points, frame.calibration.lidar_to_camera(),
                                         camera, "16")
        depth = model.predict(frame.image, prepared.sparse, camera.intrinsics()).depth
        rmse.append(heldout.score_frame(depth, prepared).rmse_mm)
    assert document["rmse"] == pytest.approx(np.mean(rmse), rel=2e-3)
