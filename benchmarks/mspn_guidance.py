"""How much an MSPN checkpoint's learned guidance changes its depth.

MSPN's attention logits are ``q · k_n + position bias``, with q and k from the guidance network.
This runs the checkpoint twice per frame, once as it is and once with the guidance network's
output set to zero (every pixel the same q and k but for the depth terms, so the attention is
the position bias and the depth), and prints per frame the mean |difference| between the two
over the KITTI crop beside the mean |checkpoint - classical| (D0): when the first is a small
fraction of the second, what the checkpoint does to D0 comes from its fixed propagation (the
position bias, the measurements written in), not from the image. Also the position bias of the
first layer around the centre and the mean |weight| of its 1x1 query / key convolution. Nothing
is trained here.

Run::

    .venv/bin/python benchmarks/mspn_guidance.py models/mspn_small_kitti_selfsup_v1.pt \\
        --drive ../shared/data/kitti_raw_2011_09_26_seq16 --frames 4 --lines 32

Data: KITTI (Geiger et al., IJRR 2013), CC BY-NC-SA 3.0.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from depth_completion_ros.evaluation.heldout import iter_drive_scans
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import read_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--drive", type=Path, required=True)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--lines", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    meta, weights = read_checkpoint(args.checkpoint)
    layer = "prop_layer.mspn"
    bias = weights[f"{layer}.rpb"][0].float()
    centre = bias.shape[0] // 2
    conv = weights[f"{layer}.conv.weight"][:, :, 0, 0].float()
    channels = conv.shape[0] // 2
    print(f"{args.checkpoint.name}: position bias at offsets 0 / 1 / 2 px: "
          f"{bias[centre, centre]:.3f} / {bias[centre, centre + 1]:.3f} / "
          f"{bias[centre, centre + 2]:.3f}; 1x1 convolution mean |w| on the guidance "
          f"{conv[:, :channels].abs().mean():.4f}, on the depth "
          f"{conv[:, channels].abs().mean():.4f}")
    model = get_model("mspn", meta.config, checkpoint=args.checkpoint, device="cpu")
    classical = get_model("classical")
    backbone = model.engine.module.backbone
    as_trained = backbone.forward
    guidance, initial = [], []
    for index, scan in enumerate(iter_drive_scans(args.drive, args.frames)):
        sparse = scan.split(args.lines).sparse
        backbone.forward = as_trained
        depth = model.predict(scan.rgb, sparse, scan.K).depth
        backbone.forward = lambda *inputs: torch.zeros_like(as_trained(*inputs))
        blind = model.predict(scan.rgb, sparse, scan.K).depth
        start = classical.predict(scan.rgb, sparse, scan.K).depth
        ok = np.isfinite(depth) & np.isfinite(blind) & np.isfinite(start)
        guidance.append(float(np.abs(depth - blind)[ok].mean()))
        initial.append(float(np.abs(depth - start)[ok].mean()))
        print(f"frame {index}: mean |mspn - mspn without guidance| {1000 * guidance[-1]:.1f} mm, "
              f"mean |mspn - classical| {1000 * initial[-1]:.1f} mm", flush=True)
    backbone.forward = as_trained
    print(f"{args.drive.name}, {args.lines} lines, {len(guidance)} frames: the guidance moves "
          f"the depth by {1000 * np.mean(guidance):.1f} mm on average, the refinement as a "
          f"whole by {1000 * np.mean(initial):.1f} mm "
          f"({100 * np.mean(guidance) / np.mean(initial):.1f} %)")


if __name__ == "__main__":
    main()
