"""The node's parameters: one typed, frozen settings object, their ROS descriptors and checks.

The table :data:`PARAMETERS` is the single place that names each parameter, its range and
description; :class:`NodeSettings` holds the typed values and their defaults. The pipeline part
(projection path, depth range, sync timing) is the core's
:class:`~depth_completion_ros.settings.PipelineSettings`, composed here, so offline evaluation
uses the same defaults without borrowing node settings. :func:`check_settings` returns the reason
a combination is invalid, which the node's on-set callback hands back; :func:`descriptor` and
:func:`make_qos` give the ROS forms.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

from depth_completion_ros.checks import check_rigid_transform
from depth_completion_ros.devices import Device, Engine, Precision
from depth_completion_ros.dropout.policy import DropoutConfig
from depth_completion_ros.errors import ConfigError, DepthCompletionError, InputError, ModelError
from depth_completion_ros.models.model_config import resolve_model_config
from depth_completion_ros.models.registry import get_entry
from depth_completion_ros.runtime.model_slot import NO_DROPOUT_MODEL
from depth_completion_ros.settings import PipelineSettings
from depth_completion_ros.status import Trigger
from depth_completion_ros.sync.policy import SyncConfig

QOS_CHOICES = ("sensor_data", "reliable", "best_effort")
#: image_transport transports the node subscribes with: sensor_msgs/Image, CompressedImage
TRANSPORT_CHOICES = ("raw", "compressed")
#: flat parameter names of :class:`PipelineSettings` fields, and of its ``sync`` fields
PIPELINE_FIELDS = ("use_rectified", "min_depth", "max_depth")
SYNC_FIELDS = ("slop", "max_wait", "lidar_timeout", "trigger", "image_timeout")
#: parameter name -> :class:`DropoutConfig` field
DROPOUT_FIELDS = {"stale_scan_max_age": "stale_scan_max_age",
                  "stale_confidence_time_constant": "confidence_time_constant"}
#: parameters holding a 4x4 matrix (16 numbers, unset = empty)
MATRIX_PARAMETERS = ("lidar_to_camera", "lidar_to_base")


@dataclass(frozen=True)
class NodeSettings:
    """All node parameters, typed (defaults live here and in PipelineSettings only).

    Depths in metres, times in seconds. ``pipeline`` holds the parameters ``use_rectified``,
    ``min_depth``, ``max_depth``, ``slop``, ``max_wait``, ``lidar_timeout``, ``trigger`` and
    ``image_timeout``; ``dropout``
    holds ``stale_scan_max_age`` and ``stale_confidence_time_constant``.
    """

    model: str = "classical"
    checkpoint: str = ""
    device: str = Device.AUTO.value
    precision: str = Precision.FP32.value
    engine: str = Engine.TORCH.value
    dropout_model: str = "san"
    dropout_checkpoint: str = ""
    model_config: str = ""
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    dropout: DropoutConfig = field(default_factory=DropoutConfig)
    odometry_topic: str = ""
    lidar_to_base: tuple[float, ...] = ()
    lidar_to_camera: tuple[float, ...] = ()
    publish_depth_mm: bool = False
    publish_sparse_depth: bool = True
    publish_depth_color: bool = True
    publish_points_dense: bool = False
    color_min_depth: float = 0.0
    color_max_depth: float = 80.0
    image_transport: str = "raw"
    input_qos: str = "sensor_data"
    output_qos: str = "reliable"
    qos_depth: int = 5

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> NodeSettings:
        """Build from flat parameter name -> value; None values keep the default.

        Raises:
            ConfigError: an unknown parameter name.
            InputError: an invalid depth range. ConfigError: invalid sync or dropout timing.
        """
        unknown = sorted(set(values) - set(PARAMETERS))
        if unknown:
            raise ConfigError(f"node parameters: unknown {unknown}; valid: {sorted(PARAMETERS)}")
        given = {k: v for k, v in values.items() if v is not None}
        for name in MATRIX_PARAMETERS:
            if name in given:
                given[name] = tuple(float(x) for x in given[name])
        default = PipelineSettings()
        sync = dataclasses.replace(default.sync, **{k: given.pop(k) for k in SYNC_FIELDS
                                                    if k in given})
        pipeline = dataclasses.replace(default, sync=sync, **{
            k: given.pop(k) for k in PIPELINE_FIELDS if k in given})
        dropout = DropoutConfig(**{f: given.pop(k) for k, f in DROPOUT_FIELDS.items()
                                   if k in given})
        return dataclasses.replace(cls(), pipeline=pipeline, dropout=dropout, **given)

    def to_parameters(self) -> dict[str, Any]:
        """Flat parameter name -> value of every parameter (the inverse of
        :meth:`from_mapping`), e.g. to start a node with these settings."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name not in ("pipeline", "dropout")}
        values.update({k: getattr(self.pipeline, k) for k in PIPELINE_FIELDS})
        values.update({k: getattr(self.pipeline.sync, k) for k in SYNC_FIELDS})
        values.update({k: getattr(self.dropout, f) for k, f in DROPOUT_FIELDS.items()})
        for name in MATRIX_PARAMETERS:
            values[name] = list(getattr(self, name))
        return values

    @property
    def sync(self) -> SyncConfig:
        """Timing of the sync policy."""
        return self.pipeline.sync

    def transform(self) -> np.ndarray | None:
        """``lidar_to_camera`` as (4, 4) float64, or None when unset (then tf2 is asked)."""
        if not self.lidar_to_camera:
            return None
        return check_rigid_transform(self.lidar_to_camera)

    def base_transform(self) -> np.ndarray | None:
        """``lidar_to_base`` as (4, 4) float64, or None when unset (the odometry tracks the
        LiDAR itself)."""
        if not self.lidar_to_base:
            return None
        return check_rigid_transform(self.lidar_to_base, "lidar_to_base")


#: name -> (description, (min, max) for numbers or the allowed strings, read-only at run time)
PARAMETERS: dict[str, tuple[str, tuple[Any, ...] | None, bool]] = {
    "model": ("registered model name (depth-completion models); swapped in the background", None,
              False),
    "checkpoint": ("weights file; empty = the model's default; swapped in the background", None,
                   False),
    "device": ("auto, cpu or cuda; changing it reloads the model", Device.choices(), False),
    "precision": ("fp32, fp16 or bf16 (half precision only on CUDA)", Precision.choices(),
                  False),
    "engine": ("what runs a learned model's network: torch (eager PyTorch) or onnxruntime (its "
               "ONNX export, on the CPU; needs the onnxruntime package); learning-free models "
               "ignore it; changing it reloads the model", Engine.choices(), False),
    "dropout_model": ("model that runs without LiDAR (RGB-only) serving frames once the latest "
                      "scan is older than stale_scan_max_age (or none was received), when the "
                      "active model needs LiDAR; '' or 'none' = no RGB-only tier; one that "
                      "cannot be loaded (not registered, no weights) is reported in "
                      "diagnostics and the stale-scan tier serves alone", None, False),
    "dropout_checkpoint": ("weights file of dropout_model (e.g. the SAN authors' released "
                           "PackNetSAN01 checkpoint); empty = its default weights; swapped in "
                           "the background", None, False),
    "stale_scan_max_age": ("seconds; a frame without its own cloud is completed from the most "
                           "recent scan while its stamp is at most this far from the image's "
                           "(0 = off), then RGB-only", (0.0, 60.0), False),
    "stale_confidence_time_constant": ("seconds; a stale scan's confidence is multiplied by "
                                       "exp(-age / this)", (0.01, 1000.0), False),
    "odometry_topic": ("nav_msgs/Odometry topic whose poses move a stale scan into the current "
                       "LiDAR pose; empty = no motion compensation", None, True),
    "lidar_to_base": ("16 numbers, row-major 4x4, LiDAR frame -> the odometry's child frame "
                      "(e.g. base_link); unset = the odometry tracks the LiDAR itself", None,
                      True),
    "model_config": ("model preset file (YAML: model, config) setting the active model's config "
                     "fields; empty = the model's defaults; reloads the model", None, False),
    "min_depth": ("metres; nearer LiDAR points and outputs are dropped / NaN", (0.0, 10.0), False),
    "max_depth": ("metres; farther LiDAR points and outputs are dropped / NaN", (1.0, 1000.0),
                  False),
    "slop": ("seconds; largest image / cloud stamp difference of a pair", (0.0, 1.0), False),
    "max_wait": ("seconds; longest an image waits for a late cloud (and, before the first "
                 "camera_info, for it)", (0.0, 1.0), False),
    "lidar_timeout": ("seconds without clouds before images run in prediction mode",
                      (0.0, 10.0), False),
    "trigger": ("what releases frames: image (each image, paired with its cloud), lidar (each "
                "cloud, no image: the image topic may be absent; camera_info is still required; "
                "only for a model that needs no image) or auto (image-driven while images "
                "arrive or the model needs one, LiDAR-driven once the model needs no image and "
                "no image arrived for image_timeout)", tuple(t.value for t in Trigger), False),
    "image_timeout": ("seconds without images before a model that needs no image is served by "
                      "the clouds alone (trigger auto)", (0.0, 10.0), False),
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
    "image_transport": ("raw: sensor_msgs/Image on image; compressed: sensor_msgs/CompressedImage "
                        "(JPEG, PNG) on image/compressed (image_transport's convention: remap "
                        "image, the suffix follows)", TRANSPORT_CHOICES, True),
    "input_qos": ("QoS of the subscriptions: sensor_data, reliable or best_effort", QOS_CHOICES,
                  True),
    "output_qos": ("QoS of the publishers: reliable, best_effort or sensor_data", QOS_CHOICES,
                   True),
    "qos_depth": ("history depth of subscriptions and publishers", (1, 100), True),
}


def check_ranges(values: Mapping[str, Any]) -> str | None:
    """Reason why a value is outside its declared range or choices, or None."""
    for name, (_, allowed, _) in PARAMETERS.items():
        value = values[name]
        if allowed is None:
            continue
        if isinstance(allowed[0], str):
            if value not in allowed:
                return f"{name}: {value!r} is not one of {list(allowed)}"
        elif not allowed[0] <= value <= allowed[1]:
            return f"{name}: {value!r} is outside [{allowed[0]}, {allowed[1]}]"
    return None


def check_settings(settings: NodeSettings, known_models: list[str], *,
                   tf2_available: bool = True) -> str | None:
    """The reason ``settings`` are invalid, or None when they are fine.

    Checks ranges, that the models are registered, that ``dropout_model`` runs without LiDAR
    (its registry spec), that a given checkpoint file exists, the colour range, and that
    ``lidar_to_camera`` is a rigid transform when set and, when unset, that tf2 can look it up
    (the depth range and sync timing are checked when the settings are built).

    Args:
        settings: the values.
        known_models: registered model names.
        tf2_available: whether tf2_ros is importable here; True checks a partial file (a model
            preset without calibration) as if it were, False (the pip-only node) requires
            ``lidar_to_camera``.
    """
    reason = check_ranges(settings.to_parameters())
    if reason:
        return reason
    if settings.model not in known_models:
        return (f"model: unknown model {settings.model!r}; registered models: "
                f"{', '.join(known_models)}")
    reason = _check_dropout_model(settings.dropout_model, known_models) or \
        _check_trigger(settings) or _check_files(settings)
    if reason:
        return reason
    try:
        settings.base_transform()
    except InputError as err:
        return str(err)
    if settings.color_min_depth >= settings.color_max_depth:
        return (f"color_min_depth {settings.color_min_depth} must be below color_max_depth "
                f"{settings.color_max_depth}")
    if not settings.lidar_to_camera and not tf2_available:
        return ("lidar_to_camera: unset, and tf2_ros is not importable here to look the "
                "transform up: set the 16 numbers of the LiDAR -> camera transform")
    try:
        settings.transform()
    except InputError as err:
        return str(err)
    return None


def _check_dropout_model(name: str, known_models: list[str]) -> str | None:
    """Why ``name`` cannot serve frames without LiDAR (not registered, or its spec requires
    sparse depth), or None. A registered model whose weights cannot load is accepted here: the
    load reports it in diagnostics and the stale-scan tier serves alone."""
    if name in NO_DROPOUT_MODEL:
        return None
    usable = [m for m in known_models if _runs_without_lidar(m)]
    try:
        spec = get_entry(name).spec
    except ModelError:
        return (f"dropout_model: {name!r} is not a registered model; models that run without "
                f"LiDAR: {usable or 'none'} ('none' turns the RGB-only tier off)")
    if spec.runs_without_lidar:
        return None
    return (f"dropout_model: {name!r} cannot run without LiDAR (it requires "
            f"{[i.value for i in spec.required]}); models that can: {usable or 'none'}")


def _check_trigger(settings: NodeSettings) -> str | None:
    """Why ``trigger: lidar`` (frames without an image) cannot serve the model, or None."""
    if settings.sync.trigger != Trigger.LIDAR:
        return None
    try:
        spec = get_entry(settings.model).spec
    except ModelError:
        return None  # an unknown model is refused by name
    if not spec.needs_image:
        return None
    return (f"trigger: 'lidar' releases frames without an image, and model {settings.model!r} "
            f"needs one (it requires {[i.value for i in spec.required]}); use 'auto' or 'image'")


def _runs_without_lidar(name: str) -> bool:
    try:
        return get_entry(name).spec.runs_without_lidar
    except ModelError:
        return False


def _check_files(settings: NodeSettings) -> str | None:
    """Why the checkpoint or the model_config file cannot be used, or None."""
    if settings.checkpoint and not Path(settings.checkpoint).expanduser().is_file():
        return f"checkpoint: file {settings.checkpoint!r} does not exist"
    if settings.dropout_checkpoint and \
            not Path(settings.dropout_checkpoint).expanduser().is_file():
        return f"dropout_checkpoint: file {settings.dropout_checkpoint!r} does not exist"
    if settings.model_config:
        if not Path(settings.model_config).expanduser().is_file():
            return f"model_config: {settings.model_config!r} is not a file"
        try:
            resolve_model_config(settings.model, settings.model_config, {})
        except DepthCompletionError as err:
            return f"model_config: {err}"
    return None


def check_parameters(values: Mapping[str, Any], known_models: list[str], *,
                     tf2_available: bool = True) -> str | None:
    """The reason flat parameter values (name -> value) are invalid, or None.

    :meth:`NodeSettings.from_mapping` (unknown names, depth range, sync timing) then
    :func:`check_settings`; the node's on-set callback returns this reason. Total: an unexpected
    exception while checking is a reason too (the value is refused, never half accepted).
    """
    try:
        settings = NodeSettings.from_mapping(values)
    except (ConfigError, InputError, TypeError, ValueError) as err:
        return str(err)
    except Exception as err:  # a bug in a check must refuse the value, not kill the node
        return f"the values could not be checked ({err!r})"
    try:
        return check_settings(settings, known_models, tf2_available=tf2_available)
    except Exception as err:  # a bug in a check must refuse the value, not kill the node
        return f"the values could not be checked ({err!r})"


def make_qos(kind: str, depth: int) -> QoSProfile:
    """QoS named by a parameter: sensor_data (best effort, volatile), reliable or best_effort."""
    if kind == "sensor_data":
        qos = QoSProfile(depth=depth)
        qos.reliability, qos.durability = (qos_profile_sensor_data.reliability,
                                           qos_profile_sensor_data.durability)
        return qos
    reliability = ReliabilityPolicy.RELIABLE if kind == "reliable" else \
        ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(depth=depth, reliability=reliability)


def descriptor(name: str) -> ParameterDescriptor:
    """ParameterDescriptor of a :data:`PARAMETERS` entry: description, range or choices."""
    description, allowed, read_only = PARAMETERS[name]
    desc = ParameterDescriptor(name=name, description=description, read_only=read_only)
    if allowed and isinstance(allowed[0], str):
        desc.additional_constraints = f"one of {list(allowed)}"
    elif allowed and isinstance(allowed[0], int) and isinstance(allowed[1], int):
        desc.integer_range = [IntegerRange(from_value=allowed[0], to_value=allowed[1], step=1)]
    elif allowed:
        desc.floating_point_range = [FloatingPointRange(from_value=float(allowed[0]),
                                                        to_value=float(allowed[1]), step=0.0)]
    return desc
