"""Nearest-measurement fill: every pixel takes the depth of the closest LiDAR pixel (baseline).

Learning-free, CPU, OpenCV only (``cv2.distanceTransformWithLabels`` gives each pixel the label
of its nearest measured pixel). Also home of :func:`distance_confidence`, the confidence the
reference models share.
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
from depth_completion_ros.models.registry import register_model

SPEC = ModelSpec("nearest", required=(ModelInput.SPARSE_DEPTH,),
                 description="nearest-measurement fill (baseline)")


@dataclass(frozen=True)
class NearestConfig:
    """Config of the nearest fill.

    Attributes:
        min_depth: measurements at or below this (metres) are ignored.
        confidence_scale_px: pixel distance at which confidence falls to 1/e.
    """

    min_depth: float = 0.1
    confidence_scale_px: float = 8.0

    def __post_init__(self) -> None:
        if self.confidence_scale_px <= 0:
            raise ValueError(f"confidence_scale_px must be > 0, got {self.confidence_scale_px}")


def nearest_fill(sparse_depth: FloatArray, min_depth: float = 0.1
                 ) -> tuple[Float32Array, Float32Array]:
    """Fill every pixel with the depth of its nearest measured pixel (L2 pixel distance).

    Args:
        sparse_depth: (H, W) float32 metres, values <= ``min_depth`` = no measurement.
        min_depth: metres.

    Returns:
        (depth (H, W) float32 metres, NaN everywhere when there is no measurement;
        distance (H, W) float32 pixels to the nearest measurement, inf when none).
    """
    valid = sparse_depth > min_depth
    if not valid.any():
        shape = sparse_depth.shape
        return np.full(shape, np.nan, np.float32), np.full(shape, np.inf, np.float32)
    dist, labels = cv2.distanceTransformWithLabels(
        (~valid).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE,
        labelType=cv2.DIST_LABEL_PIXEL)
    # labels number the zero pixels (the measurements) in row-major order, starting at 1
    values = np.concatenate([[np.float32(np.nan)], sparse_depth[valid].astype(np.float32)])
    return values[labels], np.asarray(dist, np.float32)  # float32 already (cv2)


def distance_confidence(distance_px: Array, scale_px: float) -> Float32Array:
    """Confidence ``exp(-distance / scale)`` in [0, 1] from the pixel distance to a measurement.

    Args:
        distance_px: (H, W) pixels (inf = no measurement at all -> 0).
        scale_px: pixels.
    """
    conf: Float32Array = np.exp(-np.asarray(distance_px, np.float32) / np.float32(scale_px)
                                ).astype(np.float32)
    return conf


class NearestModel(SpecModel):
    """Nearest-measurement fill as a :class:`~depth_completion_ros.models.base.DepthModel`."""

    spec = SPEC

    def __init__(self, config: NearestConfig) -> None:
        self.config = config

    def predict(self, rgb: UInt8Array | None, sparse_depth: FloatArray | None,
                K: Array) -> CompletionOutput:
        """Dense depth (H, W) metres and confidence; see :func:`nearest_fill`."""
        sparse_depth = check_completion_inputs(rgb, sparse_depth, K, spec=self.spec)
        start = time.perf_counter()
        depth, dist = nearest_fill(sparse_depth, self.config.min_depth)
        conf = distance_confidence(dist, self.config.confidence_scale_px)
        return CompletionOutput(depth, conf, {"model": 1e3 * (time.perf_counter() - start)})


register_model(SPEC, factory=learning_free_factory(NearestModel), config_cls=NearestConfig)
