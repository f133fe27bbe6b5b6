"""The one interface every completion / prediction model implements.

A model takes an RGB image, a sparse LiDAR depth image and the camera intrinsics, all at the
camera's full resolution, and returns dense depth and confidence at that same resolution. Any
crop, normalisation, padding to a network stride or resizing is the model's own business (its
config), so callers (node, predict, evaluate) never need to know them. Pixels a model does not
estimate (e.g. above the LiDAR's field of view when it works on a crop) are NaN in ``depth`` and
0 in ``confidence``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class ModelCapabilities:
    """What a model needs and can do.

    Attributes:
        needs_lidar: the model cannot run without sparse depth (completion only).
        rgb_only: the model can run with no LiDAR at all (monocular prediction mode).
        needs_gpu: the model is only practical on CUDA.
    """

    needs_lidar: bool
    rgb_only: bool
    needs_gpu: bool = False


@dataclass
class CompletionOutput:
    """Result of one model call.

    Attributes:
        depth: (H, W) float32, metres, NaN where no estimate.
        confidence: (H, W) float32 in [0, 1], 0 where no estimate.
        timings_ms: stage name -> milliseconds, filled by the model / engine.
    """

    depth: np.ndarray
    confidence: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class DepthModel(Protocol):
    """Protocol of every registered model.

    ``predict`` arguments:
        rgb: (H, W, 3) uint8, RGB order.
        sparse_depth: (H, W) float32 metres, 0 = no measurement; None (or all zeros) in
            prediction mode, allowed only when ``capabilities.rgb_only``.
        K: (3, 3) float64 intrinsics of the image the arrays are in.
    """

    name: str
    capabilities: ModelCapabilities

    def predict(self, rgb: np.ndarray, sparse_depth: np.ndarray | None,
                K: np.ndarray) -> CompletionOutput: ...
