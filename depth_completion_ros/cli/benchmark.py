"""``depth-completion benchmark``: held-out-beam scores and median time per frame of models.

Runs the held-out-beam protocol (:mod:`depth_completion_ros.evaluation.heldout`) on a KITTI raw
drive (default: the embedded 4-frame sample, KITTI CC BY-NC-SA 3.0) for the given models,
interleaved frame by frame, and prints devkit RMSE / MAE (mm) and the median ms per frame.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from depth_completion_ros.evaluation.heldout import VARIANTS, iter_drive, score_frame
from depth_completion_ros.metrics.devkit import mean_metrics
from depth_completion_ros.models import get_model
from depth_completion_ros.paths import SAMPLE_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--drive DIR, --variant 32|16, --models NAME [NAME ...], --device."""
    parser.add_argument("--drive", type=Path, default=SAMPLE_DIR, help="KITTI raw drive folder")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="32",
                        help="held-out variant: lines in")
    parser.add_argument("--models", nargs="+", default=["classical", "ip_basic", "nearest"])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")


def run(args: argparse.Namespace) -> int:
    """Print one line per model; returns 0."""
    models = {name: get_model(name, device=args.device) for name in args.models}
    scores: dict[str, list] = {name: [] for name in models}
    times: dict[str, list] = {name: [] for name in models}
    for rgb, K, frame in iter_drive(args.drive, args.variant):
        for name, model in models.items():
            start = time.perf_counter()
            out = model.predict(rgb, frame.sparse, K)
            times[name].append(1e3 * (time.perf_counter() - start))
            scores[name].append(score_frame(out.depth, frame))
    for name in models:
        m = mean_metrics(scores[name])
        print(f"{name:12} RMSE {m.rmse_mm:7.0f} mm  MAE {m.mae_mm:6.0f} mm  "
              f"median {np.median(times[name]):6.1f} ms/frame ({len(times[name])} frames, "
              f"held-out {args.variant} lines)")
    return 0
