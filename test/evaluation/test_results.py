"""Aggregation over frames and the CSV / JSON outputs."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from depth_completion_ros.evaluation.results import (
    FrameRow,
    summarise,
    to_json,
    write_csv,
    write_json,
)
from depth_completion_ros.metrics.devkit import DepthMetrics


def _m(rmse: float, mae: float, pixels: int) -> DepthMetrics:
    return DepthMetrics(rmse, mae, 1.0, 2.0, 0.1, 0.2, 0.9, 0.95, 1.0, pixels)


ROWS = [FrameRow(32, 0, 10, "scored", "completion", 10.0, _m(1000, 500, 7)),
        FrameRow(32, 1, 20, "scored", "completion", 30.0, _m(3000, 700, 3)),
        FrameRow(32, 2, 30, "no ground truth"),
        FrameRow(0, 0, 10, "not servable: needs LiDAR")]


def test_summary_is_the_mean_over_scored_frames() -> None:
    s = summarise(ROWS, 32)
    assert (s.scored, s.skipped) == (2, {"no ground truth": 1})
    assert (s.metrics.rmse_mm, s.metrics.mae_mm, s.metrics.num_pixels) == (2000, 600, 10)
    assert s.latency_ms_median == 20.0
    none = summarise(ROWS, 0)
    assert none.metrics is None and none.skipped == {"not servable: needs LiDAR": 1}


def test_json_uses_devkit_names_and_null_for_nan(tmp_path: Path) -> None:
    document = to_json(ROWS, [summarise(ROWS, 32), summarise(ROWS, 0)], {"model": "m"})
    write_json(document, tmp_path / "m.json")
    loaded = json.loads((tmp_path / "m.json").read_text())
    assert (loaded["rmse"], loaded["mae"], loaded["irmse"], loaded["imae"]) == (2000, 600, 1, 2)
    assert loaded["headline_lines"] == 32 and loaded["units"]["rmse"] == "mm"
    assert loaded["frames"][2]["latency_ms"] is None and loaded["by_lines"][1]["metrics"] is None


def test_csv_has_one_row_per_frame(tmp_path: Path) -> None:
    write_csv(ROWS, tmp_path / "f.csv")
    rows = list(csv.DictReader(open(tmp_path / "f.csv")))
    assert len(rows) == 4
    assert float(rows[1]["rmse"]) == 3000 and rows[2]["rmse"] == ""
    assert rows[3]["status"] == "not servable: needs LiDAR"


@pytest.mark.parametrize("lines", [16])
def test_summary_of_absent_lines_is_empty(lines: int) -> None:
    assert summarise(ROWS, lines).scored == 0
