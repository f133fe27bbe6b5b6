"""SAN's RGB-only prediction against the per-pixel median-depth prior of its training frames,
and its completion mode beside the classical model, on held-out frames. A measurement for the
model card (issue 12's acceptance); nothing is trained here.

- **Prior** (:func:`depth_completion_ros.evaluation.prior.median_depth_prior`): per pixel of the
  1216x352 KITTI crop, the median depth over the training frames of ``--train-config`` (every
  usable frame of its ``data.train``: all LiDAR beams projected, occlusion-filtered as the
  evaluation's ground truth). ``--dense-prior`` also scores a stronger prior: the median of each
  training frame's classical completion of all its beams.
- **Prediction**: SAN on the image alone (no LiDAR), scored on every ring of the frame's scan
  (the evaluation's 0-line split: all beams hidden, occlusion-filtered, KITTI crop). The prior
  is scored on the same pixels.
- **Completion**: SAN and ``classical`` on the frame's input rings at 32 / 16 / 8 / 4 lines,
  scored on the held-out rings (the evaluation's split).
- **Measured pixels**: at the input pixels of the 16-line split, the mean |depth - measurement|
  of completion and of prediction (completion uses the LiDAR when it is closer there).
- **Confidence**: per frame, MAE of SAN's more confident half of the scored pixels vs the rest.
- **Rows**: the prediction's error by band of crop rows (share of the scored pixels, RMSE, median
  signed error, share of the squared error): where an RGB-only network's errors come from.

Run::

    .venv/bin/python benchmarks/san_prediction.py CHECKPOINT \\
        --train-config config/train/san_small_selfsup.yaml \\
        --drive ../shared/data/kitti_raw_2011_09_26_seq16 --json scores.json

Data: KITTI (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from depth_completion_ros.benchmark.machine import describe, machine_info
from depth_completion_ros.evaluation.heldout import (
    confidence_ranking,
    cut,
    iter_drive_scans,
    score_frame,
)
from depth_completion_ros.evaluation.prior import median_depth_prior
from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.metrics.devkit import frame_metrics, mean_metrics
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import read_checkpoint
from depth_completion_ros.training.config import load_config
from depth_completion_ros.training.data import TrainingSet, heldout_sample
from depth_completion_ros.training.sources import ScanFrame


def training_priors(config_path: Path, dense: bool) -> dict[str, np.ndarray]:
    """The median-depth prior(s) of the config's distinct training frames, on the KITTI crop."""
    config = load_config(config_path)
    dataset = TrainingSet(config.data.train, cache=False,
                          prediction_only=config.data.prediction_only_frames)
    raw, completed = [], []
    classical = get_model("classical")
    seen: set[str] = set()
    for index in range(len(dataset)):
        if dataset.names[index] in seen:   # a frame listed more than once counts once
            continue
        seen.add(dataset.names[index])
        frame = dataset.frame(index)
        if not isinstance(frame, ScanFrame):
            continue
        sample = heldout_sample(frame, 0)   # every ring the target, on the KITTI crop
        raw.append(sample.target)
        if dense:
            completed.append(classical.predict(sample.rgb, sample.target, sample.K).depth)
    priors = {"prior": median_depth_prior(raw)}
    if dense:
        priors["dense_prior"] = median_depth_prior(completed)
    print(f"prior from {len(raw)} training frames of {config_path.name}: "
          f"{dataset.describe()}", flush=True)
    return priors


def row_bands(signed: list[tuple[np.ndarray, np.ndarray]],
              edges: tuple[int, ...] = (0, 96, 160, 224, 352)) -> dict[str, float]:
    """Errors of the scored pixels of all frames by band of crop rows (printed)."""
    rows = np.concatenate([r for r, _ in signed])
    error = np.concatenate([e for _, e in signed])
    error = np.where(np.isfinite(error), error, 0.0)
    total = float((error ** 2).sum())
    out: dict[str, float] = {}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        band = (rows >= lo) & (rows < hi)
        if not band.any():
            continue
        sse = float((error[band] ** 2).sum())
        key = f"rows_{lo}_{hi}"
        out.update({f"{key}_share_pixels": float(band.mean()),
                    f"{key}_rmse_mm": 1000 * float(np.sqrt(sse / band.sum())),
                    f"{key}_median_error_mm": 1000 * float(np.median(error[band])),
                    f"{key}_share_sse": sse / total})
        print(f"prediction, crop rows {lo}-{hi}: {100 * band.mean():.1f} % of the pixels, "
              f"RMSE {np.sqrt(sse / band.sum()):.2f} m, median error "
              f"{np.median(error[band]):+.2f} m, {100 * sse / total:.1f} % of the squared error")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--train-config", type=Path, required=True)
    parser.add_argument("--drive", type=Path, required=True)
    parser.add_argument("--lines", type=int, nargs="+", default=[32, 16, 8, 4])
    parser.add_argument("--dense-prior", action="store_true")
    parser.add_argument("--max-frames", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    priors = training_priors(args.train_config, args.dense_prior)
    meta, _ = read_checkpoint(args.checkpoint)
    san = get_model(meta.model, meta.config, checkpoint=args.checkpoint, device="cpu")
    classical = get_model("classical")
    per: dict[str, list] = {}
    ranking: dict[str, list[tuple[float, float]]] = {}
    measured: dict[str, list[float]] = {"completion": [], "prediction": []}
    seconds: list[float] = []
    signed: list[tuple[np.ndarray, np.ndarray]] = []  # (crop row, prediction - truth) per pixel
    frames = 0
    for frames, scan in enumerate(iter_drive_scans(args.drive, args.max_frames), 1):
        hidden = scan.split(0)
        tick = time.monotonic()
        prediction = san.predict(scan.rgb, None, scan.K)
        seconds.append(time.monotonic() - tick)
        per.setdefault("san_prediction", []).append(score_frame(prediction.depth, hidden))
        ranking.setdefault("prediction", []).append(
            confidence_ranking(prediction.depth, prediction.confidence, hidden))
        scored = hidden.groundtruth > 0
        signed.append((np.nonzero(scored)[0],
                       cut(prediction.depth, hidden.crop)[scored] - hidden.groundtruth[scored]))
        box = KITTI_CROP.box(*scan.rgb.shape[:2], clamp=True)
        assert box == hidden.crop, "the prior's crop and the scored crop differ"
        for name, prior in priors.items():
            per.setdefault(name, []).append(frame_metrics(prior, hidden.groundtruth))
        for lines in args.lines:
            split = scan.split(lines)
            out = san.predict(scan.rgb, split.sparse, scan.K)
            per.setdefault(f"san_{lines}", []).append(score_frame(out.depth, split))
            per.setdefault(f"classical_{lines}", []).append(
                score_frame(classical.predict(scan.rgb, split.sparse, scan.K).depth, split))
            ranking.setdefault(f"completion_{lines}", []).append(
                confidence_ranking(out.depth, out.confidence, split))
            if lines == 16:
                at = (split.sparse > 0) & np.isfinite(out.depth) \
                    & np.isfinite(prediction.depth)
                measured["completion"].append(float(np.abs(out.depth[at] - split.sparse[at])
                                                    .mean()))
                measured["prediction"].append(float(np.abs(prediction.depth[at]
                                                           - split.sparse[at]).mean()))
        print(f"frame {frames - 1}: prediction {seconds[-1]:.1f} s", flush=True)
    table: dict[str, dict[str, float]] = {}
    print(f"\n{args.drive.name}: {frames} frames (never trained on); RMSE / MAE mm")
    for name, scores in per.items():
        mean = mean_metrics(scores)
        assert mean is not None
        table[name] = {"rmse_mm": mean.rmse_mm, "mae_mm": mean.mae_mm}
    base = table["prior"]["rmse_mm"]
    for name in ["prior", *(["dense_prior"] if "dense_prior" in table else []),
                 "san_prediction"]:
        row = table[name]
        print(f"all beams   {name:<16} {row['rmse_mm']:8.1f} {row['mae_mm']:8.1f} "
              f"({100 * (row['rmse_mm'] / base - 1):+.1f} % RMSE against the prior)")
    for lines in args.lines:
        for name in (f"classical_{lines}", f"san_{lines}"):
            row = table[name]
            print(f"{lines:>3} lines   {name:<16} {row['rmse_mm']:8.1f} {row['mae_mm']:8.1f}")
    for key, pairs in ranking.items():
        hi, lo = np.mean(pairs, axis=0)
        wins = sum(h < low for h, low in pairs)
        table[f"confidence_{key}"] = {"mae_mm_confident_half": 1000 * hi,
                                      "mae_mm_other_half": 1000 * lo, "frames_ranked": wins}
        print(f"confidence, {key}: MAE {1000 * hi:.0f} mm on the more confident half vs "
              f"{1000 * lo:.0f} mm on the rest ({wins}/{len(pairs)} frames)")
    table["prediction_rows"] = row_bands(signed)
    closer = {k: 1000 * float(np.mean(v)) for k, v in measured.items()}
    table["measured_pixels_16"] = closer
    print(f"at the 16-line input pixels: |depth - measurement| {closer['completion']:.0f} mm "
          f"in completion vs {closer['prediction']:.0f} mm in prediction")
    machine = describe(machine_info())
    print(f"san prediction: {np.median(seconds):.1f} s per frame (median), {machine}")
    if args.json:
        args.json.write_text(json.dumps({"drive": args.drive.name, "frames": frames,
                                         "checkpoint": args.checkpoint.name,
                                         "train_config": args.train_config.name,
                                         "machine": machine, "scores": table}, indent=2))


if __name__ == "__main__":
    main()
