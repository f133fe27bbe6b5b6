"""One frame (RGB, camera, LiDAR points or None) -> dense depth, confidence and sparse depth.

The node and the offline bag evaluation share this class, so a replayed bag is scored on the
node's code path. Completion mode projects the points and runs the model with them; prediction
mode (no cloud) runs the active model alone when it is RGB-only, else the ``dropout_model``.

Output convention: ``depth`` is (H, W) float32 metres at the input image's full size, NaN where
there is no estimate, including every value outside ``[min_depth, max_depth]`` and any non-finite
model output; ``confidence`` is (H, W) float32 in [0, 1] and exactly 0 wherever depth is NaN.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from depth_completion_ros.errors import InputError, ModelError
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.models.base import DepthModel

if TYPE_CHECKING:
    from depth_completion_ros.geometry.camera import PinholeCamera

COMPLETION = "completion"
PREDICTION = "prediction"


@dataclass
class FrameResult:
    """What :meth:`DepthPipeline.process` returns for one frame.

    Attributes:
        depth: (H, W) float32 metres, NaN where no estimate.
        confidence: (H, W) float32 in [0, 1], 0 where depth is NaN.
        sparse_depth: (H, W) float32 metres of the projected LiDAR, 0 = no point (all 0 in
            prediction mode).
        mode: "completion" (LiDAR used) or "prediction" (RGB only).
        model_name: name of the model that produced ``depth``.
        points_in_view: pixels of ``sparse_depth`` holding a LiDAR depth.
        density: ``points_in_view`` / (H * W).
        timings_ms: stage -> milliseconds (``project``, the model's own stages, ``total``).
    """

    depth: np.ndarray
    confidence: np.ndarray
    sparse_depth: np.ndarray
    mode: str
    model_name: str
    points_in_view: int
    density: float
    timings_ms: dict[str, float] = field(default_factory=dict)


def _check_transform(matrix: np.ndarray) -> np.ndarray:
    """(4, 4) finite float64 with last row [0, 0, 0, 1], else InputError."""
    try:
        m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
    except (TypeError, ValueError) as err:
        raise InputError(f"lidar_to_camera: expected 16 numbers (4x4), got {matrix!r}") from err
    if not np.isfinite(m).all() or not np.allclose(m[3], [0, 0, 0, 1]):
        raise InputError(f"lidar_to_camera: last row must be [0, 0, 0, 1] and all finite, "
                         f"got {m.tolist()}")
    return m


class DepthPipeline:
    """Per-frame fusion of a camera image and a LiDAR cloud through a :class:`DepthModel`.

    Args:
        model: the active model (completion, or RGB-only which also serves prediction mode).
        lidar_to_camera: (4, 4) LiDAR frame -> camera (rectified) optical frame.
        use_rectified: project with the camera's P (rectified image); else with K and D.
        min_depth: metres; nearer LiDAR points and outputs are dropped / NaN.
        max_depth: metres; farther LiDAR points and outputs are dropped / NaN.
        dropout_model: RGB-only model used in prediction mode when ``model`` needs LiDAR.

    Raises:
        InputError: bad transform or depth range.
    """

    def __init__(self, model: DepthModel, lidar_to_camera: np.ndarray, *,
                 use_rectified: bool = True, min_depth: float = 0.1, max_depth: float = 120.0,
                 dropout_model: DepthModel | None = None) -> None:
        if not 0.0 <= min_depth < max_depth or not np.isfinite(max_depth):
            raise InputError(f"depth range: need 0 <= min_depth < max_depth, got "
                             f"[{min_depth}, {max_depth}]")
        if dropout_model is not None and not dropout_model.capabilities.rgb_only:
            raise InputError(f"dropout_model: {dropout_model.name!r} is not RGB-only")
        self.model = model
        self.dropout_model = dropout_model
        self.lidar_to_camera = _check_transform(lidar_to_camera)
        self.use_rectified = use_rectified
        self.min_depth = float(min_depth)
        self.max_depth = float(max_depth)

    def model_for(self, mode: str) -> DepthModel | None:
        """The model that serves ``mode``, or None when no model can (prediction, no fallback)."""
        if mode == COMPLETION or self.model.capabilities.rgb_only:
            return self.model
        return self.dropout_model

    def process(self, rgb: np.ndarray, camera: PinholeCamera,
                points: np.ndarray | None) -> FrameResult:
        """Run one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB, the camera's full image.
            camera: the image's camera model; its size must be (W, H).
            points: (N, 3+) float32 LiDAR points in metres (LiDAR frame), or None for
                prediction mode.

        Raises:
            InputError: the image is not (H, W, 3) uint8 or does not match the camera size, or
                points are not (N, >=3).
            ModelError: prediction mode with no RGB-only model, or a model output of wrong shape.
        """
        start = time.perf_counter()
        height, width = self._check_image(rgb, camera)
        mode = PREDICTION if points is None else COMPLETION
        model = self.model_for(mode)
        if model is None:
            raise ModelError(f"prediction mode: model {self.model.name!r} needs LiDAR and no "
                             "RGB-only dropout_model is configured")
        timings: dict[str, float] = {}
        sparse = np.zeros((height, width), np.float32)
        if points is not None:
            sparse = self._project(points, camera)
            timings["project"] = 1e3 * (time.perf_counter() - start)
        out = model.predict(rgb, sparse if mode == COMPLETION else None,
                            camera.intrinsics(rectified=self.use_rectified))
        depth, confidence = self._clean(out.depth, out.confidence, (height, width), model.name)
        timings.update(out.timings_ms)
        timings["total"] = 1e3 * (time.perf_counter() - start)
        in_view = int(np.count_nonzero(sparse))
        return FrameResult(depth, confidence, sparse, mode, model.name, in_view,
                           in_view / float(height * width), timings)

    @staticmethod
    def _check_image(rgb: np.ndarray, camera: PinholeCamera) -> tuple[int, int]:
        """(H, W) of ``rgb`` after checking dtype, shape and the camera size."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 \
                or rgb.shape[2] != 3:
            raise InputError(f"rgb: expected (H, W, 3) uint8, got "
                             f"{getattr(rgb, 'shape', None)} {getattr(rgb, 'dtype', type(rgb))}")
        if (rgb.shape[1], rgb.shape[0]) != (camera.width, camera.height):
            raise InputError(f"rgb: image is {rgb.shape[1]}x{rgb.shape[0]} but camera_info "
                             f"says {camera.width}x{camera.height}")
        return int(rgb.shape[0]), int(rgb.shape[1])

    def _project(self, points: np.ndarray, camera: PinholeCamera) -> np.ndarray:
        """Sparse (H, W) float32 depth of ``points``, 0 outside [min_depth, max_depth]."""
        pts = np.asarray(points)
        if pts.ndim != 2 or pts.shape[1] < 3:
            raise InputError(f"points: expected (N, >=3), got shape {pts.shape}")
        sparse = project_to_depth(pts[:, :3], self.lidar_to_camera, camera,
                                  rectified=self.use_rectified, min_depth=self.min_depth)
        sparse = np.asarray(sparse, dtype=np.float32)
        sparse[sparse > self.max_depth] = 0.0
        return sparse

    def _clean(self, depth: np.ndarray, confidence: np.ndarray, shape: tuple[int, int],
               name: str) -> tuple[np.ndarray, np.ndarray]:
        """Apply the output convention (NaN outside range, confidence 0 there, clipped to 0..1)."""
        if depth.shape != shape or confidence.shape != shape:
            raise ModelError(f"model {name!r}: output depth {depth.shape} / confidence "
                             f"{confidence.shape}, expected {shape}")
        depth = np.array(depth, dtype=np.float32, copy=True)
        with np.errstate(invalid="ignore"):
            invalid = ~np.isfinite(depth) | (depth < self.min_depth) | (depth > self.max_depth)
        depth[invalid] = np.nan
        conf = np.nan_to_num(np.clip(confidence.astype(np.float32), 0.0, 1.0), nan=0.0)
        conf[invalid] = 0.0
        return depth, conf

