"""Speed of a learned model's network, without weights: ``depth-completion benchmark --speed``.

Each size (:attr:`~depth_completion_ros.models.registry.LearnedNetwork.variants`) is built with
random weights (time does not depend on their values, and none are shipped) and wrapped exactly
as ``get_model`` wraps a loaded checkpoint (:class:`~.adapter.TorchModelAdapter`: crop,
normalisation, device, precision), then given to the engine asked for (eager PyTorch, or the
network's ONNX export in onnxruntime, the same weights:
:func:`~depth_completion_ros.models.engine_choice.with_engine`). It runs ``predict`` on one
frame, ``warmup`` untimed calls then ``runs`` timed ones, and reports the median and 95th
percentile of the whole ``predict`` call and of the network's forward pass alone, in ms, with
the machine it ran on.
"""
from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from depth_completion_ros.arrays import Array, FloatArray, UInt8Array
from depth_completion_ros.devices import Device, Engine, Precision
from depth_completion_ros.engine.adapter import TorchModelAdapter
from depth_completion_ros.engine.inference import InferenceEngine
from depth_completion_ros.errors import ModelError
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.io.kitti_raw import open_sequence
from depth_completion_ros.models.engine_choice import with_engine
from depth_completion_ros.models.registry import ModelEntry, build_config


@dataclass(frozen=True)
class SpeedResult:
    """Timings of one model size at one precision (ms).

    Attributes:
        model: registry name.
        variant: size name (``small``, ``full``).
        config: the config fields that set the size, one line.
        precision: the precision the network ran in (after the engine's fallbacks).
        engine: what ran the network (``torch``, ``onnxruntime``).
        median_ms, p95_ms: the whole ``predict`` call.
        forward_median_ms, forward_p95_ms: the network's forward pass alone.
        notes: the engine's notes (device / precision fallbacks), "; "-joined.
    """

    model: str
    variant: str
    config: str
    precision: str
    engine: str
    median_ms: float
    p95_ms: float
    forward_median_ms: float
    forward_p95_ms: float
    notes: str


def variant_config(entry: ModelEntry, variant: str) -> Any:
    """The typed config of a named size of ``entry``'s network.

    Raises:
        ModelError: ``entry`` is not a learned model, or has no such size.
    """
    if entry.network is None:
        raise ModelError(f"model {entry.name!r} is not a learned model: it has no network "
                         f"to time (the held-out benchmark times every model)")
    if variant not in entry.network.variants:
        raise ModelError(f"model {entry.name!r} has no size {variant!r}; sizes: "
                         f"{sorted(entry.network.variants)}")
    return build_config(entry.config_cls, entry.network.variants[variant],
                        source=f"size {variant!r} of model {entry.name!r}")


def describe_config(config: Any) -> str:
    """``backbone_depth=18 width=16 prop_time=18``-style line of a config's integer fields."""
    return " ".join(f"{f.name}={getattr(config, f.name)}" for f in fields(config)
                    if type(getattr(config, f.name)) is int)


def time_model(entry: ModelEntry, variant: str, frame: tuple[UInt8Array, FloatArray, Array], *,
               device: Device | str, precision: Precision | str, runs: int,
               warmup: int, engine: Engine | str = Engine.TORCH) -> SpeedResult:
    """Time one size of a learned model on ``frame`` = (rgb, sparse metres, K), run by
    ``engine`` (the same seeded random weights for every engine).

    Raises:
        ModelError: see :func:`variant_config` and
            :func:`~depth_completion_ros.models.engine_choice.with_engine`;
            ``runs`` < 1.
    """
    if runs < 1 or warmup < 0:
        raise ModelError(f"runs must be >= 1 and warm-up >= 0, got {runs} and {warmup}")
    config = variant_config(entry, variant)
    assert entry.network is not None  # checked by variant_config
    torch.manual_seed(0)
    model = with_engine(TorchModelAdapter(entry.spec, entry.network.build(config),
                                          entry.network.input_spec, device=device,
                                          precision=precision, warmup=0,
                                          initial=None if entry.network.initial_model is None
                                          else entry.network.initial_model(config)), engine)
    assert isinstance(model, TorchModelAdapter)  # with_engine keeps a learned model's adapter
    rgb, sparse, K = frame
    for _ in range(warmup):
        model.predict(rgb, sparse, K)
    total, forward = [], []
    for _ in range(runs):
        start = time.perf_counter()
        out = model.predict(rgb, sparse, K)
        total.append(1e3 * (time.perf_counter() - start))
        forward.append(out.timings_ms["forward"])
    return SpeedResult(entry.name, variant, describe_config(config), _ran_in(model.engine),
                       Engine.parse(engine).value, float(np.median(total)),
                       float(np.percentile(total, 95)), float(np.median(forward)),
                       float(np.percentile(forward, 95)), "; ".join(model.engine.notes))


def _ran_in(engine: InferenceEngine) -> str:
    """``fp32`` / ``fp16`` / ``bf16``: the engine's dtype after its fallbacks."""
    dtype = str(engine.dtype).removeprefix("torch.")
    return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(dtype, dtype)


def drive_frame(drive: Path, index: int = 0) -> tuple[UInt8Array, FloatArray, Array]:
    """(rgb (H, W, 3) uint8, sparse (H, W) float32 metres of all points, K (3, 3)) of frame
    ``index`` of a KITTI raw drive (camera 2, rectified).

    Raises:
        DataFormatError, CalibrationError: an unreadable drive (see
            :func:`~depth_completion_ros.io.kitti_raw.open_sequence`).
    """
    frame = open_sequence(drive).frame(index)
    height, width = frame.image.shape[:2]
    camera = frame.calibration.camera(2, width, height)
    sparse = project_to_depth(frame.points[:, :3], frame.calibration.lidar_to_camera(), camera)
    return frame.image, np.asarray(sparse, np.float32), camera.intrinsics(rectified=True)


def machine(device: torch.device | str) -> str:
    """One line: the CPU (model, logical CPUs, torch threads) or the GPU's name, and versions."""
    if torch.device(device).type == "cuda":
        where = f"GPU {torch.cuda.get_device_name(torch.device(device))}"
    else:
        cpu = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as info:
                cpu = next(line.split(":", 1)[1].strip() for line in info
                           if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        where = (f"CPU {cpu}, {os.cpu_count()} logical CPUs, torch {torch.get_num_threads()} "
                 f"threads")
    return f"machine: {where}, Python {platform.python_version()}, torch {torch.__version__}"
