"""``tools/gpu_train.sh`` end to end on the CPU (the path of a machine without a GPU, in the
foreground): trains, scores the exported checkpoint through the registry next to a baseline
(the same numbers as the training's own validation), lists the exports."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from depth_completion_ros.models.checkpoint import read_checkpoint
from depth_completion_ros.paths import REPO_ROOT, SAMPLE_DIR

SCRIPT = REPO_ROOT / "tools" / "gpu_train.sh"


def test_gpu_train_script_on_the_cpu(tmp_path: Path, tiny: Callable[..., dict]):
    config, out = tmp_path / "tiny.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump(tiny(
        validation={"sources": [{"kind": "kitti_raw", "path": str(SAMPLE_DIR),
                                 "max_frames": 1}], "lines": [32], "every": 100},
        run={"max_steps": 1})))
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(["bash", str(SCRIPT), "--config", str(config), "--out", str(out),
                           "--foreground", "--baselines", "nearest"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 CUDA device(s)" in done.stdout and "cpu x 1, fp32" in done.stdout
    meta, _ = read_checkpoint(out / "best.pt")
    scores = json.loads((out / "scores.json").read_text())[str(SAMPLE_DIR)]
    assert list(scores) == ["32"]  # the validation's line counts
    learned, baseline = scores["32"]["cspn (best.pt)"], scores["32"]["nearest"]
    assert learned["frames"] == baseline["frames"] == 1
    assert learned["rmse_mm"] == pytest.approx(meta.metrics["val_rmse_mm_32"], rel=1e-9)
    assert learned["mae_mm"] == pytest.approx(meta.metrics["val_mae_mm_32"], rel=1e-9)
    assert 0 < baseline["rmse_mm"] < 10_000
    assert (f"--model cspn --set backbone_depth=18 --set width=16 --set prop_time=2 "
            f"--checkpoint {out / 'best.pt'}") in done.stdout
    assert f"deployable checkpoint {out / 'last.pt'}" in done.stdout


def test_gpu_train_script_refuses_an_unknown_option():
    done = subprocess.run(["bash", str(SCRIPT), "--minute", "3"], capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 2 and "unknown option --minute" in done.stderr
