"""Store a format-2 checkpoint's floating weights as float16 (half the file; loading casts them
back to the network's float32), metadata unchanged. How models/san_small_kitti_selfsup_v3.pt
(and v2 before it, from its run's best.pt) was made from its training run's last.pt; scores in
the model card are measured with the half file.

    .venv/bin/python tools/half_weights.py out/train/san_small_approach/last.pt \\
        models/san_small_kitti_selfsup_v3.pt
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import torch

from depth_completion_ros.models.authors_checkpoint import load_weights_only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    payload = load_weights_only(args.source)
    state = payload["state_dict"]
    payload["state_dict"] = {k: v.half() if v.is_floating_point() else v
                             for k, v in state.items()}
    torch.save(payload, args.target)
    digest = hashlib.sha256(args.target.read_bytes()).hexdigest()
    print(f"{args.target}: {args.target.stat().st_size / 1e6:.1f} MB, sha256 {digest}")


if __name__ == "__main__":
    main()
