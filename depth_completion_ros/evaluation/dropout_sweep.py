"""``evaluate BAG --dropout-sweep``: from which scan age on does RGB-only prediction beat a stale
scan, measured on the user's own bag.

For every age ``a`` (seconds) and every frame ``i`` of the bag that has a cloud, the stale-scan
tier is the completion model run on frame ``i``'s image with the input rings of the frame ``j``
whose stamp is nearest to ``stamp_i - a`` (no motion compensation, as the node without
odometry), and the RGB-only tier is the dropout model on frame ``i``'s image alone; both are
scored on frame ``i``'s hidden rings (the held-out-beam protocol). Only frames that have a scan
at every age are scored, so each row holds the same frames. The result gives the first age at
which RGB-only wins (the node's ``stale_scan_max_age``) and the confidence time constant whose
``exp(-age / tau)`` follows the stale scan's error growth (``stale_confidence_time_constant``).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depth_completion_ros.arrays import Array, Float64Array
from depth_completion_ros.dropout.policy import fit_time_constant
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.evaluation.frames import EvalFrame, iter_bag_frames
from depth_completion_ros.evaluation.offline import EvaluationSetup, make_target
from depth_completion_ros.evaluation.scoring import RingError, ScoringTarget, score
from depth_completion_ros.evaluation.session import (
    EvaluationRequest,
    build_pipeline,
    prepare_setup,
)
from depth_completion_ros.metrics.devkit import DepthMetrics, mean_metrics
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.status import Mode

DEFAULT_AGES = (0.0, 0.1, 0.3, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class SweepRow:
    """One age: frames scored, the stale scan's and RGB-only's mean metrics (None: not run)."""

    age: float
    frames: int
    stale: DepthMetrics | None
    rgb_only: DepthMetrics | None


@dataclass(frozen=True)
class SweepResult:
    """The sweep's rows, the dropout model's name ("" when none) and the figures drawn from it."""

    rows: list[SweepRow]
    dropout_model: str

    @property
    def switch_age(self) -> float | None:
        """The first age at which RGB-only has the lower RMSE, or None."""
        for row in self.rows:
            if row.stale is not None and row.rgb_only is not None and \
                    row.rgb_only.rmse_mm < row.stale.rmse_mm:
                return row.age
        return None

    @property
    def time_constant(self) -> float | None:
        """Seconds; ``exp(-age / tau)`` fitted to RMSE(age 0) / RMSE(age), or None."""
        rows = [r for r in self.rows if r.stale is not None]
        if not rows or rows[0].age != 0.0:
            return None
        return fit_time_constant([r.age for r in rows],
                                 [r.stale.rmse_mm for r in rows if r.stale is not None])

    def table(self) -> str:
        """Markdown table (RMSE / MAE in mm) and the verdict lines."""
        name = self.dropout_model or "no dropout model"
        lines = [f"| scan age (s) | frames | stale scan RMSE / MAE (mm) | RGB-only ({name}) "
                 "RMSE / MAE (mm) | better |", "| --- | --- | --- | --- | --- |"]
        for row in self.rows:
            lines.append(f"| {row.age:g} | {row.frames} | {_figures(row.stale)} | "
                         f"{_figures(row.rgb_only)} | {_winner(row)} |")
        return "\n".join(lines + ["", self.verdict()])

    def verdict(self) -> str:
        """The switch-over age and the fitted time constant, in words."""
        tau = self.time_constant
        fitted = f"stale_confidence_time_constant fitted to the stale scan's RMSE growth: " \
            f"{tau:.2f} s" if tau is not None else \
            "stale_confidence_time_constant: no fit (the error does not grow with age)"
        if not self.dropout_model:
            switch = "no dropout model given (--dropout-model): the switch-over age is not measured"
        elif self.switch_age is None:
            switch = "stale scan wins at every age tested"
        else:
            switch = f"RGB-only wins from a scan age of {self.switch_age:g} s " \
                "(stale_scan_max_age: just below it)"
        return f"{switch}\n{fitted}"

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"dropout_model": self.dropout_model, "switch_age_s": self.switch_age,
                "time_constant_s": self.time_constant,
                "rows": [{"age_s": r.age, "frames": r.frames,
                          "stale": r.stale.as_dict() if r.stale else None,
                          "rgb_only": r.rgb_only.as_dict() if r.rgb_only else None}
                         for r in self.rows]}

    def write(self, folder: Path) -> Path:
        """``dropout_sweep.md`` and ``dropout_sweep.json`` into ``folder``; the Markdown path."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "dropout_sweep.json").write_text(json.dumps(self.as_dict(), indent=2))
        path = folder / "dropout_sweep.md"
        path.write_text(f"# LiDAR dropout sweep\n\n{__doc__.split(chr(10) + chr(10))[1]}\n\n"
                        f"{self.table()}\n")
        return path


def _figures(metrics: DepthMetrics | None) -> str:
    return "-" if metrics is None else f"{metrics.rmse_mm:.1f} / {metrics.mae_mm:.1f}"


def _winner(row: SweepRow) -> str:
    if row.stale is None or row.rgb_only is None:
        return "-"
    return "RGB-only" if row.rgb_only.rmse_mm < row.stale.rmse_mm else "stale scan"


def _scored_frames(setup: EvaluationSetup, lines: int, transform: Array
                   ) -> list[tuple[EvalFrame, ScoringTarget]]:
    """The bag's frames that have a cloud and hidden beams, with their targets."""
    out = []
    for frame in iter_bag_frames(setup.bag, setup.topics, setup.sync):
        if not isinstance(frame, EvalFrame) or frame.points is None:
            continue
        try:
            target = make_target(frame, lines, setup, transform)
        except RingError:
            continue
        if target is not None and target.input_points is not None:
            out.append((frame, target))
    return out


def _source_index(stamps: Float64Array, i: int, age: float, tolerance: float) -> int | None:
    """Index of the frame at or before ``i`` whose stamp is nearest ``stamps[i] - age``."""
    j = int(np.argmin(np.abs(stamps[:i + 1] - (stamps[i] - age))))
    return j if abs(stamps[i] - stamps[j] - age) <= tolerance else None


def dropout_sweep(setup: EvaluationSetup, pipeline: DepthPipeline, transform: Array,
                  ages: Sequence[float] = DEFAULT_AGES, lines: int = 32) -> SweepResult:
    """Score the stale-scan tier at each age against RGB-only (see the module docstring).

    Args:
        setup: the bag (held-out beams: ``setup.groundtruth`` None).
        pipeline: the completion model and, as its dropout model, the RGB-only one (optional).
        transform: (4, 4) LiDAR -> camera.
        ages: seconds, ascending, starting at 0 for the time-constant fit.
        lines: input lines of the protocol.

    Raises:
        ConfigError: ages not ascending or negative, or no frame has a scan at every age.
    """
    if list(ages) != sorted(ages) or min(ages) < 0:
        raise ConfigError(f"--ages: expected ascending ages >= 0 s, got {list(ages)}")
    frames = _scored_frames(setup, lines, transform)
    stamps = np.array([f.stamp_ns for f, _ in frames], np.float64) / 1e9
    period = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 0.1
    found = {i: [_source_index(stamps, i, a, period / 2) for a in ages]
             for i in range(len(frames))}
    sources = {i: [j for j in js if j is not None] for i, js in found.items()}
    usable = [i for i in found if len(sources[i]) == len(ages)]
    if not usable:
        raise ConfigError(f"no frame of the bag has a scan at every age of {list(ages)} s "
                          f"(frame period {period:.3f} s, {len(frames)} frames)")
    rgb_only = pipeline.model_for(Mode.PREDICTION)
    predicted = {i: _score(pipeline, frames[i], None) for i in usable} if rgb_only else {}
    rows = []
    for k, age in enumerate(ages):
        stale = [_score(pipeline, frames[i], frames[sources[i][k]][1].input_points)
                 for i in usable]
        rows.append(SweepRow(age, len(usable), mean_metrics(stale),
                             mean_metrics(list(predicted.values())) if rgb_only else None))
    return SweepResult(rows, rgb_only.name if rgb_only is not None else "")


def run_dropout_sweep(request: EvaluationRequest, ages: Sequence[float] = DEFAULT_AGES
                      ) -> tuple[SweepResult, Path]:
    """``evaluate BAG --heldout-beams --dropout-sweep``: the sweep of ``request`` (its model,
    dropout model, bag, topics, calibration; 32 lines unless ``--lines``), written to its
    report folder.

    Raises:
        ConfigError: KITTI ground truth instead of held-out beams, online, or bad ages.
    """
    if request.gt_dir is not None or request.online:
        raise ConfigError("--dropout-sweep scores offline on held-out beams: use "
                          "--heldout-beams without --online")
    lines = request.lines if request.lines is not None else 32
    setup, transform, _ = prepare_setup(request)
    result = dropout_sweep(setup, build_pipeline(request, transform, setup.pipeline),
                           transform, ages, lines)
    return result, result.write(request.report)


def _score(pipeline: DepthPipeline, item: tuple[EvalFrame, ScoringTarget],
           points: Array | None) -> DepthMetrics | None:
    """Metrics of the frame's depth from ``points`` (None: RGB-only) on its hidden beams."""
    frame, target = item
    result = pipeline.process(frame.rgb, frame.camera, points)
    return score(result.depth, target)[0]
