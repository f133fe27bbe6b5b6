"""The classical model: learning-free, CPU-only, numpy + OpenCV; the package's default.

Built on IP-Basic's observations (Ku et al. 2018: work in inverted depth, fill rows before
columns, median then blur) but with the fill chosen for how a spinning LiDAR samples the image:
each beam is a near-horizontal line of dense samples and the gaps are between beams. So:

1. inverse depth ``1 / d`` of the measurements (so planes interpolate exactly: ``1/z`` is
   affine in the pixel coordinates on a plane, e.g. the road);
2. horizontal gap fill inside each beam: an empty pixel takes the nearest (largest inverse depth)
   value within ``row_fill_px`` pixels of its row;
3. per column, linear interpolation of inverse depth between the nearest filled pixel above and
   below; above the top beam the top value is extended (IP-Basic's extrapolation), below the
   lowest beam the lowest value. This adapts to any beam spacing (64, 32, 16, 4 lines) without
   per-density kernels;
4. ``median_px`` median then ``blur_px`` Gaussian on the inverse depth: at depth discontinuities
   the estimate becomes a blend of the two surfaces, which is what minimises the squared error
   when the side a pixel belongs to is uncertain.

Work is limited to the rows from the top measurement down (rows above only get the extension).

Confidence (documented in models/README.md), per pixel::

    c = exp(-dist_px / confidence_distance_px) * exp(-spread / confidence_spread)

``dist_px``: pixel distance along the column to the nearest measurement (after the in-beam row
fill, so about the distance to the nearest beam); ``spread``: relative depth range in the 3x3
neighbourhood, ``(max(1/d) - min(1/d)) / (1/d)`` of the output (about
``(d_far - d_near) / d``). Rows above the top beam get ``c`` times ``exp(-rows_above / 8)``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from depth_completion_ros.errors import ModelError
from depth_completion_ros.models.base import CompletionOutput, ModelCapabilities, check_inputs
from depth_completion_ros.models.registry import register_model

CAPABILITIES = ModelCapabilities(needs_lidar=True, rgb_only=False, needs_gpu=False)
_SPREAD_KERNEL = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class ClassicalConfig:
    """Config of the classical model (all sizes in pixels, depths in metres).

    Attributes:
        min_depth: measurements at or below are ignored.
        row_fill_px: width of the horizontal in-beam gap fill (odd, >= 1).
        median_px: median filter size on inverse depth (3 or 5; 0 = off).
        blur_px: Gaussian size on inverse depth (odd; 0 = off).
        confidence_distance_px: pixel distance at which the distance term falls to 1/e.
        confidence_spread: relative depth spread at which the spread term falls to 1/e.
    """

    min_depth: float = 0.1
    row_fill_px: int = 7
    median_px: int = 5
    blur_px: int = 13
    confidence_distance_px: float = 6.0
    confidence_spread: float = 0.1

    def __post_init__(self) -> None:
        for key in ("row_fill_px", "blur_px"):
            value = getattr(self, key)
            if value < 0 or (value > 0 and value % 2 == 0):
                raise ValueError(f"{key} must be 0 or a positive odd number, got {value}")
        if self.median_px not in (0, 3, 5):
            raise ValueError(f"median_px must be 0, 3 or 5, got {self.median_px}")
        if self.confidence_distance_px <= 0 or self.confidence_spread <= 0:
            raise ValueError("confidence_distance_px and confidence_spread must be > 0")


def fill_rows(inv: np.ndarray, width: int) -> np.ndarray:
    """Empty (0) pixels take the largest value within ``width`` pixels of their row.

    Args:
        inv: (H, W) float32 inverse depth (1/metres), 0 = empty.

    Returns:
        (H, W) float32, a new array.
    """
    if width <= 1:
        return inv.copy()
    return np.where(inv > 0, inv, cv2.dilate(inv, np.ones((1, width), np.uint8)))


def interpolate_columns(inv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of each column between its nearest filled pixels above and below.

    Pixels above a column's first filled pixel take its value, pixels below its last one take
    that; all-empty columns stay 0.

    Args:
        inv: (H, W) float32, 0 = empty; H < 32768.

    Returns:
        (interpolated (H, W) float32; vertical distance (H, W) float32, pixels, to the nearest
        filled pixel of the column, ``height`` in all-empty columns).
    """
    height, width = inv.shape
    valid = inv > 0
    rows = np.arange(height, dtype=np.int16)[:, None]
    above = np.maximum.accumulate(np.where(valid, rows, np.int16(-1)), axis=0)
    below = np.minimum.accumulate(np.where(valid, rows, np.int16(height))[::-1], axis=0)[::-1]
    has_above, has_below = above >= 0, below < height
    cols = np.arange(width, dtype=np.int32)[None, :]
    v_above = np.take(inv.ravel(), np.maximum(above, 0).astype(np.int32) * width + cols)
    v_below = np.take(inv.ravel(), np.minimum(below, height - 1).astype(np.int32) * width + cols)
    v_above = np.where(has_above, v_above, v_below)
    v_below = np.where(has_below, v_below, v_above)
    t = (rows - above).astype(np.float32)
    t /= np.maximum(below - above, 1).astype(np.float32)
    t[~(has_above & has_below)] = 0.0
    v_below -= v_above
    v_below *= t
    v_below += v_above
    dist = np.minimum(np.where(has_above, rows - above, height), below - rows).astype(np.float32)
    return v_below, dist


def complete_inverse(inv: np.ndarray, config: ClassicalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Steps 2-4 of the module docstring on an (H, W) float32 inverse-depth image (0 = empty).

    Returns:
        (completed inverse depth (H, W) float32; vertical pixel distance to the nearest filled
        pixel (H, W) float32, see :func:`interpolate_columns`).
    """
    out, dist = interpolate_columns(fill_rows(inv, config.row_fill_px))
    if config.median_px:
        out = cv2.medianBlur(out, config.median_px)
    if config.blur_px:
        out = cv2.GaussianBlur(out, (config.blur_px, config.blur_px), 0)
    return out, dist


def confidence_map(inv_out: np.ndarray, dist: np.ndarray, config: ClassicalConfig) -> np.ndarray:
    """Confidence in [0, 1] (formula in the module docstring).

    Args:
        inv_out: (H, W) float32 completed inverse depth, 0 = no estimate.
        dist: (H, W) float32 pixel distance to the nearest (row-filled) measurement.
    """
    spread = (cv2.dilate(inv_out, _SPREAD_KERNEL) - cv2.erode(inv_out, _SPREAD_KERNEL))
    spread /= np.maximum(inv_out, np.float32(1e-6))
    exponent = dist / np.float32(config.confidence_distance_px)
    exponent += spread / np.float32(config.confidence_spread)
    conf = np.exp(-exponent)
    conf[inv_out <= 0] = 0.0
    return conf


def complete(sparse_depth: np.ndarray, config: ClassicalConfig = ClassicalConfig()
             ) -> tuple[np.ndarray, np.ndarray]:
    """Dense depth and confidence from an (H, W) sparse depth (metres, 0 = none).

    Returns:
        (depth (H, W) float32 metres, NaN where no estimate; confidence (H, W) float32 in [0, 1]).
    """
    height, width = sparse_depth.shape
    depth = np.full((height, width), np.nan, np.float32)
    conf = np.zeros((height, width), np.float32)
    measured = sparse_depth > config.min_depth
    rows_any = np.flatnonzero(measured.any(axis=1))
    if rows_any.size == 0:
        return depth, conf
    top = int(rows_any[0])
    sub = sparse_depth[top:].astype(np.float32)
    inv = np.zeros_like(sub)
    np.divide(1.0, sub, out=inv, where=measured[top:])
    inv_out, dist = complete_inverse(inv, config)
    conf[top:] = confidence_map(inv_out, dist, config)
    np.divide(1.0, inv_out, out=depth[top:], where=inv_out > 0)
    if top > 0:  # IP-Basic's extrapolation: extend the top row upwards, fading confidence
        depth[:top] = depth[top]
        fade = np.exp(-np.arange(top, 0, -1, dtype=np.float32) / np.float32(8.0))[:, None]
        conf[:top] = conf[top] * fade
    return depth, conf


class ClassicalModel:
    """The classical model as a :class:`~depth_completion_ros.models.base.DepthModel`."""

    name = "classical"
    capabilities = CAPABILITIES

    def __init__(self, config: ClassicalConfig) -> None:
        self.config = config

    def predict(self, rgb: np.ndarray | None, sparse_depth: np.ndarray | None,
                K: np.ndarray) -> CompletionOutput:
        """Dense depth (H, W) metres and confidence; see :func:`complete`."""
        if sparse_depth is None:
            raise ModelError("model 'classical' needs a sparse depth (it cannot run RGB-only)")
        check_inputs(rgb, sparse_depth, K, model=self.name)
        start = time.perf_counter()
        depth, conf = complete(sparse_depth, self.config)
        return CompletionOutput(depth, conf, {"model": 1e3 * (time.perf_counter() - start)})


def _build(config: ClassicalConfig, *, checkpoint: Path | None, device: str,
           precision: str) -> ClassicalModel:
    if checkpoint is not None:
        raise ModelError(f"model 'classical' is learning-free and takes no checkpoint, "
                         f"got {checkpoint}")
    return ClassicalModel(config)


register_model("classical", factory=_build, config_cls=ClassicalConfig,
               capabilities=CAPABILITIES,
               description="learning-free beam-aware fill (default, CPU)")
