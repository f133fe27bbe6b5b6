"""``depth-completion benchmark --latency``: the node's frame path per stage at several image
sizes, the authors' IP-Basic beside it, the held-out comparison, a terminal table and a JSON.

See :mod:`depth_completion_ros.benchmark.latency` (stages, timing policy) and
:mod:`depth_completion_ros.benchmark.reference` (the acceptance comparison). The encoder is the
ROS layer's (:func:`depth_completion_ros.ros.compat.encode_image`, what the node publishes:
depth and confidence as 32FC1) when rclpy is importable, else the images' bytes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from depth_completion_ros.benchmark.frames import SIZES, parse_size, sized_frames
from depth_completion_ros.benchmark.latency import as_json, bytes_encoder, run_size
from depth_completion_ros.benchmark.machine import describe, load_average, machine_info
from depth_completion_ros.benchmark.reference import compare
from depth_completion_ros.models import get_model
from depth_completion_ros.paths import SHARED_DATA_DIR

HELDOUT_DRIVE = SHARED_DATA_DIR / "kitti_raw_2011_09_26_seq16"
NODE_DRIVE = SHARED_DATA_DIR / "kitti_raw_2011_09_26_drive_0009"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--latency`` options (the rest of ``benchmark``'s are shared)."""
    parser.add_argument("--latency", action="store_true",
                        help="per-stage latency (decode, project, model, encode) at --sizes, "
                             "the authors' IP-Basic beside it, the held-out comparison; table "
                             "and --json")
    parser.add_argument("--sizes", nargs="+", default=[f"{w}x{h}" for w, h in SIZES],
                        help="with --latency: image sizes WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=8,
                        help="with --latency: frames of --drive per size")
    parser.add_argument("--repeats", type=int, default=3,
                        help="with --latency: timed passes over the frames")
    parser.add_argument("--json", type=Path, default=None, help="with --latency: write results")
    parser.add_argument("--node", action="store_true",
                        help="with --latency: also the live node end to end under 10 Hz replay "
                             "(shared drive 0009 when present, else --drive; needs rclpy)")
    parser.add_argument("--node-passes", type=int, default=2,
                        help="with --node: passes over the drive (the last one counted)")
    parser.add_argument("--heldout-drive", type=Path, default=None,
                        help="with --latency: drive of the held-out comparison (default: the "
                             "shared seq16 when present, else --drive)")


def ros_encoder() -> tuple[Any, str]:
    """(encoder, description): the ROS layer's when rclpy imports, else bytes."""
    try:
        from std_msgs.msg import Header

        from depth_completion_ros.ros import compat
    except ImportError:
        return bytes_encoder, "bytes of depth + confidence (no rclpy)"
    header = Header(frame_id="camera")

    def encode(result: Any) -> object:
        return (compat.encode_image(result.depth, header, "32FC1"),
                compat.encode_image(result.confidence, header, "32FC1"))

    return encode, "sensor_msgs/Image 32FC1 depth + confidence (ROS layer)"


def run(args: argparse.Namespace) -> int:
    """Print the table and write ``--json``; returns 0."""
    sizes = [parse_size(text) for text in args.sizes]
    model_name = (args.models or ["classical"])[0]
    model = get_model(model_name, device=args.device, precision=args.precision)
    encode, encoder = ros_encoder()
    info = machine_info()
    print(describe(info))
    print(f"model {model_name}; frames: {args.drive.name}, first {args.frames}, all points; "
          f"1 untimed + {args.repeats} timed passes; encode: {encoder}")
    print(f"{'size':10} {'stage':9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    results = []
    for size in sizes:
        res = run_size(model, sized_frames(args.drive, size, args.frames), size,
                       repeats=args.repeats, encode=encode)
        results.append(as_json(res))
        for stage, st in res.stages.items():
            name = "IP-Basic" if stage == "reference" else stage
            print(f"{res.size[0]}x{res.size[1]:<5} {name:9} {st['p50']:8.2f} {st['p95']:8.2f} "
                  f"{st['max']:8.2f}")
        print(f"{'':10} model / IP-Basic {res.ratio:.2f}; throughput {res.throughput_hz} Hz "
              f"(one thread, stages in series); peak RSS {res.peak_rss_mb} MB; "
              f"{res.points_per_scan} points, {res.lidar_pixels} LiDAR pixels")
    base = {r["size"]: r["stages_ms"]["model"]["p50"] for r in results}
    scaling = (round(base["1936x1216"] / base["1216x352"], 2)
               if {"1936x1216", "1216x352"} <= set(base) else None)
    if scaling is not None:
        print(f"model time 1936x1216 / 1216x352: {scaling} (pixels: 5.50)")
    drive = args.heldout_drive or (HELDOUT_DRIVE if HELDOUT_DRIVE.is_dir() else args.drive)
    heldout = compare(model, drive, "32", args.repeats)
    print(f"held-out, {heldout['drive']} ({heldout['frames']} frames, 32 lines in): RMSE / MAE "
          f"mm {model_name} {heldout['rmse_mm']['model']} / {heldout['mae_mm']['model']}, "
          f"IP-Basic {heldout['rmse_mm']['reference']} / {heldout['mae_mm']['reference']}; "
          f"1216x352 p50 ms {heldout['crop_ms']['model']['p50']} vs "
          f"{heldout['crop_ms']['reference']['p50']}: ratio {heldout['model_over_reference']}")
    node = None
    if args.node:
        from depth_completion_ros.ros.node_latency import node_latency

        node_drive = NODE_DRIVE if NODE_DRIVE.is_dir() else args.drive
        node = node_latency(model_name, loops=args.node_passes, drive=node_drive)
        print(f"live node, {node['drive']}, 1242x375 at {node['rate_hz']} Hz, "
              f"{node['counted_frames']} frames of the last pass: image published -> depth "
              f"received p50 {node['p50_ms']} ms, "
              f"p95 {node['p95_ms']} ms, max {node['max_ms']} ms; sent {node['sent']}, published "
              f"{node['published']}, dropped by design {node['dropped_by_design']}, lost "
              f"{node['lost']}")
    info["load_average_end"] = list(load_average())
    print(f"load average at the end: {info['load_average_end']}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            {"machine": info, "encoder": encoder, "sizes": results,
             "scaling_1936x1216_over_1216x352": scaling, "heldout": heldout,
             "node": node}, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
