"""End-to-end latency of the live node under replay: image published -> depth received.

A KITTI raw drive (default: the embedded sample; 1242x375, CC BY-NC-SA 3.0) converted to a
rosbag2 and replayed at 10 Hz through the node (:func:`~depth_completion_ros.ros.live.run_live`)
for ``loops`` passes; only the last pass is counted (the earlier ones warm up; a looped bag
repeats its stamps, so only the last pass's publish times are known). Per frame: the
recorder's receive time of the ``depth`` message minus the player's publish time of the image
with the same stamp, in ms; p50 / p95 / max over the counted pass, and the frame account
(sent, published, dropped by design, lost). Player, node and recorder share this machine's cores.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from depth_completion_ros.bag.convert import convert_kitti
from depth_completion_ros.bag.messages import stamp_to_ns
from depth_completion_ros.bag.reading import lidar_to_camera_from_tf
from depth_completion_ros.bag.schedule import ReplayOptions
from depth_completion_ros.bag.topics import camera_frame, kitti_topics
from depth_completion_ros.paths import SAMPLE_DIR
from depth_completion_ros.ros.live import NAMESPACE, frame_account, run_live


def node_latency(model: str = "classical", loops: int = 2, rate: float = 1.0,
                 drive: Path = SAMPLE_DIR) -> dict[str, Any]:
    """Latency figures (ms) and the frame account of one live run (module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "sample"
        convert_kitti(drive, bag)
        transform = lidar_to_camera_from_tf(bag, "velo_link", camera_frame(2))
        live = run_live(bag, kitti_topics(2), {
            "model": model, "lidar_to_camera": transform.reshape(-1).tolist(),
            "publish_depth_color": False, "publish_sparse_depth": False},
            ReplayOptions(rate=rate, max_loops=loops))
    counted_from = live.replay.pass_started_ns[-1]
    latencies = []
    for message in live.outputs:
        if message.topic != f"{NAMESPACE}/depth" or message.log_time_ns < counted_from:
            continue
        stamp = stamp_to_ns(message.decode().header.stamp)
        published = live.image_publish_ns.get(stamp)
        if published is not None:
            latencies.append((message.log_time_ns - published) / 1e6)
    account = frame_account(live, kitti_topics(2).image)
    a = np.asarray(latencies) if latencies else np.full(1, np.nan)
    return {"model": model, "drive": drive.name, "rate_hz": 10.0 * rate, "passes": loops,
            "counted_frames": len(latencies),
            "p50_ms": round(float(np.median(a)), 1),
            "p95_ms": round(float(np.percentile(a, 95)), 1), "max_ms": round(float(a.max()), 1),
            "sent": account.sent, "published": account.published,
            "dropped_by_design": account.dropped, "lost": account.unaccounted,
            "node_diagnostics_latency_p50_p95_ms": [live.diagnostics.get("latency_p50_ms"),
                                                    live.diagnostics.get("latency_p95_ms")]}
