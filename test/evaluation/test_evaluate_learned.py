"""``depth-completion evaluate`` with each learned model on the sample bag: without weights one
error line and status 2; with a checkpoint of a tiny variant (config by --set, bf16 falling back
to fp32 on the CPU) the evaluation runs and scores every frame."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from depth_completion_ros.cli.main import main

LEARNED = ("nlspn", "cspn")
TINY = {"backbone_depth": 18, "width": 8, "prop_time": 2}


def _evaluate(bag: Path, report: Path, model: str, *extra: str) -> int:
    return main(["evaluate", str(bag), "--model", model, "--heldout-beams", "--lines", "32",
                 "--report", str(report), "--device", "cpu", *extra])


@pytest.mark.parametrize("model", LEARNED)
def test_evaluate_without_weights_is_one_error_line_and_status_2(
        model: str, sample_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _evaluate(sample_bag, tmp_path / "report", model) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"depth-completion evaluate: error: model '{model}' has no weights")


@pytest.mark.parametrize("model", LEARNED)
def test_evaluate_runs_a_checkpoint_of_the_small_variant(model: str, sample_bag: Path,
                                                         tmp_path: Path, learned_checkpoint,
                                                         capsys: pytest.CaptureFixture) -> None:
    checkpoint = learned_checkpoint(model, tmp_path / f"{model}.pt", TINY)
    code = _evaluate(sample_bag, tmp_path / "report", model, "--checkpoint", str(checkpoint),
                     *[f"--set={key}={value}" for key, value in TINY.items()],
                     "--precision", "bf16")
    assert code == 0, capsys.readouterr().err
    document = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert document["model"] == model and document["headline_lines"] == 32
    (summary,) = document["by_lines"]
    assert summary["frames_scored"] == 4 and summary["metrics"]["rmse"] > 0


def test_evaluate_runs_the_depth_only_model_from_a_checkpoint(sample_bag: Path, tmp_path: Path,
                                                              learned_checkpoint,
                                                              capsys: pytest.CaptureFixture
                                                              ) -> None:
    """The LiDAR-only network (no image in) scored like the others."""
    checkpoint = learned_checkpoint("depth_only", tmp_path / "depth_only.pt", {"width": 8})
    code = _evaluate(sample_bag, tmp_path / "report", "depth_only", "--checkpoint",
                     str(checkpoint), "--set=width=8")
    assert code == 0, capsys.readouterr().err
    document = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert document["model"] == "depth_only"
    (summary,) = document["by_lines"]
    assert summary["frames_scored"] == 4 and summary["metrics"]["rmse"] > 0
