"""Per-frame rows and aggregates of an evaluation, written as CSV and JSON.

Aggregates follow the KITTI devkit: the mean of the per-frame metrics, reported under the
devkit's names ``rmse`` and ``mae`` (mm), ``irmse`` and ``imae`` (1/km), plus ``abs_rel``,
``sq_rel``, ``delta1..3``.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from depth_completion_ros.metrics.devkit import DISTANCE_BINS, DepthMetrics, mean_metrics
from depth_completion_ros.status import FrameStatus

#: DepthMetrics field -> the devkit's name in reports, CSV and JSON.
DEVKIT_NAMES = {"rmse_mm": "rmse", "mae_mm": "mae", "irmse_per_km": "irmse",
                "imae_per_km": "imae", "abs_rel": "abs_rel", "sq_rel": "sq_rel",
                "delta1": "delta1", "delta2": "delta2", "delta3": "delta3",
                "num_pixels": "num_pixels"}
UNITS = {"rmse": "mm", "mae": "mm", "irmse": "1/km", "imae": "1/km"}


def devkit_dict(metrics: DepthMetrics | None) -> dict[str, float] | None:
    """Metrics under the devkit's names (``rmse``, ``mae`` ... ), None stays None."""
    if metrics is None:
        return None
    return {DEVKIT_NAMES[k]: v for k, v in metrics.as_dict().items()}


def bin_label(bounds: tuple[float, float]) -> str:
    """``(0.0, 20.0)`` -> ``"0-20m"``."""
    return f"{bounds[0]:g}-{bounds[1]:g}m"


@dataclass
class FrameRow:
    """One frame at one LiDAR line count.

    Attributes:
        lines: LiDAR lines given to the model (0 = none).
        frame: image index in the bag (-1: a bad message that is not an image).
        stamp_ns: image stamp.
        status: "scored", or why not ("no ground truth", "not servable: ...", "not delivered",
            "bad message" or "rings refused": see ``reason``).
        mode: pipeline mode ("completion" / "prediction"), empty when not run.
        latency_ms: pipeline time (offline) or image-stamp-to-output receive time (online).
        metrics: devkit metrics on the scored pixels, or None.
        bins: distance bin label -> metrics (None for an empty bin).
        reason: what was wrong with a bad message (its topic and the decoder's error) or with
            the cloud's rings, else "".
    """

    lines: int
    frame: int
    stamp_ns: int
    status: str
    mode: str = ""
    latency_ms: float = float("nan")
    metrics: DepthMetrics | None = None
    bins: dict[str, DepthMetrics | None] = field(default_factory=dict)
    reason: str = ""


@dataclass
class LinesSummary:
    """Aggregate of one line count: devkit means over the scored frames."""

    lines: int
    scored: int
    skipped: dict[str, int]
    metrics: DepthMetrics | None
    bins: dict[str, DepthMetrics | None]
    latency_ms_median: float
    latency_ms_p95: float


def summarise(rows: list[FrameRow], lines: int) -> LinesSummary:
    """Aggregate the rows of one line count (means over frames with status "scored")."""
    mine = [r for r in rows if r.lines == lines]
    scored = [r for r in mine if r.status == FrameStatus.SCORED]
    skipped: dict[str, int] = {}
    for row in mine:
        if row.status != FrameStatus.SCORED:
            skipped[row.status] = skipped.get(row.status, 0) + 1
    latencies = np.array([r.latency_ms for r in scored if np.isfinite(r.latency_ms)])
    bins = {bin_label(b): mean_metrics([r.bins.get(bin_label(b)) for r in scored])
            for b in DISTANCE_BINS}
    return LinesSummary(
        lines, len(scored), skipped, mean_metrics([r.metrics for r in scored]), bins,
        float(np.median(latencies)) if latencies.size else float("nan"),
        float(np.percentile(latencies, 95)) if latencies.size else float("nan"))


def bad_messages(rows: list[FrameRow], lines: int) -> list[FrameRow]:
    """One row per message the decoders rejected: its row at ``lines`` (every line count has
    one, so that each summary counts it)."""
    return [r for r in rows if r.status == FrameStatus.BAD_MESSAGE and r.lines == lines]


def rings_refused(rows: list[FrameRow]) -> list[FrameRow]:
    """One row per frame whose cloud's rings were refused (its first line count's row)."""
    seen: set[int] = set()
    first = []
    for row in rows:
        if row.status == FrameStatus.RINGS_REFUSED and row.frame not in seen:
            seen.add(row.frame)
            first.append(row)
    return first


def write_csv(rows: list[FrameRow], path: str | Path) -> None:
    """One line per frame and line count: ids, status (and reason), latency, every metric,
    per-bin RMSE/MAE."""
    names = list(DEVKIT_NAMES.values())
    labels = [bin_label(b) for b in DISTANCE_BINS]
    header = ["lines", "frame", "stamp_ns", "status", "reason", "mode", "latency_ms", *names,
              *[f"{k}_{label}" for label in labels for k in ("rmse", "mae")]]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for r in rows:
            values = devkit_dict(r.metrics) or {}
            per_bin = [(devkit_dict(r.bins.get(label)) or {}).get(k, "")
                       for label in labels for k in ("rmse", "mae")]
            writer.writerow([r.lines, r.frame, r.stamp_ns, r.status, r.reason, r.mode,
                             f"{r.latency_ms:.3f}", *[values.get(n, "") for n in names],
                             *per_bin])


def to_json(rows: list[FrameRow], summaries: list[LinesSummary],
            meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: ``meta``, the headline aggregate at top level under the devkit names,
    one aggregate per line count (``by_lines``), and per-frame rows (``frames``)."""
    headline = next((s for s in summaries if s.metrics is not None), None)
    return {
        **meta,
        **((devkit_dict(headline.metrics) if headline else None) or {}),
        "headline_lines": headline.lines if headline else None,
        "units": UNITS,
        "by_lines": [_summary_json(s) for s in summaries],
        "frames": [_row_json(r) for r in rows],
    }


def write_json(document: dict[str, Any], path: str | Path) -> None:
    """Write the JSON document (NaN written as null)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(_nan_to_none(document), indent=2))


def _summary_json(s: LinesSummary) -> dict[str, Any]:
    return {"lines": s.lines, "frames_scored": s.scored, "frames_skipped": s.skipped,
            "metrics": devkit_dict(s.metrics),
            "bins": {k: devkit_dict(v) for k, v in s.bins.items()},
            "latency_ms_median": s.latency_ms_median, "latency_ms_p95": s.latency_ms_p95}


def _row_json(r: FrameRow) -> dict[str, Any]:
    return {"lines": r.lines, "frame": r.frame, "stamp_ns": r.stamp_ns, "status": r.status,
            "reason": r.reason, "mode": r.mode, "latency_ms": r.latency_ms,
            "metrics": devkit_dict(r.metrics),
            "bins": {k: devkit_dict(v) for k, v in r.bins.items()}}


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
