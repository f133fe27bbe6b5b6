"""Speed of the learned models at the KITTI crop (352x1216): median and p95 per frame.

Each variant is built with random weights (speed does not depend on their values; no weights
are shipped) and wrapped exactly as ``get_model`` wraps a loaded checkpoint
(:class:`~depth_completion_ros.engine.TorchModelAdapter`: crop, normalisation, device,
precision, warm-up). It runs ``predict`` on frame 0 of the embedded KITTI sample (1242x375, the
network sees its bottom-centre 1216x352): ``--warmup`` untimed calls, then ``--runs`` timed ones;
printed are the median and 95th percentile of the whole ``predict`` call and of the network's
forward pass alone, in ms. On the CPU every precision runs in fp32 (the engine's fallback), so
only fp32 is timed there; on CUDA fp32, fp16 and bf16, with the GPU's name.

Run: ``.venv/bin/python benchmarks/bench_learned.py [--runs 50] [--device cpu|cuda]
[--variants small full]``
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from depth_completion_ros.engine.adapter import TorchModelAdapter
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models.nlspn import INPUT_SPEC, SPEC, NLSPNConfig
from depth_completion_ros.models.nlspn_loading import build_network
from depth_completion_ros.paths import SAMPLE_DIR

#: variant name -> config of NLSPN
VARIANTS = {"small": NLSPNConfig(backbone_depth=18, width=16),
            "full": NLSPNConfig()}


def sample_frame() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb, sparse metres, K) of frame 0 of the embedded sample, all 64 lines."""
    frame = open_sequence(SAMPLE_DIR).frame(0)
    height, width = frame.image.shape[:2]
    camera = frame.calibration.camera(2, width, height)
    sparse = project_to_depth(frame.points[:, :3], frame.calibration.lidar_to_camera(), camera)
    return frame.image, np.asarray(sparse, np.float32), camera.intrinsics(rectified=True)


def time_variant(name: str, device: str, precision: str, runs: int, warmup: int
                 ) -> tuple[float, float, float, float, str]:
    """(median, p95 of predict; median, p95 of forward) in ms, and the engine's notes."""
    torch.manual_seed(0)
    net = build_network(VARIANTS[name])
    model = TorchModelAdapter(SPEC, net, INPUT_SPEC, device=device, precision=precision,
                              warmup=0)
    rgb, sparse, K = sample_frame()
    for _ in range(warmup):
        model.predict(rgb, sparse, K)
    total, forward = [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = model.predict(rgb, sparse, K)
        total.append(1e3 * (time.perf_counter() - start))
        forward.append(out.timings_ms["forward"])
    return (float(np.median(total)), float(np.percentile(total, 95)),
            float(np.median(forward)), float(np.percentile(forward, 95)),
            "; ".join(model.engine.notes))


def machine(device: str) -> str:
    """One line: CPU or GPU, threads, versions."""
    if device == "cuda":
        where = f"GPU {torch.cuda.get_device_name(0)}"
    else:
        cpu = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as info:
                cpu = next(line.split(":", 1)[1].strip() for line in info
                           if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        where = f"CPU {cpu}, {os.cpu_count()} logical CPUs, torch {torch.get_num_threads()} threads"
    return f"machine: {where}, Python {platform.python_version()}, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed predict calls per case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS),
                        default=["small", "full"])
    args = parser.parse_args()
    precisions = ("fp32", "fp16", "bf16") if args.device == "cuda" else ("fp32",)
    print(machine(args.device))
    print(f"nlspn at 352x1216 (frame 0 of the embedded sample, 1242x375 in), random weights; "
          f"{args.warmup} untimed then {args.runs} timed predict calls per case")
    print(f"{'variant':8} {'config':34} {'prec':5} {'median ms':>10} {'p95 ms':>8} "
          f"{'fwd median':>11} {'fwd p95':>8}")
    for name in args.variants:
        cfg = VARIANTS[name]
        label = f"ResNet-{cfg.backbone_depth} width {cfg.width}, {cfg.prop_time} steps"
        for precision in precisions:
            med, p95, fmed, fp95, notes = time_variant(name, args.device, precision, args.runs,
                                                       args.warmup)
            print(f"{name:8} {label:34} {precision:5} {med:10.1f} {p95:8.1f} {fmed:11.1f} "
                  f"{fp95:8.1f}" + (f"  ({notes})" if notes else ""))


if __name__ == "__main__":
    main()
