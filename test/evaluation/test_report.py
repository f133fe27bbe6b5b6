"""Report pieces: the node table, line-count tick labels, error dots, section insertion."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from depth_completion_ros.evaluation.offline import Snapshot
from depth_completion_ros.evaluation.report import (
    append_section,
    error_points,
    line_tick,
    node_section,
)
from depth_completion_ros.evaluation.results import LinesSummary
from depth_completion_ros.metrics.devkit import DepthMetrics


def _summary(lines: int, metrics: DepthMetrics | None, skipped: dict[str, int]) -> LinesSummary:
    return LinesSummary(lines, 0 if metrics is None else 4, skipped, metrics, {}, 1.0, 2.0)


def test_line_ticks_say_why_a_point_is_missing() -> None:
    assert line_tick(64, None) == "64\n(not scored)"
    assert line_tick(0, _summary(0, None, {"not servable: no RGB-only model": 4})) == \
        "0\n(not servable)"


def test_node_section_is_a_markdown_table() -> None:
    assert node_section(None) == []
    lines = node_section({"images sent": 4, "unaccounted": 0})
    assert lines[2:6] == ["| figure | value |", "|---|---|", "| images sent | 4 |",
                          "| unaccounted | 0 |"]


def test_error_points_dilate_the_largest_error_and_leave_the_rest_nan() -> None:
    gt = np.zeros((7, 9), np.float32)
    gt[3, 2], gt[3, 6] = 10.0, 20.0
    depth = np.full_like(gt, 12.0)  # errors: 2 m at (3, 2), 8 m at (3, 6)
    snap = Snapshot(32, 0, np.zeros((7, 9, 3), np.uint8), depth, np.zeros_like(gt), gt)
    dots = error_points(snap, radius=1)
    assert dots[2, 1] == 2.0 and dots[4, 3] == 2.0 and dots[3, 5] == 8.0
    assert np.isnan(dots[3, 4]) and np.isnan(dots[0, 0])
    assert np.count_nonzero(np.isfinite(dots)) == 18


def test_append_section_goes_before_the_license(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text("# R\n\n## Figures\n\n## Data license\n\nKITTI\n")
    append_section(report, "Sweep", ["table"])
    text = report.read_text()
    assert text.index("## Sweep") < text.index("## Data license")
    assert text.endswith("## Data license\n\nKITTI\n") and "table" in text
