#!/usr/bin/env python3
"""Soak test: the embedded sample looped through the live node for >= 2,000 frames.

Prints (and writes as JSON with ``--json``) the node's resident memory (VmRSS from
/proc/<pid>/status) after warm-up and at the end, and the frame account: images sent by the
replay = depth images published by the node + frames it dropped by design (queue of one: stale
frames replaced, counted in /diagnostics ``frames_dropped``) + frames it could not serve
(``frames_unserved``) + skipped inputs (``input_errors``). Exit status 1 when memory grows by
50 MB or more after warm-up, or when frames are unaccounted for.

Usage: ``python benchmarks/soak_replay.py [--frames 2000] [--rate 1] [--json out/soak.json]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from depth_completion_ros.bag.convert import convert_kitti
from depth_completion_ros.bag.reading import lidar_to_camera_from_tf
from depth_completion_ros.bag.schedule import ReplayOptions
from depth_completion_ros.bag.topics import camera_frame, kitti_topics
from depth_completion_ros.paths import SAMPLE_DIR
from depth_completion_ros.ros.live import NAMESPACE, run_live

WARM_UP_S = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="images to send (>= 2000)")
    parser.add_argument("--rate", type=float, default=1.0, help="replay rate factor")
    parser.add_argument("--model", default="classical")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "sample"
        summary = convert_kitti(SAMPLE_DIR, bag)
        transform = lidar_to_camera_from_tf(bag, "velo_link", camera_frame(2))
        loops = -(-args.frames // summary.frames)
        start = time.monotonic()
        live = run_live(bag, kitti_topics(2), {
            "model": args.model, "lidar_to_camera": transform.reshape(-1).tolist(),
            "publish_depth_color": False, "publish_sparse_depth": False},
            ReplayOptions(rate=args.rate, max_loops=loops), keep_outputs=False)
        wall = time.monotonic() - start
    figures = account(live, wall, args)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["rss_growth_mb"] < 50 and figures["unaccounted"] == 0 else 1


def account(live, wall: float, args: argparse.Namespace) -> dict:
    """Memory and frame figures of a live run."""
    diag = live.diagnostics
    sent = live.replay.published.get(kitti_topics(2).image, 0)
    published = live.counts.get(f"{NAMESPACE}/depth", 0)
    dropped, unserved = int(diag.get("frames_dropped", 0)), int(diag.get("frames_unserved", 0))
    # input_errors also counts unserved frames and the buffer resets at each loop (stamps going
    # backwards), neither of which is a lost input
    errors = int(diag.get("input_errors", 0)) - unserved \
        - int(diag.get("input_errors.stamps_backwards", 0))
    after_warm = [rss for t, rss in live.rss_mb if t >= WARM_UP_S]
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores, "
                   f"{platform.python_implementation()} {platform.python_version()}",
        "model": args.model, "rate": args.rate, "wall_s": round(wall, 1),
        "images_sent": sent, "depth_published": published, "dropped_by_design": dropped,
        "unserved": unserved, "input_errors_other": errors,
        "loop_resets": int(diag.get("input_errors.stamps_backwards", 0)),
        "unaccounted": sent - published - dropped - unserved - errors,
        "served_by_node": int(diag.get("frames_served", 0)),
        "rss_after_warm_up_mb": round(after_warm[0], 1) if after_warm else None,
        "rss_end_mb": round(after_warm[-1], 1) if after_warm else None,
        "rss_max_after_warm_up_mb": round(max(after_warm), 1) if after_warm else None,
        "rss_growth_mb": round(max(after_warm) - after_warm[0], 1) if after_warm else float("nan"),
        "latency_p50_ms": diag.get("latency_p50_ms"), "latency_p95_ms": diag.get("latency_p95_ms"),
        "diagnostics": diag,
    }


if __name__ == "__main__":
    sys.exit(main())
