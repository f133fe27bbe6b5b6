"""Cost of decoding a camera image message: raw rgb8 view vs CompressedImage JPEG / PNG.

The embedded KITTI sample's frames (1242x375, Geiger et al. IJRR 2013, CC BY-NC-SA 3.0) as
the node receives them: a sensor_msgs/Image rgb8 (decoded by ``decoding.image_to_rgb``, a
zero-copy view of the buffer), and the CompressedImage image_transport's compressed publisher
makes of it (``compressed_image.compressed_to_rgb``: format and header checks, ``cv2.imdecode``,
BGR -> RGB copy): JPEG at quality 95 (its default) and PNG at OpenCV's default compression
(decode time hardly depends on the level). Each case runs
``--repeats`` times per frame after one untimed call; the median over all calls is printed with
the message size and the machine. The node decodes in its image callback (executor thread),
so this time adds to every frame's latency.

Run: ``.venv/bin/python benchmarks/bench_decode.py [--repeats N] [--threads T]``
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np

from depth_completion_ros.benchmark.machine import cpu_model
from depth_completion_ros.compressed_image import compressed_to_rgb, encode_rgb
from depth_completion_ros.decoding import image_to_rgb
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.paths import SAMPLE_DIR


def messages(rgb: np.ndarray) -> dict[str, Any]:
    """The frame as each message kind (rosbags-like: data a uint8 array)."""
    height, width = rgb.shape[:2]
    out: dict[str, Any] = {"raw rgb8 (view)": SimpleNamespace(
        encoding="rgb8", height=height, width=width, step=width * 3, is_bigendian=0,
        data=np.ascontiguousarray(rgb).reshape(-1))}
    for codec in ("jpeg", "png"):
        fmt, data = encode_rgb(rgb, codec)
        out[codec] = SimpleNamespace(format=fmt, data=np.frombuffer(data, np.uint8))
    return out


def median_ms(decode: Callable[[Any], np.ndarray], msgs: list[Any], repeats: int) -> float:
    """Median wall time (ms) of ``decode`` over ``repeats`` calls per message (1 untimed)."""
    times = []
    for msg in msgs:
        decode(msg)
        for _ in range(repeats):
            start = time.perf_counter()
            decode(msg)
            times.append(1e3 * (time.perf_counter() - start))
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per frame and case")
    parser.add_argument("--threads", type=int, default=None, help="cv2.setNumThreads")
    args = parser.parse_args()
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    frames = [frame.image for frame in open_sequence(SAMPLE_DIR)]
    cases = [messages(rgb) for rgb in frames]
    height, width = frames[0].shape[:2]
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs, Python "
          f"{platform.python_version()}, numpy {np.__version__}, OpenCV {cv2.__version__} "
          f"({cv2.getNumThreads()} threads)")
    print(f"{len(frames)} KITTI frames {width}x{height}; median of {args.repeats} calls per "
          "frame after 1 untimed call")
    print(f"{'message':18} {'size kB':>8} {'ms/decode':>10}")
    for name in cases[0]:
        msgs = [case[name] for case in cases]
        decode = image_to_rgb if name.startswith("raw") else compressed_to_rgb
        size = np.mean([np.asarray(m.data).nbytes for m in msgs]) / 1e3
        print(f"{name:18} {size:8.0f} {median_ms(decode, msgs, args.repeats):10.3f}")


if __name__ == "__main__":
    main()
