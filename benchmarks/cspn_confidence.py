"""Does CSPN's derived confidence rank real errors? A measurement, not a shipped model.

1. Trains the small CSPN (ResNet-18, width 16, 24 steps) self-supervised on held-out beams of
   the 51-frame KITTI raw drive 2011_09_26_drive_0009: input the even rings (32 lines), loss
   (masked L1 + L2) on the odd rings, occlusion-filtered exactly as the evaluation's protocol
   (:mod:`depth_completion_ros.evaluation.heldout`); random 128x448 patches of the
   bottom-centre 1216x352 crop, AdamW, for ``--minutes`` of wall time on the CPU.
2. Scores frames it never saw (the 16-frame sequence of another scene and the six full-scan
   object-benchmark frames of other scenes), same protocol: per frame, the hidden pixels are
   split at the median confidence; printed are the MAE / RMSE of the more confident half and of
   the rest, for the derived confidence and for each of its two parts alone, plus the model's
   and the classical model's overall scores for context.

The checkpoint it writes is NOT shipped (a few minutes of CPU training on 51 frames is not a
usable model); ``depth-completion train`` (the training issue) makes real weights. Data: KITTI
(Geiger et al., IJRR 2013), CC BY-NC-SA 3.0, from ``../shared/data``.

Run: ``.venv/bin/python benchmarks/cspn_confidence.py [--minutes 25] [--out DIR]``
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch

from depth_completion_ros.evaluation.heldout import iter_drive, prepare_frame
from depth_completion_ros.geometry.crop import cut
from depth_completion_ros.io.kitti_calib import read_object_calib
from depth_completion_ros.io.kitti_raw import read_rgb, read_velodyne_bin
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.cspn import INPUT_SPEC, CSPNConfig, build_network
from depth_completion_ros.networks.losses import masked_l1_l2
from depth_completion_ros.paths import SHARED_DATA_DIR

TRAIN = SHARED_DATA_DIR / "kitti_raw_2011_09_26_drive_0009"
HELD_OUT = SHARED_DATA_DIR / "kitti_raw_2011_09_26_seq16"
OBJECT = SHARED_DATA_DIR / "kitti_object_extra"
CONFIG = CSPNConfig(backbone_depth=18, width=16)
PATCH = (128, 448)


def crop_tensors(rgb: np.ndarray, frame) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalised RGB, input depth and hidden target of the scoring crop, (1, C, 352, 1216)."""
    rgb_c = torch.from_numpy(cut(rgb, frame.crop).copy()).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(INPUT_SPEC.rgb_mean).view(3, 1, 1)
    std = torch.tensor(INPUT_SPEC.rgb_std).view(3, 1, 1)
    sparse = torch.from_numpy(cut(frame.sparse, frame.crop).copy())[None]
    target = torch.from_numpy(frame.groundtruth.copy())[None]
    return ((rgb_c - mean) / std)[None], sparse[None], target[None]


def object_frames():
    for name in sorted(p.stem for p in (OBJECT / "velodyne").glob("testing_*.bin")):
        rgb = read_rgb(OBJECT / "image_2" / f"{name}.png")
        calibration = read_object_calib(OBJECT / "calib" / f"{name}.txt")
        camera = calibration.camera(2, rgb.shape[1], rgb.shape[0])
        points = read_velodyne_bin(OBJECT / "velodyne" / f"{name}.bin")
        yield rgb, camera.intrinsics(), prepare_frame(points, calibration.lidar_to_camera(),
                                                      camera, "32")


def train(minutes: float, seed: int) -> tuple[torch.nn.Module, int, float]:
    frames = [crop_tensors(rgb, frame) for rgb, _, frame in iter_drive(TRAIN, "32")]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_network(CONFIG).train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    start, step, recent = time.monotonic(), 0, []
    while time.monotonic() - start < 60.0 * minutes:
        batch = []
        for index in rng.integers(0, len(frames), 4):
            rgb, sparse, target = frames[index]
            y0 = int(rng.integers(352 - 224, 352 - PATCH[0] + 1))  # LiDAR covers the lower rows
            x0 = int(rng.integers(0, 1216 - PATCH[1] + 1))
            window = (..., slice(y0, y0 + PATCH[0]), slice(x0, x0 + PATCH[1]))
            flip = rng.random() < 0.5
            parts = [t[window] for t in (rgb, sparse, target)]
            batch.append([p.flip(-1) if flip else p for p in parts])
        rgb, sparse, target = (torch.cat(ts) for ts in zip(*batch))
        optimiser.zero_grad()
        loss = masked_l1_l2(net.outputs(rgb, sparse).depth, target)
        loss.backward()
        optimiser.step()
        recent.append(loss.item())
        step += 1
        if step % 50 == 0:
            print(f"step {step:5d}  {time.monotonic() - start:7.0f} s  loss "
                  f"{np.mean(recent):.3f}", flush=True)
            recent = []
    return net.eval(), step, time.monotonic() - start


def split_scores(error: np.ndarray, confidence: np.ndarray) -> tuple[float, float, float, float]:
    """MAE and RMSE (m) of the upper and lower half of the pixels by confidence (ties broken
    at random)."""
    order = np.lexsort((np.random.default_rng(0).random(error.size), -confidence))
    top, rest = error[order[: error.size // 2]], error[order[error.size // 2:]]
    return (float(np.abs(top).mean()), float(np.sqrt(np.square(top).mean())),
            float(np.abs(rest).mean()), float(np.sqrt(np.square(rest).mean())))


def evaluate(net: torch.nn.Module, name: str, frames) -> None:
    classical = get_model("classical")
    rows: dict[str, list[tuple[float, float, float, float]]] = {
        "confidence": [], "support only": [], "spread only (exp(-spread))": []}
    overall, overall_classical = [], []
    for rgb, K, frame in frames:
        rgb_t, sparse_t, target_t = crop_tensors(rgb, frame)
        with torch.no_grad():
            out = net.outputs(rgb_t, sparse_t)
        valid = frame.groundtruth > 0
        depth = out.depth[0, 0].numpy()
        error = (depth - frame.groundtruth)[valid]
        overall.append((np.abs(error).mean(), np.sqrt(np.square(error).mean())))
        full = classical.predict(rgb, frame.sparse, K).depth
        error_c = (cut(full, frame.crop) - frame.groundtruth)[valid]
        overall_classical.append((np.abs(error_c).mean(), np.sqrt(np.square(error_c).mean())))
        for key, conf in (("confidence", out.confidence), ("support only", out.support),
                          ("spread only (exp(-spread))", torch.exp(-out.spread))):
            rows[key].append(split_scores(error, conf[0, 0].numpy()[valid]))
    print(f"\n{name}: {len(overall)} frames, held-out beams (32 lines in, odd rings scored)")
    mae, rmse = np.mean(overall, axis=0)
    mae_c, rmse_c = np.mean(overall_classical, axis=0)
    print(f"  cspn (small, probe)  MAE {1000 * mae:7.1f} mm  RMSE {1000 * rmse:7.1f} mm")
    print(f"  classical            MAE {1000 * mae_c:7.1f} mm  RMSE {1000 * rmse_c:7.1f} mm")
    print(f"  {'ranking by':28s} {'MAE top':>9s} {'MAE rest':>9s} {'RMSE top':>9s} "
          f"{'RMSE rest':>9s}  frames where top MAE < rest")
    for key, values in rows.items():
        arr = np.asarray(values)
        wins = int((arr[:, 0] < arr[:, 2]).sum())
        print(f"  {key:28s} {1000 * arr[:, 0].mean():9.1f} {1000 * arr[:, 2].mean():9.1f} "
              f"{1000 * arr[:, 1].mean():9.1f} {1000 * arr[:, 3].mean():9.1f}  "
              f"{wins}/{len(arr)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("cspn_probe"))
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, CPU fp32; config {asdict(CONFIG)}")
    net, steps, seconds = train(args.minutes, args.seed)
    print(f"trained {steps} steps in {seconds:.0f} s")
    meta = CheckpointMeta(model="cspn", config=asdict(CONFIG),
                          training_data="KITTI raw 2011_09_26_drive_0009 frames 0-50",
                          protocol=f"self-supervised held-out beams 32->odd rings, {steps} steps "
                                   f"of 4 x {PATCH[0]}x{PATCH[1]} patches (probe, not shipped)",
                          input_spec=INPUT_SPEC, data_license="CC BY-NC-SA 3.0")
    print("checkpoint:", save_checkpoint(args.out / "cspn_probe.pt", net, meta))
    evaluate(net, "KITTI raw 2011_09_26 seq16 (other scene)", iter_drive(HELD_OUT, "32"))
    evaluate(net, "KITTI object testing_000000-000005 (other scenes)", object_frames())


if __name__ == "__main__":
    cv2.setNumThreads(1)
    main()
