"""``depth-completion evaluate --model nlspn`` on the sample bag: without weights one error line
and status 2; with a checkpoint of a tiny variant (config by --set, bf16 falling back to fp32 on
the CPU) the evaluation runs and scores every frame."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from depth_completion_ros.cli.main import main
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.nlspn import INPUT_SPEC
from depth_completion_ros.networks.nlspn import NLSPNNet


def _evaluate(bag: Path, report: Path, *extra: str) -> int:
    return main(["evaluate", str(bag), "--model", "nlspn", "--heldout-beams", "--lines", "32",
                 "--report", str(report), "--device", "cpu", *extra])


def test_evaluate_without_weights_is_one_error_line_and_status_2(
        sample_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert _evaluate(sample_bag, tmp_path / "report") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("depth-completion evaluate: error: model 'nlspn' has no weights")


def test_evaluate_runs_a_checkpoint_of_the_small_variant(sample_bag: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    meta = CheckpointMeta(model="nlspn", config={"backbone_depth": 18, "width": 8},
                          training_data="none (test)", input_spec=INPUT_SPEC, data_license="CC0")
    checkpoint = save_checkpoint(tmp_path / "nlspn.pt", NLSPNNet(18, 8, prop_time=2), meta)
    code = _evaluate(sample_bag, tmp_path / "report", "--checkpoint", str(checkpoint),
                     "--set", "backbone_depth=18", "--set", "width=8", "--set", "prop_time=2",
                     "--precision", "bf16")
    assert code == 0, capsys.readouterr().err
    document = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert document["model"] == "nlspn" and document["headline_lines"] == 32
    (summary,) = document["by_lines"]
    assert summary["frames_scored"] == 4 and summary["metrics"]["rmse"] > 0
