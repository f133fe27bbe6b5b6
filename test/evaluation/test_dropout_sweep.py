"""evaluate --dropout-sweep: the stale-scan tier at each age against RGB-only, on held-out beams."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.cli.main import main
from depth_completion_ros.evaluation.dropout_sweep import SweepResult, SweepRow
from depth_completion_ros.metrics.devkit import DepthMetrics
from depth_completion_ros.models import registry
from depth_completion_ros.models.base import CompletionOutput, ModelInput, ModelSpec


@dataclass(frozen=True)
class _Config:
    pass


class _Constant:
    """RGB-only stand-in: 15 m everywhere."""

    spec = ModelSpec("test_constant", required=(ModelInput.RGB,), description="test stand-in")
    name = spec.name

    def predict(self, rgb, sparse_depth, K):
        return CompletionOutput(np.full(rgb.shape[:2], 15.0, np.float32),
                                np.full(rgb.shape[:2], 0.5, np.float32))


def _metrics(rmse: float) -> DepthMetrics:
    return DepthMetrics(rmse, rmse / 2, 0, 0, 0, 0, 0, 0, 0, 1)


def test_switch_age_and_time_constant_from_rows():
    rows = [SweepRow(0.0, 5, _metrics(2490.0), _metrics(4000.0)),
            SweepRow(1.0, 5, _metrics(3620.0), _metrics(4000.0)),
            SweepRow(2.0, 5, _metrics(5290.0), _metrics(4000.0))]
    result = SweepResult(rows, "san")
    assert result.switch_age == 2.0
    assert result.time_constant == pytest.approx(2.66, abs=0.01)
    assert "RGB-only wins from a scan age of 2 s" in result.table()
    assert SweepResult(rows[:2], "san").verdict().startswith("stale scan wins at every age")


def test_sweep_on_the_sample_bag(sample_bag: Path, tmp_path: Path, capsys):
    with registry.temporary_model(_Constant.spec, factory=lambda cfg, **kw: _Constant(),
                                  config_cls=_Config):
        code = main(["evaluate", str(sample_bag), "--model", "classical", "--heldout-beams",
                     "--dropout-sweep", "--dropout-model", "test_constant",
                     "--ages", "0", "0.1", "0.2", "--report", str(tmp_path / "r")])
    assert code == 0
    out = capsys.readouterr().out
    import json
    document = json.loads((tmp_path / "r" / "dropout_sweep.json").read_text())
    rows = document["rows"]
    assert [r["age_s"] for r in rows] == [0.0, 0.1, 0.2] and rows[0]["frames"] == 2
    stale = [r["stale"]["rmse_mm"] for r in rows]
    assert stale[0] < stale[1]  # the frame's own scan beats the one 0.1 s earlier
    assert len({r["rgb_only"]["rmse_mm"] for r in rows}) == 1  # the same frames at every age
    assert rows[0]["rgb_only"]["rmse_mm"] > stale[0]
    assert "| 0.1 | 2 |" in out and ("stale scan wins" in out or "RGB-only wins" in out)
    assert (tmp_path / "r" / "dropout_sweep.md").is_file()
