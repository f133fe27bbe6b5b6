"""Held-out-beam scores of every model at 32, 16, 8 and 4 input lines, with a learned checkpoint
(MSPN refining ``classical``, or any other) beside the learning-free models, and whether its
confidence ranks its errors. A measurement for the model card; nothing is trained here.

For each frame of a KITTI raw drive and each line count, the scan is split by the evaluation's
own beam split (:func:`depth_completion_ros.evaluation.heldout.split_frame` with the protocol's
ring estimate: input rings ``% (64 / lines) == 0``, scored rings halfway between,
occlusion-filtered, KITTI crop); every model predicts from the same input; devkit RMSE / MAE
(mm) are averaged over frames. Confidence ranking: per frame, the scored pixels are split at the
confidence rank of the learned model (ties in pixel order); the MAE of the more confident half
and of the rest are averaged over frames. Prints a table and writes JSON with ``--json``.

Run (one torch thread: the propagation's small operations are faster so on 2 shared cores)::

    .venv/bin/python benchmarks/refinement_lines.py CHECKPOINT \\
        --drive ../shared/data/kitti_raw_2011_09_26_seq16 --json scores.json

Data: KITTI (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from depth_completion_ros.evaluation.heldout import (
    confidence_ranking,
    iter_drive_scans,
    score_frame,
)
from depth_completion_ros.metrics.devkit import mean_metrics
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import read_checkpoint

BASELINES = ("classical", "ip_basic", "nearest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--drive", type=Path, required=True)
    parser.add_argument("--lines", type=int, nargs="+", default=[32, 16, 8, 4])
    parser.add_argument("--max-frames", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    meta, _ = read_checkpoint(args.checkpoint)
    learned = get_model(meta.model, meta.config, checkpoint=args.checkpoint, device="cpu")
    models = {name: get_model(name) for name in BASELINES}
    models[meta.model] = learned
    per: dict[tuple[str, int], list] = {}
    ranking: dict[tuple[str, int], list[tuple[float, float]]] = {}
    seconds: list[float] = []
    frames = 0
    for frames, scan in enumerate(iter_drive_scans(args.drive, args.max_frames), 1):
        for lines in args.lines:
            split = scan.split(lines)
            confidences = {}
            for name, model in models.items():
                tick = time.monotonic()
                out = model.predict(scan.rgb, split.sparse, scan.K)
                confidences[name] = out.confidence
                if name == meta.model:
                    seconds.append(time.monotonic() - tick)
                    for source in (meta.model, "classical"):
                        ranking.setdefault((source, lines), []).append(
                            confidence_ranking(out.depth, confidences[source], split))
                per.setdefault((name, lines), []).append(score_frame(out.depth, split))
        print(f"frame {frames - 1}: {seconds[-1]:.1f} s for {meta.model} at {args.lines[-1]} "
              f"lines", flush=True)
    table: dict[str, dict[str, float]] = {}
    print(f"\n{args.drive.name}: {frames} frames, held-out beams; RMSE / MAE mm "
          f"(change of RMSE against classical)")
    for lines in args.lines:
        base = mean_metrics(per[("classical", lines)])
        assert base is not None
        for name in models:
            mean = mean_metrics(per[(name, lines)])
            assert mean is not None
            table[f"{name}_{lines}"] = {"rmse_mm": mean.rmse_mm, "mae_mm": mean.mae_mm}
            change = 100 * (mean.rmse_mm / base.rmse_mm - 1)
            print(f"{lines:>3} lines  {name:<10} {mean.rmse_mm:8.1f} {mean.mae_mm:8.1f} "
                  f"({change:+.1f} %)")
        for source in (meta.model, "classical"):
            pairs = ranking.get((source, lines), [])
            if not pairs:
                continue
            hi, lo = np.mean(pairs, axis=0)
            wins = sum(h < low for h, low in pairs)
            table[f"confidence_{source}_{lines}"] = {"mae_mm_confident_half": 1000 * hi,
                                                     "mae_mm_other_half": 1000 * lo,
                                                     "frames_ranked": wins}
            print(f"{lines:>3} lines  {meta.model}'s errors ranked by {source}'s confidence: MAE "
                  f"{1000 * hi:.0f} mm on the more confident half vs {1000 * lo:.0f} mm on the "
                  f"rest ({wins}/{len(pairs)} frames)")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
               f"torch {torch.__version__} with {torch.get_num_threads()} threads, load "
               f"{os.getloadavg()}")
    print(f"{meta.model}: {np.median(seconds):.1f} s per frame (median), {machine}")
    if args.json:
        args.json.write_text(json.dumps({"drive": args.drive.name, "frames": frames,
                                         "checkpoint": args.checkpoint.name,
                                         "seconds_median": float(np.median(seconds)),
                                         "machine": machine, "scores": table}, indent=2))


if __name__ == "__main__":
    main()
