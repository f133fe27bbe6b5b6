"""Online evaluation: the live node fed by a replay of the bag, its outputs recorded and scored.

The node gets only the input rings of the requested line count: a copy of the bag whose clouds
keep those rings (no clouds at all for 0 lines) is replayed; ground truth and camera come from
the original bag, frame by frame as offline (:func:`make_target`); each recorded ``depth`` is
matched to its frame by the image stamp. Frames the node did not publish are rows with status
"not delivered".

The replay starts once the node subscribes to every input topic, publishes every output and spins
(matched publishers / subscriptions and its first /diagnostics, so discovery loses no first
message); the node's inputs are reliable (like ``ros2 bag play``), it pairs the first image with
its cloud, and every frame of one pass is scored. The node's sync timeouts (clock time) are
divided by the replay rate, so it pairs as at real time, like the offline reference, at any
``rate`` (:meth:`~depth_completion_ros.sync.policy.SyncConfig.at_rate`). ``warm_up`` replays
the bag once more before the scored pass (model and transport warm, for latency figures). Every
image sent is accounted for: published, dropped by design (queue of one), unserved (no model for
the mode) or rejected as bad input (:class:`~depth_completion_ros.ros.live.FrameAccount`).
Latency = output receive time - image publish time (wall clock, end to end).
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rosbags.rosbag2 import Writer

from depth_completion_ros.bag.messages import TYPESTORE, point_cloud, stamp_to_ns
from depth_completion_ros.bag.reading import BagMessage, bag_topics, iter_messages, readable_topics
from depth_completion_ros.bag.schedule import ReplayOptions
from depth_completion_ros.bag.topics import COMPRESSED, compressed_topic
from depth_completion_ros.compressed_image import COMPRESSED_IMAGE_TYPE
from depth_completion_ros.decoding import cloud_to_points
from depth_completion_ros.errors import ConfigError, DepthCompletionError, InputError
from depth_completion_ros.evaluation.frames import BadMessage, iter_bag_frames
from depth_completion_ros.evaluation.offline import (
    EvaluationSetup,
    Snapshot,
    _score_into,
    bad_message_row,
    make_target,
    rings_refused_row,
)
from depth_completion_ros.evaluation.results import FrameRow
from depth_completion_ros.evaluation.scoring import RingError, frame_rings
from depth_completion_ros.geometry.beams import input_mask
from depth_completion_ros.ros.live import NAMESPACE, frame_account, run_live
from depth_completion_ros.ros.params import NodeSettings, check_ranges
from depth_completion_ros.settings import PipelineSettings
from depth_completion_ros.status import DiagnosticKey, FrameStatus


def float_image(msg: Any) -> np.ndarray:
    """(H, W) float32 of a 32FC1 sensor_msgs/Image (rosbags-decoded), honouring ``step``."""
    if msg.encoding != "32FC1":
        raise InputError(f"expected a 32FC1 image, got {msg.encoding!r}")
    dtype = np.dtype(">f4" if msg.is_bigendian else "<f4")
    rows = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.step)
    return rows[:, :msg.width * 4].copy().view(dtype).astype(np.float32)


def write_input_bag(source: Path, target: Path, setup: EvaluationSetup, lines: int) -> None:
    """Copy ``source`` (ROS 2 or ROS 1) to the rosbag2 ``target`` keeping only the input rings of
    ``lines`` in every cloud; a ROS 1 message that could not be converted is left out (the
    report lists it as a bad message)."""
    writer = Writer(target, version=8)
    with writer:
        out = {t.name: writer.add_connection(
            t.name, t.msgtype, typestore=TYPESTORE,
            offered_qos_profiles=list(t.offered_qos)) for t in readable_topics(source)
            if not (lines == 0 and t.name == setup.topics.points)}
        for message in iter_messages(source):
            if message.topic not in out or message.error is not None:
                continue
            raw = message.raw
            if message.topic == setup.topics.points and lines != 64:
                raw = _keep_input_rings(message, setup.ring_source, lines)
            writer.write(out[message.topic], message.log_time_ns, raw)


def _keep_input_rings(message: BagMessage, ring_source: str, lines: int) -> bytes:
    """The cloud keeping only the input rings of ``lines``; one the decoders reject as it is
    (the node rejects it too, and the report lists it as a bad message), and so is one whose
    rings are refused (its frame is skipped with the reason, whatever the node makes of it)."""
    try:
        msg = message.decode()
        cloud = cloud_to_points(msg)
        keep = input_mask(frame_rings(cloud.xyz, cloud.ring, ring_source), lines)
    except DepthCompletionError:  # RingError included
        return message.raw
    intensity = cloud.intensity if cloud.intensity is not None else np.zeros(len(cloud.xyz))
    points = np.column_stack([cloud.xyz, intensity]).astype(np.float32)[keep]
    rings = cloud.ring[keep] if cloud.ring is not None else np.zeros(len(points), np.int32)
    new = point_cloud(points, rings, stamp_to_ns(msg.header.stamp), msg.header.frame_id)
    return bytes(TYPESTORE.serialize_cdr(new, new.__msgtype__))


def evaluate_online(request: Any, setup: EvaluationSetup, transform: np.ndarray
                    ) -> tuple[list[FrameRow], list[Snapshot], dict[str, Any]]:
    """Replay through the live node at ``setup.lines[0]`` lines and score what it publishes.

    Args:
        request: an :class:`~depth_completion_ros.evaluation.session.EvaluationRequest`
            (model, dropout_model, rate, warm_up).
        setup: the bag, topics, line count and ground truth.
        transform: (4, 4) LiDAR -> camera optical frame, given to the node as a parameter.

    Returns:
        (rows, snapshots, extra): rows of the scored pass in bag order, figure snapshots, and
        ``{"node": table}`` with the frame account, latency and memory of the node.
    """
    lines = setup.lines[0]
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "input"
        write_input_bag(setup.bag, bag, setup, lines)
        transport = image_transport(setup.bag, setup.topics.image)
        parameters = node_parameters(request, transform, setup.pipeline, Path(tmp),
                                     image_transport=transport)
        live = run_live(bag, setup.topics, parameters,
                        ReplayOptions(rate=request.rate, max_loops=2 if request.warm_up else 1,
                                      remap=_compressed_remap(setup.topics.image, transport)))
    scored = [m for m in live.outputs if m.log_time_ns >= live.replay.pass_started_ns[-1]]
    decoded = [(m, m.decode()) for m in scored]
    depth = {m.topic.rsplit("/", 1)[1] + str(stamp_to_ns(d.header.stamp)): d for m, d in decoded}
    received = {stamp_to_ns(d.header.stamp): m.log_time_ns for m, d in decoded
                if m.topic == f"{NAMESPACE}/depth"}
    rows, snapshots = _score_recorded(setup, lines, depth, received, live.image_publish_ns,
                                      transform)
    account = frame_account(live, setup.topics.image)
    rss = [sample[2] for sample in live.rss_mb]
    node = {"passes": "2 (first = warm-up, not scored)" if request.warm_up else "1",
            "images sent": account.sent, "depth published": account.published,
            "dropped by design": account.dropped, "unserved": account.unserved,
            "rejected inputs": account.other_input_errors, "unaccounted": account.unaccounted,
            "node latency p50 / p95 (ms)":
                f"{live.diagnostics.get(DiagnosticKey.LATENCY_P50_MS, '-')} / "
                f"{live.diagnostics.get(DiagnosticKey.LATENCY_P95_MS, '-')}",
            "node RSS first / last (MB)": f"{rss[0]:.0f} / {rss[-1]:.0f}" if rss else "-"}
    return rows, snapshots, {"node": node}


def image_transport(bag: Path, image_topic: str) -> str:
    """The node's ``image_transport`` for the bag's image topic: ``compressed`` when it holds
    sensor_msgs/CompressedImage, else ``raw``."""
    return COMPRESSED if bag_topics(bag).get(image_topic) == COMPRESSED_IMAGE_TYPE else "raw"


def _compressed_remap(image_topic: str, transport: str) -> tuple[tuple[str, str], ...]:
    """Replay remap putting compressed images on ``<topic>/compressed`` when their topic does
    not follow image_transport's convention (the node subscribes there)."""
    if transport != COMPRESSED or image_topic.endswith(f"/{COMPRESSED}"):
        return ()
    return ((image_topic, compressed_topic(image_topic)),)


def node_parameters(request: Any, transform: np.ndarray, pipeline: PipelineSettings,
                    folder: Path, *, image_transport: str = "raw") -> dict[str, Any]:
    """The live node's parameters, built from the settings type (a renamed parameter fails here,
    not silently in the node).

    The evaluation's model (its config written as a model preset into ``folder``), device,
    precision, engine, pipeline and transform; the image transport (``compressed`` for a bag of
    CompressedImage); reliable inputs (like ``ros2 bag play``: no transport loss to score); no
    colour / sparse outputs. The sync timeouts, measured on the node's clock, are divided by the
    replay rate (:meth:`~depth_completion_ros.sync.policy.SyncConfig.at_rate`): the node pairs
    as at real time, as the offline reference does, whatever ``--rate``. Only values that
    differ from the node's defaults are returned.
    """
    rate = float(getattr(request, "rate", 1.0))
    pipeline = dataclasses.replace(pipeline, sync=pipeline.sync.at_rate(rate))
    model_config = ""
    if getattr(request, "model_config", None):
        preset = folder / "model_config.yaml"
        preset.write_text(yaml.safe_dump({"model": request.model,
                                          "config": dict(request.model_config)}))
        model_config = str(preset)
    # "none", not "": an empty string cannot be given as a -p value on the command line
    settings = NodeSettings(model=request.model, dropout_model=request.dropout_model or "none",
                            checkpoint=str(request.checkpoint or ""), device=str(request.device),
                            precision=str(getattr(request, "precision", "fp32")),
                            engine=str(getattr(request, "engine", "torch")),
                            model_config=model_config, pipeline=pipeline,
                            lidar_to_camera=tuple(float(v) for v in transform.reshape(-1)),
                            publish_depth_color=False, publish_sparse_depth=False,
                            input_qos="reliable", image_transport=image_transport)
    reason = check_ranges(settings.to_parameters())
    if reason:
        raise ConfigError(f"replay rate {rate:g}: the node's sync timeouts divided by it leave "
                          f"the parameter ranges ({reason}); replay faster")
    defaults = NodeSettings().to_parameters()
    return {name: value for name, value in settings.to_parameters().items()
            if value != defaults[name]}


def _score_recorded(setup: EvaluationSetup, lines: int, outputs: dict[str, Any],
                    received: dict[int, int], published: dict[int, int],
                    transform: np.ndarray) -> tuple[list[FrameRow], list[Snapshot]]:
    rows: list[FrameRow] = []
    snapshots: list[Snapshot] = []
    for frame in iter_bag_frames(setup.bag, setup.topics, setup.sync):
        if isinstance(frame, BadMessage):
            rows.append(bad_message_row(frame, lines))
            continue
        row = FrameRow(lines, frame.index, frame.stamp_ns, FrameStatus.SCORED, mode="live")
        depth_msg = outputs.get(f"depth{frame.stamp_ns}")
        if depth_msg is None:
            row.status = FrameStatus.NOT_DELIVERED
            rows.append(row)
            continue
        try:
            target = make_target(frame, lines, setup, transform)
        except RingError as err:
            rows.append(rings_refused_row(row, err))
            continue
        if target is None:
            row.status = FrameStatus.NO_GROUND_TRUTH
            rows.append(row)
            continue
        row.latency_ms = (received[frame.stamp_ns] - published.get(frame.stamp_ns, 0)) / 1e6
        confidence = outputs.get(f"confidence{frame.stamp_ns}")
        row, snapshot = _score_into(row, float_image(depth_msg),
                                    float_image(confidence) if confidence else None,
                                    frame, target, setup)
        rows.append(row)
        if snapshot is not None and len(snapshots) < 3:
            snapshots.append(snapshot)
    return rows, snapshots
