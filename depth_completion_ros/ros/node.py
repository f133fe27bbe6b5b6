"""depth_completion_node: camera + LiDAR -> dense metric depth and confidence.

Inputs ``image``, ``camera_info``, ``points``; outputs ``depth``, ``depth/camera_info``,
``confidence``, ``depth_mm``, ``sparse_depth``, ``depth_color``, ``points_dense`` (all relative,
remappable) and ``/diagnostics``. Callbacks only decode, pair (sync policy) and hand the newest
frame to a worker thread; inference never runs on the executor. Bad input is logged (throttled
per kind), counted in diagnostics and skipped.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterUninitializedException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from depth_completion_ros.checks import check_image
from depth_completion_ros.decoding import stamp_to_seconds
from depth_completion_ros.errors import ConfigError, DepthCompletionError, InputError, ModelError
from depth_completion_ros.models.registry import list_models
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.ros import compat
from depth_completion_ros.ros.diagnostics import to_diagnostic_array
from depth_completion_ros.ros.outputs import OutputPublishers
from depth_completion_ros.ros.params import (
    PARAMETERS,
    NodeSettings,
    check_parameters,
    check_settings,
    descriptor,
    make_qos,
)
from depth_completion_ros.runtime.inputs import BadInputReport, CameraCache
from depth_completion_ros.runtime.model_slot import ModelKey, ModelSet, ModelSlot
from depth_completion_ros.runtime.stats import NodeStats
from depth_completion_ros.status import InputKind
from depth_completion_ros.sync.policy import ImageDrivenSync, SyncConfig, SyncedFrame
from depth_completion_ros.sync.worker import LatestWorker

LOG_EVERY_S = 2.0  # throttle of the bad-input log line, per kind
POLL_PERIOD_S = 0.02  # resolution of max_wait


def model_key(settings: NodeSettings) -> ModelKey:
    """The parameters whose change reloads the models."""
    return ModelKey(settings.model, settings.checkpoint, settings.device, settings.precision,
                    settings.dropout_model, settings.model_config)


def sync_config(settings: NodeSettings) -> SyncConfig:
    """Timing of the sync policy from the parameters."""
    return settings.sync


@dataclass(frozen=True)
class Serving:
    """What a frame is processed with: settings, models and the pipeline built from both.

    Built whenever the settings or the models change and swapped in as one reference, so a
    frame never mixes the settings of one moment with the models of another.
    """

    settings: NodeSettings
    models: ModelSet
    pipeline: DepthPipeline


def build_serving(settings: NodeSettings, models: ModelSet) -> Serving:
    """The pipeline of ``settings`` and ``models`` (identity transform when tf2 provides it per
    frame)."""
    transform = settings.transform()
    pipeline = DepthPipeline(models.model, np.eye(4) if transform is None else transform,
                             settings.pipeline, dropout_model=models.dropout_model)
    return Serving(settings, models, pipeline)


def device_in_use(models: Any, settings: NodeSettings) -> str:
    """The device the active model runs on, and the requested one: e.g. ``cpu (requested auto)``.

    Torch models expose their engine's device; learning-free models run on the CPU.
    """
    engine = getattr(getattr(models, "model", None), "engine", None)
    actual = str(engine.device) if engine is not None else "cpu"
    return actual if actual == settings.device else f"{actual} (requested {settings.device})"


class DepthCompletionNode(Node):
    """The node; see the module docstring. Raises ConfigError on invalid start-up parameters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("depth_completion_node", **kwargs)
        defaults = NodeSettings().to_parameters()
        for name in PARAMETERS:
            value = defaults[name]
            self.declare_parameter(name, Parameter.Type.DOUBLE_ARRAY
                                   if name == "lidar_to_camera" else value, descriptor(name))
        self.settings = self._read_settings()
        reason = check_settings(self.settings, [m.name for m in list_models()])
        if reason:
            raise ConfigError(f"node parameters: {reason}")
        self.stats = NodeStats()
        self._lock = threading.Lock()
        self._bad_input = BadInputReport(self.stats, self.get_logger(), LOG_EVERY_S)
        self.camera = CameraCache()
        self._serving_lock = threading.Lock()
        self.models = ModelSlot(on_result=self._on_model_loaded)
        self.serving = build_serving(self.settings,
                                     self.models.load_now(model_key(self.settings)))
        self.sync: ImageDrivenSync[Any, Any] = ImageDrivenSync(sync_config(self.settings),
                                                               self._now)
        self._tf_lookup = compat.make_tf_lookup(self) if not self.settings.lidar_to_camera \
            else None
        self._setup_topics()
        self.worker: LatestWorker[SyncedFrame[Any, Any]] = LatestWorker(
            self._process, on_error=self._frame_failed)
        self.create_timer(POLL_PERIOD_S, self._poll)
        self.create_timer(1.0, self._publish_diagnostics)
        self.add_on_set_parameters_callback(self._validate)
        self.add_post_set_parameters_callback(self._apply)
        self.get_logger().info(f"serving model {self.settings.model!r}; optional ROS packages: "
                               f"{compat.available()}; image/camera_info pairing: "
                               f"{self.camera_pairing}")
        if self.settings.transform() is None and self._tf_lookup is None:
            self.get_logger().warning("lidar_to_camera is unset and tf2_ros is not importable: "
                                      "clouds cannot be projected (set lidar_to_camera)")

    def _setup_topics(self) -> None:
        s = self.settings
        qos_in = make_qos(s.input_qos, s.qos_depth)
        self.outputs = OutputPublishers(self, make_qos(s.output_qos, s.qos_depth))
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.camera_pairing, self._camera_subs = compat.subscribe_camera(
            self, Image, CameraInfo, qos_in, self._on_image, self._on_camera_info,
            self._on_unpaired_image)
        self.create_subscription(PointCloud2, "points", self._on_points, qos_in)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _values(self) -> dict[str, Any]:
        """Current parameter values by name (None for an unset ``lidar_to_camera``)."""
        values = {}
        for name in PARAMETERS:
            try:
                values[name] = self.get_parameter(name).value
            except ParameterUninitializedException:
                values[name] = None
        return values

    def _read_settings(self) -> NodeSettings:
        return NodeSettings.from_mapping(self._values())

    # --- parameters -------------------------------------------------------------------------
    def _validate(self, params: list[Parameter]) -> SetParametersResult:
        """On-set callback: reject a change with its reason (unknown model, bad range ...)."""
        values = self._values()
        values.update({p.name: p.value for p in params})
        reason = check_parameters(values, [m.name for m in list_models()])
        return SetParametersResult(successful=reason is None, reason=reason or "")

    def _apply(self, params: list[Parameter]) -> None:
        """Post-set callback: new timing / transform at once, models reloaded in the background."""
        self.settings = self._read_settings()
        with self._lock:
            if sync_config(self.settings) != self.sync.config:
                self.sync = ImageDrivenSync(sync_config(self.settings), self._now)
        self._rebuild_serving()
        self.models.request(model_key(self.settings))

    def _rebuild_serving(self) -> None:
        """Swap in the pipeline of the current settings and the serving models (one reference;
        a frame in flight finishes on what it started with)."""
        with self._serving_lock:
            models = self.models.current
            if models is not None:
                self.serving = build_serving(self.settings, models)

    def _on_model_loaded(self, key: ModelKey, err: Exception | None) -> None:
        if err is None:
            self._rebuild_serving()
            self.get_logger().info(f"model {key.model!r} loaded and serving")
        else:
            self.get_logger().error(f"loading model {key.model!r} failed, the previous model "
                                    f"keeps serving: {err}")

    # --- callbacks (executor thread: no inference here) ---------------------------------------
    def _on_camera_info(self, msg: CameraInfo) -> None:
        """Keep the latest valid camera model; a bad CameraInfo is counted and ignored."""
        try:
            self.camera.update(msg)
        except InputError as err:
            self._bad_input(InputKind.CAMERA_INFO, err)

    def _on_unpaired_image(self, msg: Image) -> None:
        """message_filters pairing: an image found no camera_info with its exact stamp."""
        self._bad_input(InputKind.CAMERA_INFO, InputError(
            f"image at {stamp_to_seconds(msg.header.stamp):.6f} s: no camera_info with the same "
            "stamp (image and camera_info are paired by exact stamp)"))

    def _on_image(self, msg: Image) -> None:
        """Decode (zero-copy without cv_bridge) and check against camera_info, then pair."""
        try:
            rgb = compat.decode_image(msg)
            camera = self.camera.camera_or_none()
            if camera is not None:
                check_image(rgb, "Image", (camera.width, camera.height))
        except InputError as err:
            self._bad_input(InputKind.IMAGE, err)
            return
        self._offer("image", msg, (msg, rgb, time.monotonic()))

    def _on_points(self, msg: PointCloud2) -> None:
        try:
            cloud = compat.decode_cloud(msg)
        except InputError as err:
            self._bad_input(InputKind.POINTS, err)
            return
        self._offer("points", msg, (cloud.xyz, msg.header.frame_id))

    def _poll(self) -> None:
        with self._lock:
            frames = self.sync.poll()
        for frame in frames:
            self.worker.submit(frame)

    def _offer(self, topic: str, msg: Any, payload: Any) -> None:
        """Give an image or a cloud to the sync policy; hand released frames to the worker."""
        with self._lock:  # the policy object is replaced when timing parameters change
            add = self.sync.add_image if topic == "image" else self.sync.add_cloud
            resets = self.sync.resets
            frames = add(stamp_to_seconds(msg.header.stamp), payload)
            reset = self.sync.resets != resets
        if reset:
            self._bad_input(InputKind.STAMPS_BACKWARDS, InputError(
                f"{topic} stamps went backwards (bag loop?): cloud buffer reset"))
        for frame in frames:
            self.worker.submit(frame)

    # --- worker thread -----------------------------------------------------------------------
    def _process(self, frame: SyncedFrame[Any, Any]) -> None:
        msg, rgb, arrival = frame.image
        serving = self.serving  # one read: settings, models and pipeline of one moment
        try:
            info, camera = self.camera.current()
        except InputError as err:
            self._bad_input(InputKind.CAMERA_INFO, err)
            return
        try:
            points, transform = self._points_and_transform(frame, msg, serving.settings)
            result = serving.pipeline.process(rgb, camera, points, transform)
        except ModelError as err:
            self.stats.record_unserved(str(err))
            self._bad_input(InputKind.UNSERVED, err)
            return
        except DepthCompletionError as err:
            self._bad_input(InputKind.IMAGE, err)
            return
        self.outputs.publish(result, msg.header, info, camera.intrinsics(
            rectified=serving.settings.pipeline.use_rectified), serving.settings)
        self.stats.record_frame(time.monotonic(), result.mode, result.model_name,
                                1e3 * (time.monotonic() - arrival), result.points_in_view,
                                result.density)

    def _points_and_transform(self, frame: SyncedFrame[Any, Any], image: Image,
                              settings: NodeSettings
                              ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Paired points (or None) and the frame's LiDAR -> camera transform: None = the
        pipeline's own (the parameter), else looked up in tf2 at the image stamp."""
        if frame.cloud is None or settings.lidar_to_camera:
            return (None if frame.cloud is None else frame.cloud[0]), None
        xyz, cloud_frame = frame.cloud
        if self._tf_lookup is None:
            raise InputError("lidar_to_camera is unset and tf2_ros is not importable")
        return xyz, self._tf_lookup(image.header.frame_id, cloud_frame, image.header.stamp)

    def _frame_failed(self, frame: SyncedFrame[Any, Any], err: BaseException) -> None:
        self.stats.record_error(InputKind.INTERNAL, repr(err))
        self.get_logger().error(f"frame failed unexpectedly: {err!r}")

    def _publish_diagnostics(self) -> None:
        with self._lock:
            lidar_age = self.sync.lidar_age()
        current = self.models.current
        snap = self.stats.snapshot(time.monotonic(), device=device_in_use(current, self.settings),
                                   lidar_age_s=lidar_age, dropped=self.worker.dropped,
                                   model_error=self.models.last_error or "",
                                   model=current.model.name if current else "")
        self.diagnostics_pub.publish(to_diagnostic_array(
            snap, f"{self.get_fully_qualified_name()}: depth completion", self.settings.device,
            self.get_clock().now().to_msg()))

    def destroy_node(self) -> None:
        """Stop the worker and the model loader (when constructed), then the node."""
        for part in (getattr(self, "worker", None), getattr(self, "models", None)):
            if part is not None:
                part.stop() if isinstance(part, LatestWorker) else part.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Console entry point ``depth_completion_node``; returns the process exit status."""
    rclpy.init(args=args)
    node = None
    try:
        node = DepthCompletionNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except DepthCompletionError as err:
        rclpy.logging.get_logger("depth_completion_node").fatal(str(err))
        return 1
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
