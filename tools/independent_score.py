#!/usr/bin/env python3
"""Independent scorer: KITTI devkit metrics from prediction / ground-truth 16-bit PNGs.

Deliberately written apart from the package (imports nothing from depth_completion_ros; plain
numpy + OpenCV PNG reading) to cross-check ``depth-completion evaluate``. It reads the folders
``--save-predictions`` writes: ``DIR/lines_<N>/prediction/*.png`` and
``DIR/lines_<N>/groundtruth/*.png`` (uint16, value / 256 = metres, 0 = none).

Per frame, over ground-truth pixels > 0, after filling invalid (0) predictions like the devkit's
``interpolateBackground`` (a gap inside a row takes the smaller neighbour, row ends the nearest
valid value, empty top / bottom rows the nearest filled row; anything left, 1 mm):
rmse, mae (mm), irmse, imae (1/km), abs_rel = mean(|e| / g), sq_rel = mean(e^2 / g^2),
delta_k = fraction with max(p/g, g/p) < 1.25^k. Aggregate = mean over frames.

Usage: ``python tools/independent_score.py DIR [--json metrics.json]`` prints one line per line
count; with ``--json`` it also prints the largest relative difference to that file's figures and
exits 1 when it exceeds ``--tolerance``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

NAMES = ("rmse", "mae", "irmse", "imae", "abs_rel", "sq_rel", "delta1", "delta2", "delta3")


def read_png_metres(path: Path) -> np.ndarray:
    """uint16 KITTI PNG -> float64 metres (0 = none)."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.dtype != np.uint16:
        raise SystemExit(f"{path}: not a 16-bit PNG")
    return raw.astype(np.float64) / 256.0


def fill_row(row: np.ndarray) -> np.ndarray:
    """Fill the zeros of one row: inner gaps with the smaller neighbour, ends with the nearest."""
    out = row.copy()
    valid = np.flatnonzero(row > 0)
    if valid.size == 0:
        return out
    for left, right in zip(valid[:-1], valid[1:]):
        if right - left > 1:
            out[left + 1:right] = min(row[left], row[right])
    out[:valid[0]] = row[valid[0]]
    out[valid[-1] + 1:] = row[valid[-1]]
    return out


def fill_background(pred: np.ndarray) -> np.ndarray:
    """Devkit-style background fill of a whole prediction (see the module docstring)."""
    out = np.stack([fill_row(r) for r in pred])
    filled_rows = [i for i in range(out.shape[0]) if (out[i] > 0).all()]
    if filled_rows:
        out[:filled_rows[0]] = out[filled_rows[0]]
        out[filled_rows[-1] + 1:] = out[filled_rows[-1]]
    out[out <= 0] = 1e-3
    return out


def frame_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Metrics of one frame (metres in; mm and 1/km out)."""
    mask = gt > 0
    p, g = fill_background(pred)[mask], gt[mask]
    e = p - g
    ratio = np.maximum(p / g, g / p)
    return {"rmse": float(np.sqrt((e**2).mean()) * 1000), "mae": float(np.abs(e).mean() * 1000),
            "irmse": float(np.sqrt(((1 / p - 1 / g) ** 2).mean()) * 1000),
            "imae": float(np.abs(1 / p - 1 / g).mean() * 1000),
            "abs_rel": float((np.abs(e) / g).mean()), "sq_rel": float((e**2 / g**2).mean()),
            **{f"delta{k}": float((ratio < 1.25**k).mean()) for k in (1, 2, 3)}}


def score_folder(folder: Path) -> dict[str, float]:
    """Mean over the frames of one ``lines_<N>`` folder."""
    frames = []
    for gt_path in sorted((folder / "groundtruth").glob("*.png")):
        pred = read_png_metres(folder / "prediction" / gt_path.name)
        frames.append(frame_scores(pred, read_png_metres(gt_path)))
    return {n: float(np.mean([f[n] for f in frames])) for n in NAMES} | {"frames": len(frames)}


def compare(scores: dict[int, dict[str, float]], document: dict) -> float:
    """Largest relative difference between ``scores`` and the evaluation JSON's aggregates."""
    worst = 0.0
    for entry in document["by_lines"]:
        mine, theirs = scores.get(entry["lines"]), entry["metrics"]
        if mine is None or theirs is None:
            continue
        for name in NAMES:
            worst = max(worst, abs(mine[name] - theirs[name]) / max(abs(theirs[name]), 1e-12))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the --save-predictions folder")
    parser.add_argument("--json", type=Path, help="evaluation JSON to compare with")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="largest relative difference")
    args = parser.parse_args(argv)
    scores = {int(d.name.split("_")[1]): score_folder(d)
              for d in sorted(args.folder.glob("lines_*")) if (d / "groundtruth").is_dir()}
    for lines, values in sorted(scores.items(), reverse=True):
        print(f"lines {lines:2d}: " + "  ".join(f"{k} {v:.6g}" for k, v in values.items()))
    if args.json is not None:
        worst = compare(scores, json.loads(args.json.read_text()))
        print(f"largest relative difference to {args.json}: {worst:.3g}")
        return 0 if worst <= args.tolerance else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
