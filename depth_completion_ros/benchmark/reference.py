"""The acceptance comparison: a model against the authors' IP-Basic on the held-out-beam frames.

Accuracy: devkit RMSE / MAE of both on the protocol's hidden beams
(:mod:`depth_completion_ros.evaluation.heldout`, ``variant`` lines in), full-size predictions
scored on KITTI's crop. Time: both on the same inputs cut to KITTI's 1216x352 crop (the
issue's frame size), after one untimed call per frame, ``repeats`` timed calls each, the order
of the two alternating from call to call; the model's time is its own ``predict`` time (its
confidence included), the reference's its ``fill_in_fast`` call.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from depth_completion_ros.arrays import Array
from depth_completion_ros.benchmark.latency import percentiles, time_reference
from depth_completion_ros.evaluation.heldout import iter_drive, score_frame
from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.metrics.devkit import DepthMetrics, mean_metrics
from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.third_party.ip_basic.fill_in_fast import fill_in_fast

REFERENCE = "IP-Basic (authors' fill_in_fast, extrapolate, gaussian)"


def reference_depth(sparse: Array) -> Array:
    """The authors' fill of ``sparse`` (not modified), NaN where it leaves no estimate."""
    depth = fill_in_fast(sparse.astype(np.float32, copy=True), extrapolate=True,
                         blur_type="gaussian")
    depth[depth <= 0.1] = np.nan
    return depth


def _model_ms(model: DepthModel, sparse: Array, K: Array) -> float:
    start = time.perf_counter()
    out = model.predict(None, sparse, K)
    return out.timings_ms.get("model", 1e3 * (time.perf_counter() - start))


def compare(model: DepthModel, root: str | Path, variant: str, repeats: int) -> dict[str, Any]:
    """Scores and crop times of ``model`` and the reference on every frame of a drive."""
    scores: dict[str, list[DepthMetrics]] = {"model": [], "reference": []}
    times: dict[str, list[float]] = {"model": [], "reference": []}
    frames = 0
    for _rgb, K, frame in iter_drive(root, variant):
        frames += 1
        scores["model"].append(score_frame(model.predict(None, frame.sparse, K).depth, frame))
        scores["reference"].append(score_frame(reference_depth(frame.sparse), frame))
        x0, y0, w, h = KITTI_CROP.box(*frame.sparse.shape)
        crop = np.ascontiguousarray(frame.sparse[y0:y0 + h, x0:x0 + w])
        K_crop = K.copy()
        K_crop[0, 2] -= x0
        K_crop[1, 2] -= y0
        _model_ms(model, crop, K_crop), time_reference(crop)  # untimed first call
        for rep in range(repeats):
            for name in ("reference", "model") if rep % 2 else ("model", "reference"):
                times[name].append(_model_ms(model, crop, K_crop) if name == "model"
                                   else time_reference(crop))
    metrics = {name: mean_metrics(values) for name, values in scores.items()}
    stats = {name: percentiles(values) for name, values in times.items()}
    return {"drive": Path(root).name, "variant_lines_in": int(variant), "frames": frames,
            "model": model.name, "reference": REFERENCE, "crop": "1216x352",
            "rmse_mm": {k: round(m.rmse_mm, 1) for k, m in metrics.items() if m is not None},
            "mae_mm": {k: round(m.mae_mm, 1) for k, m in metrics.items() if m is not None},
            "crop_ms": stats,
            "model_over_reference": round(stats["model"]["p50"] / stats["reference"]["p50"], 3)}
