"""One frame (RGB, camera, LiDAR points or None) -> dense depth, confidence and sparse depth.

The node and the offline bag evaluation share this class, so a replayed bag is scored on the
node's code path. Completion mode projects the points and runs the model with them; prediction
mode (no cloud) runs the active model alone when it does not require LiDAR (its spec), else the
``dropout_model``. A model that needs no image (LiDAR-only completion) runs with ``rgb=None``.

Output convention: ``depth`` is (H, W) float32 metres at the input image's full size, NaN where
there is no estimate, including every value outside ``[min_depth, max_depth]`` and any non-finite
model output; ``confidence`` is (H, W) float32 in [0, 1] and exactly 0 wherever depth is NaN.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from depth_completion_ros.arrays import Array, Float32Array, Float64Array, UInt8Array
from depth_completion_ros.checks import check_image, check_points, check_rigid_transform
from depth_completion_ros.errors import InputError, ModelError
from depth_completion_ros.geometry.projection import project_to_depth
from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.settings import PipelineSettings
from depth_completion_ros.status import Mode

if TYPE_CHECKING:
    from depth_completion_ros.geometry.camera import PinholeCamera

COMPLETION = Mode.COMPLETION
PREDICTION = Mode.PREDICTION


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

    depth: Float32Array
    confidence: Float32Array
    sparse_depth: Float32Array
    mode: str
    model_name: str
    points_in_view: int
    density: float
    timings_ms: dict[str, float] = field(default_factory=dict)


class DepthPipeline:
    """Per-frame fusion of a camera image and a LiDAR cloud through a :class:`DepthModel`.

    Args:
        model: the active model (completion; one that does not require LiDAR also serves
            prediction mode).
        lidar_to_camera: (4, 4) rigid LiDAR frame -> camera (rectified) optical frame; a frame may
            bring its own (:meth:`process`, e.g. looked up in tf2 at its stamp).
        settings: projection path (rectified or raw) and depth range (metres).
        dropout_model: model that runs without LiDAR, used in prediction mode when ``model``
            needs LiDAR.

    Raises:
        InputError: bad transform or depth range.
    """

    def __init__(self, model: DepthModel, lidar_to_camera: Array,
                 settings: PipelineSettings | None = None, *,
                 dropout_model: DepthModel | None = None) -> None:
        settings = settings if settings is not None else PipelineSettings()
        if dropout_model is not None and not dropout_model.spec.runs_without_lidar:
            raise InputError(f"dropout_model: {dropout_model.name!r} cannot run without LiDAR "
                             f"(it requires {[i.value for i in dropout_model.spec.required]})")
        self.model = model
        self.dropout_model = dropout_model
        self.lidar_to_camera = check_rigid_transform(lidar_to_camera)
        self.settings = settings
        self.use_rectified = settings.use_rectified
        self.min_depth, self.max_depth = settings.min_depth, settings.max_depth

    def model_for(self, mode: str) -> DepthModel | None:
        """The model that serves ``mode``, or None when no model can (prediction, no fallback).

        A model that does not require sparse depth serves prediction mode itself.
        """
        if mode == COMPLETION or self.model.spec.runs_without_lidar:
            return self.model
        return self.dropout_model

    def process(self, rgb: UInt8Array | None, camera: PinholeCamera, points: Array | None,
                lidar_to_camera: Array | None = None) -> FrameResult:
        """Run one frame.

        Args:
            rgb: (H, W, 3) uint8 RGB, the camera's full image, or None for a model that needs
                no image (LiDAR-only completion; the camera gives the size and intrinsics).
            camera: the image's camera model; its size must be (W, H).
            points: (N, 3+) float32 LiDAR points in metres (LiDAR frame), or None for
                prediction mode.
            lidar_to_camera: (4, 4) transform of this frame (checked as rigid), or None for the
                pipeline's own.

        Raises:
            InputError: the image is not (H, W, 3) uint8 or does not match the camera size, or
                points are not (N, >=3).
            ModelError: prediction mode with no model that runs without LiDAR, no image for a
                model that needs one, or a model output of wrong shape.
        """
        start = time.perf_counter()
        height, width = self._check_image(rgb, camera)
        mode = PREDICTION if points is None else COMPLETION
        model = self.model_for(mode)
        if model is None:
            raise ModelError(f"prediction mode: model {self.model.name!r} needs LiDAR and no "
                             "dropout_model that runs without it is configured")
        if rgb is None and model.spec.needs_image:
            raise ModelError(f"model {model.name!r} needs an RGB image, the frame has none")
        timings: dict[str, float] = {}
        sparse: Float32Array = np.zeros((height, width), np.float32)
        if points is not None:
            transform = self.lidar_to_camera if lidar_to_camera is None else \
                check_rigid_transform(lidar_to_camera)
            sparse = self._project(points, camera, transform)
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
    def _check_image(rgb: UInt8Array | None, camera: PinholeCamera) -> tuple[int, int]:
        """(H, W) of the frame: the camera's size, which ``rgb`` (when given) must have."""
        if rgb is None:
            return camera.height, camera.width
        return check_image(rgb, "rgb", (camera.width, camera.height))

    def _project(self, points: Array, camera: PinholeCamera,
                 lidar_to_camera: Float64Array) -> Float32Array:
        """Sparse (H, W) float32 depth of ``points``, 0 outside [min_depth, max_depth]."""
        sparse = project_to_depth(check_points(points), lidar_to_camera, camera,
                                  rectified=self.use_rectified, min_depth=self.min_depth)
        sparse = np.asarray(sparse, dtype=np.float32)
        sparse[sparse > self.max_depth] = 0.0
        return sparse

    def _clean(self, depth: Array, confidence: Array, shape: tuple[int, int],
               name: str) -> tuple[Float32Array, Float32Array]:
        """Apply the output convention (NaN outside range, confidence 0 there, clipped to 0..1)."""
        if depth.shape != shape or confidence.shape != shape:
            raise ModelError(f"model {name!r}: output depth {depth.shape} / confidence "
                             f"{confidence.shape}, expected {shape}")
        depth = np.asarray(depth, dtype=np.float32)
        # NaN compares False and inf falls outside the range: one test covers non-finite too
        valid = np.greater_equal(depth, np.float32(self.min_depth))
        valid &= depth <= np.float32(self.max_depth)
        depth = np.where(valid, depth, np.float32(np.nan))  # a new array
        conf = np.fmax(confidence, np.float32(0.0), dtype=np.float32)  # fmax: NaN -> 0
        np.fmin(conf, np.float32(1.0), out=conf)
        conf *= valid
        return depth, conf

