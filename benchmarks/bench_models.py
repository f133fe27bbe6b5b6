"""Held-out-beam benchmark of the learning-free models: accuracy and speed, side by side.

For each shared drive (KITTI raw 2011_09_26 seq16 and drive 0009, CC BY-NC-SA 3.0, Geiger et al.
IJRR 2013) and each variant (64 -> 32 lines in, 16 lines in) it runs every model on the same
inputs, interleaved frame by frame so load on the machine hits all models alike, and prints the
devkit RMSE / MAE (mm), iRMSE / iMAE (1/km), the median ``predict`` time per frame (ms) and the
classical model's margins. Timing note: every model runs on the full 1242x375 KITTI image (the
protocol scores the bottom-centre 1216x352 crop of that output), confidence included, so the
per-frame times are for a slightly larger frame than the issue's 1216x352; all three models get
the same input, so the comparison is like for like.

Run: ``.venv/bin/python benchmarks/bench_models.py [--frames N]``
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from depth_completion_ros.evaluation.heldout import iter_drive, score_frame
from depth_completion_ros.metrics.devkit import mean_metrics
from depth_completion_ros.models import get_model
from depth_completion_ros.paths import SHARED_DATA_DIR

DRIVES = {"seq16": "kitti_raw_2011_09_26_seq16", "0009": "kitti_raw_2011_09_26_drive_0009"}
MODELS = ("classical", "ip_basic", "nearest")


def run_drive(root, variant: str, limit: int | None) -> dict[str, tuple]:
    models = {name: get_model(name) for name in MODELS}
    scores: dict[str, list] = {name: [] for name in MODELS}
    times: dict[str, list] = {name: [] for name in MODELS}
    for i, (rgb, K, frame) in enumerate(iter_drive(root, variant)):
        if limit is not None and i >= limit:
            break
        for name, model in models.items():
            start = time.perf_counter()
            out = model.predict(rgb, frame.sparse, K)
            times[name].append(1e3 * (time.perf_counter() - start))
            scores[name].append(score_frame(out.depth, frame))
    return {name: (mean_metrics(scores[name]), float(np.median(times[name]))) for name in MODELS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=None, help="first N frames per drive")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs,"
          f" Python {platform.python_version()}, numpy {np.__version__}")
    print(f"{'drive':6} {'lines':5} {'model':10} {'RMSE mm':>9} {'MAE mm':>8} {'iRMSE':>7} "
          f"{'iMAE':>6} {'ms/frame':>9}")
    for tag, folder in DRIVES.items():
        for variant in ("32", "16"):
            res = run_drive(SHARED_DATA_DIR / folder, variant, args.frames)
            for name, (m, ms) in res.items():
                print(f"{tag:6} {variant:5} {name:10} {m.rmse_mm:9.0f} {m.mae_mm:8.0f} "
                      f"{m.irmse_per_km:7.2f} {m.imae_per_km:6.2f} {ms:9.2f}")
            ours, ours_ms = res["classical"]
            print(f"{'':12} classical time / ip_basic time: {ours_ms / res['ip_basic'][1]:.2f}")
            for ref in ("ip_basic", "nearest"):
                r = res[ref][0]
                print(f"{'':12} classical vs {ref}: RMSE {100 * (1 - ours.rmse_mm / r.rmse_mm):+.1f}"
                      f" % lower, MAE {100 * (1 - ours.mae_mm / r.mae_mm):+.1f} % lower")


if __name__ == "__main__":
    main()
