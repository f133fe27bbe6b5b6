"""Per-stage latency of the node's frame path, the authors' IP-Basic beside it, one size.

Stages of one frame, timed one after the other in this process (the node runs the same code on
its worker thread): ``decode`` (Image, CameraInfo and PointCloud2 to arrays:
:mod:`depth_completion_ros.decoding`), ``project`` (LiDAR to sparse depth), ``model`` (the
model's own ``predict`` time), ``pipeline`` (project + model + output convention), ``encode``
(the outputs to messages, by the caller's encoder: the ROS layer's when rclpy is importable) and
``total``. The reference, the authors' ``fill_in_fast`` (extrapolate, Gaussian blur: the
variant with their lowest RMSE; :mod:`depth_completion_ros.third_party.ip_basic`), runs on the
same sparse depth right after the frame; ``ratio`` = the model's median / the reference's.

Timing policy: one untimed pass over the frames (allocator, OpenCV kernels), then ``repeats``
passes; each sample is one frame's call. p50 / p95 / max over all samples, in ms.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from depth_completion_ros.arrays import Array
from depth_completion_ros.benchmark.frames import FrameMessages
from depth_completion_ros.benchmark.machine import peak_rss_mb
from depth_completion_ros.decoding import camera_info_to_camera, cloud_to_points, image_to_rgb
from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.pipeline import DepthPipeline, FrameResult
from depth_completion_ros.third_party.ip_basic.fill_in_fast import fill_in_fast

#: stage names, in frame order
STAGES = ("decode", "project", "model", "pipeline", "encode", "total", "reference")
Encoder = Callable[[FrameResult], object]


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    """{"p50", "p95", "max", "mean"} of samples in ms (rounded to 0.01 ms).

    Example:
        >>> percentiles([1.0, 2.0, 3.0])["p50"]
        2.0
    """
    a = np.asarray(samples_ms, np.float64)
    return {"p50": round(float(np.median(a)), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "max": round(float(a.max()), 3), "mean": round(float(a.mean()), 3)}


def bytes_encoder(result: FrameResult) -> object:
    """Encoder without ROS: the bytes of the two always-published images (depth, confidence)."""
    return (np.ascontiguousarray(result.depth, np.float32).tobytes(),
            np.ascontiguousarray(result.confidence, np.float32).tobytes())


@dataclass
class SizeResult:
    """One image size: stage statistics (ms), ratio, throughput, memory, point counts."""

    size: tuple[int, int]
    model: str
    frames: int
    samples: int
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    ratio: float = float("nan")
    throughput_hz: float = float("nan")
    peak_rss_mb: float = float("nan")
    points_per_scan: int = 0
    lidar_pixels: int = 0


def time_frame(pipeline: DepthPipeline, messages: FrameMessages, encode: Encoder
               ) -> tuple[dict[str, float], FrameResult]:
    """One frame through every stage: (stage -> ms without ``reference``, the result)."""
    start = time.perf_counter()
    rgb = image_to_rgb(messages.image)
    cloud = cloud_to_points(messages.cloud)
    camera = camera_info_to_camera(messages.camera_info)
    decoded = time.perf_counter()
    result = pipeline.process(rgb, camera, cloud.xyz)
    processed = time.perf_counter()
    encode(result)
    end = time.perf_counter()
    ms = {"decode": 1e3 * (decoded - start), "project": result.timings_ms.get("project", 0.0),
          "model": result.timings_ms.get("model", result.timings_ms["total"]),
          "pipeline": 1e3 * (processed - decoded), "encode": 1e3 * (end - processed),
          "total": 1e3 * (end - start)}
    return ms, result


def time_reference(sparse: Array) -> float:
    """ms of the authors' ``fill_in_fast`` on a copy of ``sparse`` (the copy not timed)."""
    work = sparse.copy()
    start = time.perf_counter()
    fill_in_fast(work, extrapolate=True, blur_type="gaussian")
    return 1e3 * (time.perf_counter() - start)


def run_size(model: DepthModel, frames: Sequence[FrameMessages], size: tuple[int, int], *,
             repeats: int, encode: Encoder = bytes_encoder) -> SizeResult:
    """Stage statistics of ``model``'s pipeline and the reference over ``frames`` at ``size``."""
    pipeline = DepthPipeline(model, frames[0].lidar_to_camera)
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    pixels = []
    for rep in range(repeats + 1):
        for messages in frames:
            ms, result = time_frame(pipeline, messages, encode)
            ms["reference"] = time_reference(result.sparse_depth)
            if rep:  # pass 0 is the warm-up
                for stage, value in ms.items():
                    samples[stage].append(value)
            pixels.append(result.points_in_view)
    out = SizeResult(size, model.name, len(frames), len(samples["total"]))
    out.stages = {stage: percentiles(values) for stage, values in samples.items()}
    out.ratio = round(out.stages["model"]["p50"] / out.stages["reference"]["p50"], 3)
    out.throughput_hz = round(1e3 / out.stages["total"]["mean"], 1)
    out.peak_rss_mb = round(peak_rss_mb(), 1)
    out.points_per_scan = int(np.mean([m.points for m in frames]))
    out.lidar_pixels = int(np.mean(pixels))
    return out


def as_json(result: SizeResult) -> dict[str, Any]:
    """JSON-ready dict of a :class:`SizeResult`."""
    return {"size": f"{result.size[0]}x{result.size[1]}", "model": result.model,
            "frames": result.frames, "samples": result.samples, "stages_ms": result.stages,
            "model_over_reference": result.ratio, "throughput_hz": result.throughput_hz,
            "peak_rss_mb": result.peak_rss_mb, "points_per_scan": result.points_per_scan,
            "lidar_pixels": result.lidar_pixels}
