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
from typing import Any, Callable, Protocol, runtime_checkable

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


def check_inputs(rgb: np.ndarray | None, sparse_depth: np.ndarray | None, K: np.ndarray,
                 *, model: str) -> tuple[int, int]:
    """Check the arrays of a ``predict`` call; returns (H, W).

    Args:
        rgb: (H, W, 3) uint8, or None for depth-only models.
        sparse_depth: (H, W) float metres, 0 = none, or None.
        K: (3, 3) intrinsics.
        model: name used in error messages.

    Raises:
        InputError: naming the model, the argument and the offending shape / dtype.
    """
    from depth_completion_ros.errors import InputError

    if rgb is None and sparse_depth is None:
        raise InputError(f"model {model!r}: needs an RGB image or a sparse depth, got neither")
    if rgb is not None and (rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8):
        raise InputError(f"model {model!r}: rgb must be (H, W, 3) uint8, "
                         f"got {rgb.shape} {rgb.dtype}")
    if sparse_depth is not None:
        if sparse_depth.ndim != 2 or sparse_depth.dtype.kind != "f":
            raise InputError(f"model {model!r}: sparse_depth must be (H, W) float, "
                             f"got {sparse_depth.shape} {sparse_depth.dtype}")
        if rgb is not None and sparse_depth.shape != rgb.shape[:2]:
            raise InputError(f"model {model!r}: sparse_depth shape {sparse_depth.shape} "
                             f"differs from rgb {rgb.shape[:2]}")
    if np.shape(K) != (3, 3):
        raise InputError(f"model {model!r}: K must be (3, 3), got {np.shape(K)}")
    shape = sparse_depth.shape if sparse_depth is not None else rgb.shape[:2]
    return int(shape[0]), int(shape[1])


def check_completion_inputs(rgb: np.ndarray | None, sparse_depth: np.ndarray | None,
                            K: np.ndarray, *, model: str) -> np.ndarray:
    """:func:`check_inputs` for a completion-only model; returns the sparse depth.

    Raises:
        ModelError: ``sparse_depth`` is None (the model cannot run RGB-only).
        InputError: see :func:`check_inputs`.
    """
    from depth_completion_ros.errors import ModelError

    if sparse_depth is None:
        raise ModelError(f"model {model!r} needs a sparse depth (it cannot run RGB-only)")
    check_inputs(rgb, sparse_depth, K, model=model)
    return sparse_depth


def learning_free_factory(model_cls: Callable[[Any], DepthModel]) -> Callable[..., DepthModel]:
    """Registry factory of a model without weights: builds ``model_cls(config)`` and refuses a
    checkpoint (device and precision do not apply: such models run on the CPU in float32)."""
    def build(config: Any, *, checkpoint: Any = None, device: str = "auto",
              precision: str = "fp32") -> DepthModel:
        from depth_completion_ros.errors import ModelError

        if checkpoint is not None:
            raise ModelError(f"model {model_cls.name!r} is learning-free and takes no "
                             f"checkpoint, got {checkpoint}")
        return model_cls(config)
    return build
