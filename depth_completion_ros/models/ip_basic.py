"""IP-Basic ``fill_in_fast`` (Ku, Harakeh, Waslander, CRV 2018), kept as the reference recipe.

"In Defense of Classical Image Processing: Fast Depth Completion on the CPU". Reimplemented from
the paper's published recipe, same operations and parameters: invert depth (``max_depth - d``),
5x5 diamond dilation, 5x5 full closing, 7x7 full dilation into empty pixels, (extrapolate) each
column's top value copied up to row 0 and a 31x31 dilation into what is still empty, 5x5 median,
5x5 Gaussian blur on valid pixels, invert back. Registered as ``ip_basic`` with
``extrapolate=True`` and Gaussian blur, the variant the classical model is compared against.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, FloatArray, UInt8Array
from depth_completion_ros.models.base import (
    CompletionOutput,
    ModelInput,
    ModelSpec,
    SpecModel,
    check_completion_inputs,
    learning_free_factory,
)
from depth_completion_ros.models.nearest import distance_confidence
from depth_completion_ros.models.registry import register_model

SPEC = ModelSpec("ip_basic", required=(ModelInput.SPARSE_DEPTH,),
                 description="IP-Basic fill_in_fast (Ku et al. 2018), reference",
                 paper="J. Ku, A. Harakeh, S. L. Waslander: In Defense of Classical Image "
                       "Processing: Fast Depth Completion on the CPU. CRV 2018")
FULL_5 = np.ones((5, 5), np.uint8)
FULL_7 = np.ones((7, 7), np.uint8)
FULL_31 = np.ones((31, 31), np.uint8)
#: 5x5 diamond: pixels with |dx| + |dy| <= 2
DIAMOND_5 = (np.add.outer(np.abs(np.arange(-2, 3)), np.abs(np.arange(-2, 3))) <= 2).astype(np.uint8)


@dataclass(frozen=True)
class IpBasicConfig:
    """Parameters of ``fill_in_fast``.

    Attributes:
        max_depth: metres, inversion offset (depths are turned into ``max_depth - d``).
        extrapolate: extend each column's top value to row 0, then a 31x31 dilation.
        blur: "gaussian" (lower RMSE) or "bilateral" (sharper).
        confidence_scale_px: pixels, see
            :func:`~depth_completion_ros.models.nearest.distance_confidence`.
    """

    max_depth: float = 100.0
    extrapolate: bool = True
    blur: str = "gaussian"
    confidence_scale_px: float = 8.0

    def __post_init__(self) -> None:
        if self.blur not in ("gaussian", "bilateral"):
            raise ValueError(f"blur must be 'gaussian' or 'bilateral', got {self.blur!r}")


def extend_columns_up(inverted: Array, min_value: float = 0.1) -> None:
    """In place: above each column's first valid pixel, copy that pixel's value (to row 0).

    Args:
        inverted: (H, W) float32; values <= ``min_value`` are empty.
    """
    valid = inverted > min_value
    top = np.argmax(valid, axis=0)
    top_values = inverted[top, np.arange(inverted.shape[1])]
    above = np.arange(inverted.shape[0])[:, None] < top[None, :]
    inverted[above] = np.broadcast_to(top_values, inverted.shape)[above]


def fill_in_fast(sparse_depth: FloatArray, config: IpBasicConfig = IpBasicConfig()
                 ) -> Float32Array:
    """IP-Basic fast fill.

    Args:
        sparse_depth: (H, W) float32 metres, 0 = no measurement.
        config: see :class:`IpBasicConfig`.

    Returns:
        (H, W) float32 metres; 0 where nothing could be filled.
    """
    depth: Array = sparse_depth.astype(np.float32, copy=True)  # cv2 below keeps float32
    valid = depth > 0.1
    depth[valid] = config.max_depth - depth[valid]
    depth = cv2.dilate(depth, DIAMOND_5)
    depth = cv2.morphologyEx(depth, cv2.MORPH_CLOSE, FULL_5)
    empty = depth < 0.1
    depth[empty] = cv2.dilate(depth, FULL_7)[empty]
    if config.extrapolate:
        extend_columns_up(depth)
        empty = depth < 0.1
        depth[empty] = cv2.dilate(depth, FULL_31)[empty]
    depth = cv2.medianBlur(depth, 5)
    if config.blur == "bilateral":
        depth = cv2.bilateralFilter(depth, 5, 1.5, 2.0)
    else:
        valid = depth > 0.1
        depth[valid] = cv2.GaussianBlur(depth, (5, 5), 0)[valid]
    valid = depth > 0.1
    depth[valid] = config.max_depth - depth[valid]
    return np.asarray(depth, np.float32)  # float32 already (cv2 keeps the type): no copy


class IpBasicModel(SpecModel):
    """IP-Basic as a :class:`~depth_completion_ros.models.base.DepthModel` (RGB unused)."""

    spec = SPEC

    def __init__(self, config: IpBasicConfig) -> None:
        self.config = config

    def predict(self, rgb: UInt8Array | None, sparse_depth: FloatArray | None,
                K: Array) -> CompletionOutput:
        """Dense depth (H, W) metres (NaN where unfilled) and distance-based confidence."""
        sparse_depth = check_completion_inputs(rgb, sparse_depth, K, spec=self.spec)
        start = time.perf_counter()
        depth = fill_in_fast(sparse_depth, self.config)
        elapsed = 1e3 * (time.perf_counter() - start)
        dist = cv2.distanceTransform((sparse_depth <= 0.1).astype(np.uint8), cv2.DIST_L2, 3)
        conf = distance_confidence(dist, self.config.confidence_scale_px)
        missing = depth <= 0.1
        depth[missing] = np.nan
        conf[missing] = 0.0
        return CompletionOutput(depth, conf, {"model": elapsed})


register_model(SPEC, factory=learning_free_factory(IpBasicModel), config_cls=IpBasicConfig)
