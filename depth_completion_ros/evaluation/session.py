"""One evaluation run end to end: resolve inputs, evaluate (offline or online), write outputs.

Used by ``depth-completion evaluate`` and ``depth-completion demo``.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from depth_completion_ros.arrays import Array, Float64Array
from depth_completion_ros.bag.reading import resolve_image_topic
from depth_completion_ros.bag.topics import BagTopics
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.evaluation.calibration import resolve_lidar_to_camera
from depth_completion_ros.evaluation.data_label import data_label
from depth_completion_ros.evaluation.frames import EvalFrame, iter_bag_frames
from depth_completion_ros.evaluation.ground_truth import KittiGroundTruth, bag_frame_numbers
from depth_completion_ros.evaluation.offline import EvaluationSetup, Snapshot, evaluate_offline
from depth_completion_ros.evaluation.region import ScoredRegion, choose_region
from depth_completion_ros.evaluation.report import (
    append_section,
    display_path,
    metrics_table,
    write_report,
)
from depth_completion_ros.evaluation.results import (
    FrameRow,
    bad_messages,
    rings_refused,
    summarise,
    to_json,
    write_csv,
    write_json,
)
from depth_completion_ros.evaluation.scoring import choose_ring_source
from depth_completion_ros.geometry.beams import sweep_lines
from depth_completion_ros.geometry.camera import PinholeCamera
from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.models.engine_choice import with_engine
from depth_completion_ros.models.registry import get_model
from depth_completion_ros.pipeline import DepthPipeline
from depth_completion_ros.settings import PipelineSettings


@dataclass(frozen=True)
class EvaluationRequest:
    """Everything ``depth-completion evaluate`` takes (see its ``--help``)."""

    bag: Path
    model: str
    report: Path
    gt_dir: Path | None = None
    lines: int | None = None
    json_path: Path | None = None
    save_predictions: Path | None = None
    online: bool = False
    image_topic: str = "/kitti/camera_color_left/image_raw"
    camera_info_topic: str = "/kitti/camera_color_left/camera_info"
    points_topic: str = "/kitti/velo/pointcloud"
    lidar_to_camera: tuple[float, ...] | None = None
    calib: str | None = None
    camera: int = 2
    gt_timestamps: str | None = None
    ring_source: str = "auto"
    dropout_model: str | None = None
    checkpoint: str | None = None
    device: str = "auto"
    rate: float = 1.0
    warm_up: bool = False
    #: config of ``model`` (``--model-config`` / ``--set``); the dropout model keeps its defaults
    model_config: Mapping[str, Any] = field(default_factory=dict)
    precision: str = "fp32"
    #: what runs a learned model's network: torch or onnxruntime (models/engine_choice.py)
    engine: str = "torch"
    #: project with camera_info K and D (raw, distorted images: the node's use_rectified false)
    raw: bool = False
    #: scored region: (W, H) bottom-centre or (X0, Y0, W, H); None = chosen per bag
    crop: tuple[int, ...] | None = None


@dataclass(frozen=True)
class EvaluationOutcome:
    """Where the results went, and the printed table."""

    table: str
    report: Path
    json_path: Path
    csv_path: Path
    document: dict[str, Any]


class OnlineEvaluator(Protocol):
    """Runs the live node over the bag and scores what it publishes (the ROS layer's
    :func:`depth_completion_ros.ros.online_evaluation.evaluate_online`)."""

    def __call__(self, request: EvaluationRequest, setup: EvaluationSetup,
                 transform: Float64Array) -> tuple[list[FrameRow], list[Snapshot],
                                                   dict[str, Any]]: ...


def run_evaluation(request: EvaluationRequest,
                   online: OnlineEvaluator | None = None) -> EvaluationOutcome:
    """Evaluate as requested and write report, CSV and JSON (see the module docstring).

    Args:
        request: what to evaluate.
        online: the live-node evaluator, needed when ``request.online`` (the core never imports
            the ROS layer: the caller passes it in).

    Raises:
        ConfigError: ``request.online`` without an ``online`` evaluator.
    """
    if request.online and online is None:
        raise ConfigError("online evaluation needs the ROS layer's evaluator (rclpy)")
    setup, transform, rings_note = prepare_setup(request)
    settings, region = setup.pipeline, setup.region
    if request.online and online is not None:
        rows, snapshots, extra = online(request, setup, transform)
    else:
        rows, snapshots = evaluate_offline(build_pipeline(request, transform, settings), setup)
        extra = {}
    summaries = [summarise(rows, n) for n in setup.lines]
    bad = bad_messages(rows, setup.lines[0])
    label = data_label(request.bag)
    meta = {"model": request.model, "bag": display_path(request.bag), "data": label.description,
            "data_license": label.license or "unknown",
            "mode": "online (live node)" if request.online else "offline (node pipeline)",
            "ground_truth": "held-out beams (evaluation/heldout.py, lines per geometry/"
                            "beams.py)" if request.gt_dir is None
                            else display_path(request.gt_dir),
            "projection": PROJECTIONS[settings.use_rectified], "rings": rings_note,
            "scored_region": region.as_dict() if region is not None else None,
            "scored_on": "KITTI 16-bit encoding of prediction and ground truth",
            "max_depth_m": settings.max_depth, "bad_messages": len(bad),
            "lidar_to_camera": np.round(transform, 9).tolist(), **extra}
    document = to_json(rows, summaries, meta)
    json_path = request.json_path or request.report / "metrics.json"
    write_json(document, json_path)
    csv_path = request.report / "frames.csv"
    write_csv(rows, csv_path)
    report = write_report(request.report, summaries, snapshots,
                          _report_meta(meta, region), label)
    if bad:
        append_section(report, "Bad messages (skipped; the evaluation went on)",
                       [f"- stamp {r.stamp_ns} ns: {r.reason}" for r in bad])
    if refused := rings_refused(rows):
        append_section(report, "Rings refused (frames skipped; the evaluation went on)",
                       [f"- frame {r.frame} (stamp {r.stamp_ns} ns): {r.reason}"
                        for r in refused])
    return EvaluationOutcome(metrics_table(summaries), report, json_path, csv_path, document)


def prepare_setup(request: EvaluationRequest
                  ) -> tuple[EvaluationSetup, Float64Array, str]:
    """The evaluation setup of ``request`` (topics, line counts, ground truth, rings, region),
    the LiDAR -> camera transform, and how the rings are read (for the report)."""
    topics = BagTopics(resolve_image_topic(request.bag, request.image_topic),
                       request.camera_info_topic, request.points_topic)
    transform = resolve_lidar_to_camera(request.bag, topics, matrix=request.lidar_to_camera,
                                        calib=request.calib, camera=request.camera)
    heldout = request.gt_dir is None
    lines = request.lines if request.lines is not None or not request.online else 32
    gt = None if request.gt_dir is None else KittiGroundTruth.open(
        request.gt_dir, request.bag, camera=request.camera, timestamps=request.gt_timestamps)
    # the node's defaults (and its use_rectified), so offline == online
    settings = PipelineSettings(use_rectified=not request.raw)
    rings, rings_note = choose_ring_source(request.ring_source,
                                           bag_frame_numbers(request.bag) is not None)
    region = choose_region(_region_frames(request.bag, topics, settings), transform,
                           heldout=heldout, rectified=settings.use_rectified, crop=request.crop)
    setup = EvaluationSetup(request.bag, topics, sweep_lines(lines, heldout), gt, rings,
                            request.save_predictions, settings, region)
    return setup, transform, rings_note


#: use_rectified -> how the report names the projection path
PROJECTIONS = {True: "rectified: camera_info P (the node's use_rectified: true)",
               False: "raw: camera_info K and D (--raw, the node's use_rectified: false)"}


def _region_frames(bag: Path, topics: BagTopics, settings: PipelineSettings
                   ) -> Iterator[tuple[int, PinholeCamera, Array | None]]:
    """(index, camera, points) of the bag's frames for :func:`choose_region`, read lazily (only
    as far as the choice needs)."""
    for frame in iter_bag_frames(bag, topics, settings.sync):  # closed with this generator
        if isinstance(frame, EvalFrame):
            yield frame.index, frame.camera, frame.points


def _report_meta(meta: dict[str, Any], region: ScoredRegion | None) -> dict[str, Any]:
    """The JSON meta as the Markdown report lists it (no matrix; the region in words)."""
    shown = {k: v for k, v in meta.items() if k != "lidar_to_camera"}
    if region is not None:
        shown["scored_region"] = region.describe()
    return shown


def build_pipeline(request: EvaluationRequest, transform: Float64Array,
                   settings: PipelineSettings) -> DepthPipeline:
    """The node's pipeline with the request's model and dropout model."""
    return DepthPipeline(_model(request.model, request), transform, settings,
                         dropout_model=_dropout(request))


def _model(name: str, request: EvaluationRequest) -> DepthModel:
    """The evaluated model ``name`` with the request's ``model_config``."""
    return _build(name, request.model_config, request)


def _dropout(request: EvaluationRequest) -> DepthModel | None:
    """The dropout model with its default config (``model_config`` is the main model's)."""
    return _build(request.dropout_model, None, request) if request.dropout_model else None


def _build(name: str, config: Mapping[str, Any] | None, request: EvaluationRequest
           ) -> DepthModel:
    return with_engine(get_model(name, config, checkpoint=request.checkpoint,
                                 device=request.device, precision=request.precision),
                       request.engine)
