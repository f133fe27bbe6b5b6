#!/usr/bin/env python3
"""Soak test: the embedded sample looped through the live node for >= 2,000 frames.

Measures the node's resident memory (VmRSS from /proc/<pid>/status, sampled every 0.5 s) and the
frame account: images sent by the replay = depth images published by the node + frames it
dropped by design (queue of one: stale frames replaced, ``frames_dropped`` in /diagnostics) +
frames it could not serve (``frames_unserved``) + inputs it rejected (other ``input_errors``);
whatever is left is a lost frame. Loop resets (stamps going backwards at each new pass) are
counted apart: they are not frames. The node's inputs are reliable (like ``ros2 bag play``).

Prints the figures, writes ``report.md``, ``rss_vs_frames.png`` and ``soak.json`` into
``--report`` (default ``out/soak``). Exit status 1 when memory grows by 50 MB or more after
warm-up, or when a frame is unaccounted for. The data is KITTI (CC BY-NC-SA 3.0).

Usage: ``python benchmarks/soak_replay.py [--frames 2000] [--rate 1] [--report out/soak]``
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
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from depth_completion_ros.bag.convert import convert_kitti  # noqa: E402
from depth_completion_ros.bag.reading import lidar_to_camera_from_tf  # noqa: E402
from depth_completion_ros.bag.schedule import ReplayOptions  # noqa: E402
from depth_completion_ros.bag.topics import camera_frame, kitti_topics  # noqa: E402
from depth_completion_ros.evaluation.report import KITTI_ATTRIBUTION  # noqa: E402
from depth_completion_ros.paths import SAMPLE_DIR  # noqa: E402
from depth_completion_ros.ros.live import LiveRun, frame_account, run_live  # noqa: E402

WARM_UP_S = 20.0
GROWTH_LIMIT_MB = 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="images to send (>= 2000)")
    parser.add_argument("--rate", type=float, default=1.0, help="replay rate factor")
    parser.add_argument("--model", default="classical")
    parser.add_argument("--report", type=Path, default=Path("out/soak"), help="report folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "sample"
        summary = convert_kitti(SAMPLE_DIR, bag)
        transform = lidar_to_camera_from_tf(bag, "velo_link", camera_frame(2))
        start = time.monotonic()
        live = run_live(bag, kitti_topics(2), {
            "model": args.model, "lidar_to_camera": transform.reshape(-1).tolist(),
            "publish_depth_color": False, "publish_sparse_depth": False,
            "input_qos": "reliable"},
            ReplayOptions(rate=args.rate, max_loops=-(-args.frames // summary.frames)),
            keep_outputs=False)
        wall = time.monotonic() - start
    figures = account(live, wall, args)
    print(json.dumps(figures, indent=2))
    write_report(args.report, figures, live)
    print(f"report: {args.report / 'report.md'}")
    return 0 if figures["rss_growth_mb"] < GROWTH_LIMIT_MB and figures["unaccounted"] == 0 else 1


def machine() -> str:
    """CPU, cores and Python of this machine, in words."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, no GPU used, Python {platform.python_version()}"


def account(live: LiveRun, wall: float, args: argparse.Namespace) -> dict[str, Any]:
    """Memory and frame figures of a live run."""
    acc = frame_account(live, kitti_topics(2).image)
    after_warm = [rss for t, _, rss in live.rss_mb if t >= WARM_UP_S]
    diag = live.diagnostics
    return {
        "machine": machine(), "model": args.model, "rate": args.rate, "wall_s": round(wall, 1),
        "images_sent": acc.sent, "depth_published": acc.published,
        "dropped_by_design": acc.dropped, "unserved": acc.unserved,
        "rejected_inputs": acc.other_input_errors, "unaccounted": acc.unaccounted,
        "loop_resets": acc.loop_resets, "served_by_node": int(diag.get("frames_served", 0)),
        "warm_up_s": WARM_UP_S,
        "rss_after_warm_up_mb": round(after_warm[0], 1) if after_warm else None,
        "rss_end_mb": round(after_warm[-1], 1) if after_warm else None,
        "rss_max_after_warm_up_mb": round(max(after_warm), 1) if after_warm else None,
        "rss_growth_mb": round(max(after_warm) - after_warm[0], 1) if after_warm else float("nan"),
        "latency_p50_ms": diag.get("latency_p50_ms"), "latency_p95_ms": diag.get("latency_p95_ms"),
        "diagnostics": diag,
    }


def write_report(folder: Path, figures: dict[str, Any], live: LiveRun) -> None:
    """``report.md`` (accounting and memory tables), ``rss_vs_frames.png`` and ``soak.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "soak.json").write_text(json.dumps(figures, indent=2))
    plot_rss(live, folder / "rss_vs_frames.png")
    ok = figures["rss_growth_mb"] < GROWTH_LIMIT_MB and figures["unaccounted"] == 0
    rows = [("images sent by the replay", "images_sent"), ("depth published", "depth_published"),
            ("dropped by design (queue of one)", "dropped_by_design"),
            ("unserved (no model for the mode)", "unserved"),
            ("rejected inputs", "rejected_inputs"), ("**unaccounted (lost)**", "unaccounted"),
            ("loop resets (not frames)", "loop_resets")]
    memory = [("RSS after warm-up (MB)", "rss_after_warm_up_mb"), ("RSS at end", "rss_end_mb"),
              ("RSS max after warm-up", "rss_max_after_warm_up_mb"),
              ("**growth after warm-up (MB)**", "rss_growth_mb"),
              ("node latency p50 / p95 (ms)", None)]
    text = ["# Soak: the sample looped through the live node", "",
            f"- machine: {figures['machine']}",
            f"- model {figures['model']}, replay rate x{figures['rate']}, "
            f"{figures['wall_s']} s wall, warm-up = first {WARM_UP_S:.0f} s",
            f"- verdict: {'PASS' if ok else 'FAIL'} (growth < {GROWTH_LIMIT_MB:.0f} MB after "
            "warm-up, no unaccounted frame)", "",
            "## Frame account", "", "| | frames |", "|---|---|",
            *(f"| {label} | {figures[key]} |" for label, key in rows), "",
            "## Memory and latency", "", "| | value |", "|---|---|",
            *(f"| {label} | {figures[key] if key else _latency(figures)} |"
              for label, key in memory), "",
            "![RSS vs frames](rss_vs_frames.png)", "",
            "Command: `python benchmarks/soak_replay.py --frames 2000 --rate "
            f"{figures['rate']:g}`", "", "## Data license", "", KITTI_ATTRIBUTION, ""]
    (folder / "report.md").write_text("\n".join(text))


def _latency(figures: dict[str, Any]) -> str:
    return f"{figures['latency_p50_ms']} / {figures['latency_p95_ms']}"


def plot_rss(live: LiveRun, path: Path) -> None:
    """Node VmRSS (MB) against images sent, the warm-up shaded."""
    samples = [(frames, rss) for _, frames, rss in live.rss_mb]
    warm = next((frames for t, frames, _ in live.rss_mb if t >= WARM_UP_S), None)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if samples:
        ax.plot(*zip(*samples), lw=1)
    if warm is not None:
        ax.axvspan(0, warm, color="grey", alpha=0.2, label=f"warm-up ({WARM_UP_S:.0f} s)")
        ax.legend(fontsize="small")
    ax.set(xlabel="images sent", ylabel="node VmRSS (MB)", title="Node resident memory")
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
