"""The node's parameters: one typed, frozen settings object, their ROS descriptions and checks.

The table :data:`PARAMETERS` is the single place that names each parameter, its default, range and
description; :class:`NodeSettings` mirrors it with types. :func:`check_settings` is pure (no ROS)
and returns the reason a combination is invalid, which the node's on-set callback hands back.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models.registry import DEVICES, PRECISIONS

QOS_CHOICES = ("sensor_data", "reliable", "best_effort")


@dataclass(frozen=True)
class NodeSettings:
    """All node parameters, typed (defaults live here only). Depths in metres, times in seconds."""

    model: str = "classical"
    checkpoint: str = ""
    device: str = "auto"
    precision: str = "fp32"
    dropout_model: str = ""
    min_depth: float = 0.1
    max_depth: float = 80.0
    slop: float = 0.05
    max_wait: float = 0.1
    lidar_timeout: float = 0.5
    lidar_to_camera: tuple[float, ...] = ()
    use_rectified: bool = True
    publish_depth_mm: bool = False
    publish_sparse_depth: bool = True
    publish_depth_color: bool = True
    publish_points_dense: bool = False
    color_min_depth: float = 0.0
    color_max_depth: float = 80.0
    input_qos: str = "sensor_data"
    output_qos: str = "reliable"
    qos_depth: int = 5

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> NodeSettings:
        """Build from name -> value (ROS parameters); unknown names raise ConfigError."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"node parameters: unknown {unknown}; valid: {sorted(names)}")
        clean = {k: tuple(float(x) for x in v) if k == "lidar_to_camera" else v
                 for k, v in values.items() if v is not None}
        return dataclasses.replace(cls(), **clean)

    def transform(self) -> np.ndarray | None:
        """``lidar_to_camera`` as (4, 4) float64, or None when unset (then tf2 is asked)."""
        if not self.lidar_to_camera:
            return None
        return np.asarray(self.lidar_to_camera, dtype=np.float64).reshape(4, 4)


#: name -> (description, (min, max) for numbers or the allowed strings, read-only at run time)
PARAMETERS: dict[str, tuple[str, tuple[Any, ...] | None, bool]] = {
    "model": ("registered model name (depth-completion models); swapped in the background", None,
              False),
    "checkpoint": ("weights file; empty = the model's default; swapped in the background", None,
                   False),
    "device": ("auto, cpu or cuda; changing it reloads the model", DEVICES, False),
    "precision": ("fp32, fp16 or bf16 (half precision only on CUDA)", PRECISIONS, False),
    "dropout_model": ("RGB-only model for LiDAR dropout when the active model needs LiDAR; "
                      "empty = none (frames without LiDAR are then skipped and counted)", None,
                      False),
    "min_depth": ("metres; nearer LiDAR points and outputs are dropped / NaN", (0.0, 10.0), False),
    "max_depth": ("metres; farther LiDAR points and outputs are dropped / NaN", (1.0, 1000.0),
                  False),
    "slop": ("seconds; largest image / cloud stamp difference of a pair", (0.0, 1.0), False),
    "max_wait": ("seconds; longest an image waits for a late cloud", (0.0, 1.0), False),
    "lidar_timeout": ("seconds without clouds before images run in prediction mode",
                      (0.0, 10.0), False),
    "lidar_to_camera": ("16 numbers, row-major 4x4, LiDAR frame -> camera (rectified) optical "
                        "frame; unset = look it up in tf2 at the image stamp", None, False),
    "use_rectified": ("project with camera_info P (rectified image); false: K and D", None, False),
    "publish_depth_mm": ("also publish depth_mm (16UC1, millimetres)", None, False),
    "publish_sparse_depth": ("publish sparse_depth (projected LiDAR, 32FC1) when subscribed",
                             None, False),
    "publish_depth_color": ("publish depth_color (bgr8) when subscribed", None, False),
    "publish_points_dense": ("publish points_dense (PointCloud2 of the dense depth)", None, False),
    "color_min_depth": ("metres mapped to the near end of the depth_color map", (0.0, 1000.0),
                        False),
    "color_max_depth": ("metres mapped to the far end of the depth_color map", (0.1, 1000.0),
                        False),
    "input_qos": ("QoS of the subscriptions: sensor_data, reliable or best_effort", QOS_CHOICES,
                  True),
    "output_qos": ("QoS of the publishers: reliable, best_effort or sensor_data", QOS_CHOICES,
                   True),
    "qos_depth": ("history depth of subscriptions and publishers", (1, 100), True),
}


def _check_ranges(settings: NodeSettings) -> str | None:
    """Reason why a value is outside its declared range or choices, or None."""
    for name, (_, allowed, _) in PARAMETERS.items():
        value = getattr(settings, name)
        if allowed is None:
            continue
        if isinstance(allowed[0], str):
            if value not in allowed:
                return f"{name}: {value!r} is not one of {list(allowed)}"
        elif not allowed[0] <= value <= allowed[1]:
            return f"{name}: {value!r} is outside [{allowed[0]}, {allowed[1]}]"
    return None


def check_settings(settings: NodeSettings, known_models: list[str]) -> str | None:
    """The reason ``settings`` are invalid, or None when they are fine.

    Checks ranges, that the models are registered, that a given checkpoint file exists, the depth
    and colour ranges, and that ``lidar_to_camera`` is 16 finite numbers with last row 0 0 0 1.
    """
    reason = _check_ranges(settings)
    if reason:
        return reason
    for name in ("model", "dropout_model"):
        value = getattr(settings, name)
        if (value or name == "model") and value not in known_models:
            return f"{name}: unknown model {value!r}; registered models: {', '.join(known_models)}"
    if settings.checkpoint and not Path(settings.checkpoint).expanduser().is_file():
        return f"checkpoint: file {settings.checkpoint!r} does not exist"
    if settings.min_depth >= settings.max_depth:
        return f"min_depth {settings.min_depth} must be below max_depth {settings.max_depth}"
    if settings.color_min_depth >= settings.color_max_depth:
        return (f"color_min_depth {settings.color_min_depth} must be below color_max_depth "
                f"{settings.color_max_depth}")
    return _check_transform(settings.lidar_to_camera)


def _check_transform(values: tuple[float, ...]) -> str | None:
    if not values:
        return None
    m = np.asarray(values, dtype=np.float64)
    if m.size != 16 or not np.isfinite(m).all():
        return f"lidar_to_camera: expected 16 finite numbers, got {len(values)}: {list(values)}"
    if not np.allclose(m[12:], [0, 0, 0, 1]):
        return f"lidar_to_camera: last row must be 0 0 0 1, got {m[12:].tolist()}"
    return None
