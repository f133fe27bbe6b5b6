"""depth_completion_node: camera + LiDAR -> dense metric depth and confidence.

Inputs ``image``, ``camera_info``, ``points``; outputs ``depth``, ``depth/camera_info``,
``confidence``, ``depth_mm``, ``sparse_depth``, ``depth_color``, ``points_dense`` (all relative,
remappable) and ``/diagnostics``. Callbacks only decode, pair (sync policy) and hand the newest
frame to a worker thread; inference never runs on the executor. Bad input is logged (throttled
per kind), counted in diagnostics and skipped; no exception leaves a callback (one that is not
an InputError is a bug and is also counted as ``internal``), so no message kills the node.
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException, ParameterUninitializedException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from std_msgs.msg import Header

from depth_completion_ros.bag.topics import COMPRESSED, compressed_topic
from depth_completion_ros.checks import check_image
from depth_completion_ros.decoding import check_header
from depth_completion_ros.dropout.motion import PoseHistory, odometry_pose
from depth_completion_ros.dropout.serve import Scan, ScanMemory, ServedFrame, serve_frame
from depth_completion_ros.errors import ConfigError, DepthCompletionError, InputError, ModelError
from depth_completion_ros.models.registry import list_models
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.ros import compat
from depth_completion_ros.ros.diagnostics import to_diagnostic_array
from depth_completion_ros.ros.outputs import OutputPublishers
from depth_completion_ros.ros.params import (
    MATRIX_PARAMETERS,
    PARAMETERS,
    NodeSettings,
    check_parameters,
    check_settings,
    descriptor,
    make_qos,
)
from depth_completion_ros.runtime.inputs import BadInputReport, CameraCache
from depth_completion_ros.runtime.memory import Allocator, OversizeRelease
from depth_completion_ros.runtime.model_slot import ModelKey, ModelSet, ModelSlot
from depth_completion_ros.runtime.stats import NodeStats
from depth_completion_ros.status import InputKind, Tier
from depth_completion_ros.sync.policy import SyncConfig, SyncedFrame
from depth_completion_ros.sync.trigger import TriggeredSync
from depth_completion_ros.sync.worker import LatestWorker

LOG_EVERY_S = 2.0  # throttle of the bad-input log line, per kind
POLL_PERIOD_S = 0.02  # resolution of max_wait
CallbackT = TypeVar("CallbackT", bound=Callable[..., None])


def skipping(kind: InputKind) -> Callable[[CallbackT], CallbackT]:
    """Decorate a node callback so that no exception leaves it (one would end ``spin``).

    Any exception becomes a skipped input of ``kind`` (counted, logged with a throttle); one that
    is not an InputError is a bug and also counts as ``internal`` (see BadInputReport).
    """
    def wrap(callback: CallbackT) -> CallbackT:
        @functools.wraps(callback)
        def guarded(self: DepthCompletionNode, *args: Any) -> None:
            try:
                callback(self, *args)
            except Exception as err:
                self._bad_input(kind, err)
        return guarded  # type: ignore[return-value]
    return wrap


def data_bytes(msg: Any) -> int:
    """Size of a message's ``data`` in bytes (0 when it has none that can be measured)."""
    try:
        return memoryview(msg.data).nbytes
    except Exception:  # checked (and reported) by the decoders
        return 0


def model_key(settings: NodeSettings) -> ModelKey:
    """The parameters whose change reloads the models."""
    return ModelKey(settings.model, settings.checkpoint, settings.device, settings.precision,
                    settings.dropout_model, settings.model_config, settings.engine,
                    settings.dropout_checkpoint)


def sync_config(settings: NodeSettings) -> SyncConfig:
    """Timing and trigger of the sync policy from the parameters."""
    return settings.sync


class Cloud(NamedTuple):
    """A decoded cloud as the sync policy carries it: points (N, 3) float32 metres, its frame
    id, its header stamp (the stamp of a LiDAR-driven frame's outputs) and its arrival
    (``time.monotonic``, for the latency)."""

    xyz: np.ndarray
    frame_id: str
    stamp: Any
    arrival: float


def lidar_frame_header(cloud: Cloud, info: CameraInfo) -> Header:
    """Header of a LiDAR-driven frame's outputs: the cloud's stamp, the camera's frame (the
    depth is in the camera's optical frame, as with an image)."""
    return Header(stamp=cloud.stamp, frame_id=info.header.frame_id)


def needs_image(models: ModelSet) -> bool:
    """Whether the serving model needs an image (its registry spec)."""
    return bool(models.model.spec.needs_image)


def image_subscription(node: Node, transport: str) -> tuple[type, str]:
    """(message type, topic) of the image subscription: ``image`` (sensor_msgs/Image), or for
    the ``compressed`` transport sensor_msgs/CompressedImage on ``<image>/compressed``, where
    ``image`` is resolved first (namespace and remaps applied, as image_transport does), so
    remapping ``image`` moves the compressed topic with it."""
    if transport != COMPRESSED:
        return Image, "image"
    return CompressedImage, compressed_topic(node.resolve_topic_name("image"))


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


def source_message(served: ServedFrame, header: Any) -> DiagnosticArray:
    """``depth/source`` of one frame (stamped like its depth): tier, age of the scan in use
    (seconds, empty without one), model, and whether a stale scan was motion-compensated."""
    age = served.choice.scan_age
    status = DiagnosticStatus(name="depth source", message=str(served.choice.tier), values=[
        KeyValue(key="tier", value=str(served.choice.tier)),
        KeyValue(key="scan_age_s", value="" if age is None else f"{age:.3f}"),
        KeyValue(key="model", value=served.result.model_name),
        KeyValue(key="motion_compensated", value=str(served.motion_compensated).lower())])
    array = DiagnosticArray(status=[status])
    array.header = header
    return array


class DepthCompletionNode(Node):
    """The node; see the module docstring. Raises ConfigError on invalid start-up parameters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("depth_completion_node", **kwargs)
        defaults = NodeSettings().to_parameters()
        for name in PARAMETERS:
            value = defaults[name]
            try:  # an override of the wrong type or outside the declared range
                self.declare_parameter(name, Parameter.Type.DOUBLE_ARRAY
                                       if name in MATRIX_PARAMETERS else value, descriptor(name))
            except ParameterException as err:
                raise ConfigError(f"node parameters: {name}: {err}") from err
        self.settings = self._read_settings()
        reason = check_settings(self.settings, [m.name for m in list_models()],
                                tf2_available=compat.tf2_ros is not None)
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
        self.sync: TriggeredSync[Any, Cloud] = TriggeredSync(
            sync_config(self.settings), self._now, needs_image=needs_image(self.serving.models))
        self.scans = ScanMemory()  # the most recent cloud, for the stale-scan tier
        self.poses = PoseHistory(lidar_to_body=self.settings.base_transform()) \
            if self.settings.odometry_topic else None
        self._tier = ""  # of the last frame served, to log tier changes
        self._tf_lookup = compat.make_tf_lookup(self) if not self.settings.lidar_to_camera \
            else None
        self._setup_topics()
        self.worker: LatestWorker[SyncedFrame[Any, Cloud]] = LatestWorker(
            self._process, on_error=self._frame_failed)
        self.create_timer(POLL_PERIOD_S, self._poll)
        self.create_timer(1.0, self._publish_diagnostics)
        self.memory = OversizeRelease(Allocator())
        self.create_timer(1.0, self._release_memory)
        self.add_on_set_parameters_callback(self._validate)
        self.add_post_set_parameters_callback(self._apply)
        self._report_dropout_model(self.serving.models)
        self.get_logger().info(f"serving model {self.settings.model!r}; optional ROS packages: "
                               f"{compat.available()}; image/camera_info pairing: "
                               f"{self.camera_pairing}; images: {self.image_topic} "
                               f"({self.settings.image_transport})")

    def _setup_topics(self) -> None:
        s = self.settings
        qos_in = make_qos(s.input_qos, s.qos_depth)
        self.outputs = OutputPublishers(self, make_qos(s.output_qos, s.qos_depth))
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        image_type, self.image_topic = image_subscription(self, s.image_transport)
        self.camera_pairing, self._camera_subs = compat.subscribe_camera(
            self, image_type, CameraInfo, qos_in, self._on_image, self._on_camera_info,
            self._on_unpaired_image, self.image_topic)
        self.create_subscription(PointCloud2, "points", self._on_points, qos_in)
        self.source_pub = self.create_publisher(DiagnosticArray, "depth/source",
                                                make_qos(s.output_qos, s.qos_depth))
        if s.odometry_topic and not compat.subscribe_odometry(
                self, s.odometry_topic, qos_in, self._on_odometry):
            self.poses = None
            self.get_logger().warning(f"odometry_topic {s.odometry_topic!r}: nav_msgs is not "
                                      "importable here; stale scans are used without motion "
                                      "compensation")

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
        """On-set callback: reject a change with its reason (unknown model, a dropout model that
        needs LiDAR, bad range, ``lidar_to_camera`` unset without tf2 ...); never raises."""
        try:
            values = self._values()
            values.update({p.name: p.value for p in params})
            reason = check_parameters(values, [m.name for m in list_models()],
                                      tf2_available=compat.tf2_ros is not None)
        except Exception as err:  # refuse what cannot be checked; a bug, counted
            self._bad_input(InputKind.INTERNAL, err)
            reason = f"the values could not be checked ({err!r})"
        return SetParametersResult(successful=reason is None, reason=reason or "")

    @skipping(InputKind.INTERNAL)
    def _apply(self, params: list[Parameter]) -> None:
        """Post-set callback: new timing / transform at once, models reloaded in the background;
        a tf2 lookup is created when ``lidar_to_camera`` becomes unset."""
        self.settings = self._read_settings()
        if self.settings.transform() is None and self._tf_lookup is None:
            self._tf_lookup = compat.make_tf_lookup(self)
        with self._lock:
            if sync_config(self.settings) != self.sync.config:
                self.sync = TriggeredSync(sync_config(self.settings), self._now,
                                          needs_image=self.sync.needs_image)
        self._rebuild_serving()
        self.models.request(model_key(self.settings))

    def _rebuild_serving(self) -> None:
        """Swap in the pipeline of the current settings and the serving models (one reference;
        a frame in flight finishes on what it started with)."""
        with self._serving_lock:
            models = self.models.current
            if models is not None:
                self.serving = build_serving(self.settings, models)
                with self._lock:
                    self.sync.needs_image = needs_image(models)

    def _report_dropout_model(self, models: ModelSet) -> None:
        """Log why the requested dropout model is not serving (the stale-scan tier serves
        alone; /diagnostics reports it as ``dropout_model_error``)."""
        if models.dropout_error:
            self.get_logger().error(f"{models.dropout_error}; frames without LiDAR are served "
                                    "from the stale scan only, then skipped and counted")

    def _on_model_loaded(self, key: ModelKey, err: Exception | None) -> None:
        if err is None:
            self._rebuild_serving()
            self.get_logger().info(f"model {key.model!r} loaded and serving")
            if self.models.current is not None:
                self._report_dropout_model(self.models.current)
        else:
            self.get_logger().error(f"loading model {key.model!r} failed, the previous model "
                                    f"keeps serving: {err}")

    # --- callbacks (executor thread: no inference here) ---------------------------------------
    @skipping(InputKind.CAMERA_INFO)
    def _on_camera_info(self, msg: CameraInfo) -> None:
        """Keep the latest valid camera model; a bad CameraInfo is counted and ignored."""
        check_header(msg, "CameraInfo")
        self.camera.update(msg)

    @skipping(InputKind.CAMERA_INFO)
    def _on_unpaired_image(self, msg: Image) -> None:
        """message_filters pairing: an image found no camera_info with its exact stamp."""
        stamp, _ = check_header(msg, "Image")
        raise InputError(f"image at {stamp:.6f} s: no camera_info with the same stamp (image "
                         "and camera_info are paired by exact stamp)")

    @skipping(InputKind.IMAGE)
    def _on_image(self, msg: Image) -> None:
        """Check the header, decode (zero-copy without cv_bridge) and check against
        camera_info, then pair."""
        self.memory.note("image", data_bytes(msg), time.monotonic())
        stamp, _ = check_header(msg, "Image")
        rgb = compat.decode_image(msg)
        camera = self.camera.camera_or_none()
        if camera is not None:
            check_image(rgb, "Image", (camera.width, camera.height))
        self._offer("image", stamp, (msg, rgb, time.monotonic()))

    @skipping(InputKind.POINTS)
    def _on_points(self, msg: PointCloud2) -> None:
        """Check the header, decode the finite points and pair them."""
        self.memory.note("points", data_bytes(msg), time.monotonic())
        stamp, frame_id = check_header(msg, "PointCloud2")
        cloud = compat.decode_cloud(msg)
        self._offer("points", stamp, Cloud(cloud.xyz, frame_id, msg.header.stamp,
                                           time.monotonic()))
        self.scans.update(Scan(stamp, cloud.xyz, frame_id))  # after a reset clears the old one

    @skipping(InputKind.ODOMETRY)
    def _on_odometry(self, msg: Any) -> None:
        """Keep the pose (motion compensation of stale scans)."""
        stamp, pose = odometry_pose(msg)
        if self.poses is not None:
            self.poses.add(stamp, pose)

    @skipping(InputKind.INTERNAL)
    def _poll(self) -> None:
        with self._lock:
            frames = self.sync.poll()
        for frame in frames:
            self.worker.submit(frame)

    def _offer(self, topic: str, stamp: float, payload: Any) -> None:
        """Give an image or a cloud (its checked stamp, seconds) to the sync policy; hand
        released frames to the worker."""
        with self._lock:  # the policy object is replaced when timing parameters change
            add = self.sync.add_image if topic == "image" else self.sync.add_cloud
            resets = self.sync.resets
            frames = add(stamp, payload)
            reset = self.sync.resets != resets
        if reset:
            self.scans.clear()  # its stamps belong to the old run
            self._bad_input(InputKind.STAMPS_BACKWARDS, InputError(
                f"{topic} stamps went backwards (bag loop?): cloud buffer reset"))
        for frame in frames:
            self.worker.submit(frame)

    # --- worker thread -----------------------------------------------------------------------
    def _process(self, frame: SyncedFrame[Any, Cloud]) -> None:
        serving = self.serving  # one read: settings, models and pipeline of one moment
        try:
            # the first frame may be released before its camera_info's callback has run
            info, camera = self.camera.current(wait_s=serving.settings.sync.max_wait)
        except InputError as err:
            if frame.image is None:
                err = InputError(f"{err}: frames released by the LiDAR (no image) take the "
                                 "image size and the projection from camera_info, which must "
                                 "be published")
            self._bad_input(InputKind.CAMERA_INFO, err)
            return
        own = None if frame.cloud is None or frame.cloud_stamp is None else \
            Scan(frame.cloud_stamp, frame.cloud.xyz, frame.cloud.frame_id)
        if frame.image is None:  # LiDAR-driven: no image, the cloud's stamp
            assert frame.cloud is not None
            header, rgb, arrival = lidar_frame_header(frame.cloud, info), None, \
                frame.cloud.arrival
        else:
            msg, rgb, arrival = frame.image
            header = msg.header
        try:
            served = serve_frame(
                serving.pipeline, rgb, camera, frame.image_stamp, own_scan=own,
                last_scan=self.scans.latest(), config=serving.settings.dropout, poses=self.poses,
                transform_of=lambda scan: self._transform(scan, header, serving.settings))
        except ModelError as err:  # expected: no tier serves this frame
            self.stats.record_unserved(str(err))
            self._bad_input(InputKind.UNSERVED, err, expected=(ModelError,))
            return
        except DepthCompletionError as err:  # bad input, or no tf2 transform at this stamp
            self._bad_input(InputKind.IMAGE, err, expected=(DepthCompletionError,))
            return
        result = served.result
        self.outputs.publish(result, header, info, camera.intrinsics(
            rectified=serving.settings.pipeline.use_rectified), serving.settings)
        self.source_pub.publish(source_message(served, header))
        self.stats.record_frame(time.monotonic(), result.mode, result.model_name,
                                1e3 * (time.monotonic() - arrival), result.points_in_view,
                                result.density, served.choice.tier, served.choice.scan_age)
        self._log_tier(served)

    def _log_tier(self, served: ServedFrame) -> None:
        """One log line per change of tier (worker thread only)."""
        tier = str(served.choice.tier)
        if tier != self._tier:
            age = served.choice.scan_age
            self.get_logger().info(
                f"serving tier {self._tier or '-'} -> {tier}" +
                (f" (scan {age:.2f} s old)" if age is not None and tier != Tier.COMPLETION
                 else "") + (f", model {served.result.model_name!r}"))
            self._tier = tier

    def _transform(self, scan: Scan, header: Header, settings: NodeSettings
                   ) -> np.ndarray | None:
        """The LiDAR -> camera transform of ``scan``: None = the pipeline's own (the
        parameter), else looked up in tf2 at the frame's stamp (``header``: the image's, or a
        LiDAR-driven frame's: the cloud's stamp and camera_info's frame)."""
        if settings.lidar_to_camera:
            return None
        cloud_frame = scan.frame_id
        if self._tf_lookup is None:
            raise InputError("lidar_to_camera is unset and tf2_ros is not importable")
        if not header.frame_id or not cloud_frame:
            raise InputError(f"frame ids {header.frame_id!r} (image), {cloud_frame!r} "
                             "(cloud): tf2 needs both to look the transform up")
        return self._tf_lookup(header.frame_id, cloud_frame, header.stamp)

    def _frame_failed(self, frame: SyncedFrame[Any, Cloud], err: BaseException) -> None:
        """An exception the worker's frame did not expect: skipped, counted as ``internal``."""
        self._bad_input(InputKind.IMAGE, err, expected=(DepthCompletionError,))

    @skipping(InputKind.INTERNAL)
    def _release_memory(self) -> None:
        """After an oversized message, give its frame's freed buffers back to the system."""
        self.memory.tick(time.monotonic())

    @skipping(InputKind.INTERNAL)
    def _publish_diagnostics(self) -> None:
        with self._lock:
            lidar_age = self.sync.lidar_age()
        current = self.models.current
        snap = self.stats.snapshot(time.monotonic(), device=device_in_use(current, self.settings),
                                   lidar_age_s=lidar_age, dropped=self.worker.dropped,
                                   model_error=self.models.last_error or "",
                                   model=current.model.name if current else "",
                                   dropout_model_error=current.dropout_error if current else "")
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
