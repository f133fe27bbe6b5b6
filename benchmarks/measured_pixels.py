"""How far a checkpoint's depth is from its own input at the measured pixels, per input density.

A completion model's output should reproduce the LiDAR where it measured (the registry's output
test asks for a median relative error under 5 %); a network trained self-supervised on held-out
beams gets no loss at its input pixels, so this is worth measuring. On frame 0 of the embedded
KITTI sample, with all 64 rings and with the held-out protocol's 32 / 16 input lines: the median
relative error at the measured pixels and the share of the 1216x352 crop where the depth is 0 m
or less (a clamped output that is not a depth). Nothing is trained here.

Run::

    .venv/bin/python benchmarks/measured_pixels.py CHECKPOINT

Data: KITTI (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from depth_completion_ros.evaluation.heldout import split_frame
from depth_completion_ros.geometry.crop import KITTI_CROP, cut
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.geometry.rings import estimate_rings
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import read_checkpoint
from depth_completion_ros.paths import SAMPLE_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    args = parser.parse_args()
    meta, _ = read_checkpoint(args.checkpoint)
    model = get_model(meta.model, meta.config, checkpoint=args.checkpoint, device="cpu")
    frame = open_sequence(SAMPLE_DIR).frame(0)
    height, width = frame.image.shape[:2]
    camera = frame.calibration.camera(2, width, height)
    transform, rings = frame.calibration.lidar_to_camera(), estimate_rings(frame.points, cut="pi")
    inputs = {"64 rings": project_to_depth(frame.points[:, :3], transform, camera)}
    for lines in (32, 16):
        inputs[f"{lines} lines"] = split_frame(frame.points, rings, transform, camera,
                                               lines).sparse
    box = KITTI_CROP.box(height, width)
    for name, sparse in inputs.items():
        depth = model.predict(frame.image, sparse, camera.intrinsics()).depth
        hit = (sparse > 0) & np.isfinite(depth)
        rel = np.abs(depth[hit] - sparse[hit]) / sparse[hit]
        zero = cut(depth, box) <= 0
        print(f"{meta.model} {name}: median relative error at the measured pixels "
              f"{np.median(rel):.3f}, depth <= 0 m at {100 * zero.mean():.2f} % of the crop")


if __name__ == "__main__":
    main()
