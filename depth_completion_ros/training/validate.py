"""Validation with the evaluation's own protocol: held-out beams, devkit metrics, the model
adapter.

Frames are split once by :func:`~depth_completion_ros.evaluation.heldout.split_frame` with the
protocol's ring estimate and the KITTI crop (what ``evaluate`` / ``benchmark`` do at 32 and 16
lines), predicted by the network in training wrapped in the registry's
:class:`~depth_completion_ros.engine.adapter.TorchModelAdapter` (the deployed preprocessing), and
scored by :func:`~depth_completion_ros.evaluation.heldout.score_frame`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from depth_completion_ros.arrays import Float64Array, UInt8Array
from depth_completion_ros.engine.adapter import TorchModelAdapter
from depth_completion_ros.evaluation.heldout import HeldoutFrame, score_frame, split_frame
from depth_completion_ros.metrics.devkit import mean_metrics
from depth_completion_ros.models.base import DepthModel, ModelSpec
from depth_completion_ros.models.weights import InputSpec
from depth_completion_ros.training.sections import ValidationSection
from depth_completion_ros.training.sources import ScanFrame, list_frames, ring_problem

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidationFrame:
    """One held-out frame: RGB (H, W, 3) uint8, K (3, 3), its split per input line count."""

    name: str
    rgb: UInt8Array
    K: Float64Array
    splits: dict[int, HeldoutFrame]


def validation_frames(section: ValidationSection) -> list[ValidationFrame]:
    """Every usable frame of ``section.sources``, split at each of ``section.lines``.

    Raises:
        DataFormatError: a source cannot be read.
    """
    frames = []
    for source in section.sources:
        listed = list_frames(source)
        for name, load in listed[:section.max_frames or None]:
            frame = load()
            assert isinstance(frame, ScanFrame)  # kitti_dc is refused by the config
            problem = ring_problem(frame.rings)
            if problem:
                LOG.warning("validation data: skipping %s: %s", name, problem)
                continue
            splits = {lines: split_frame(frame.points, frame.rings, frame.lidar_to_camera,
                                         frame.camera, lines) for lines in section.lines}
            frames.append(ValidationFrame(name, frame.rgb, frame.camera.intrinsics(), splits))
    return frames


def validate(module: torch.nn.Module, spec: ModelSpec, input_spec: InputSpec,
             frames: Sequence[ValidationFrame], lines: Sequence[int], *,
             initial: DepthModel | None = None) -> dict[str, float]:
    """Devkit scores of ``module`` (left in train mode again) averaged over ``frames``
    (``initial``: the model a refinement network starts from, as deployed).

    Returns:
        ``rmse_mm_<lines>``, ``mae_mm_<lines>`` per line count and their means ``rmse_mm``,
        ``mae_mm`` (``validation.select`` names the one that picks the best checkpoint);
        empty without frames.
    """
    if not frames:
        return {}
    device = next(module.parameters()).device
    adapter = TorchModelAdapter(spec, module, input_spec, device=device.type, warmup=0,
                                initial=initial)
    scores: dict[str, float] = {}
    try:
        for n in lines:
            per_frame = [score_frame(adapter.predict(f.rgb, f.splits[n].sparse, f.K).depth,
                                     f.splits[n]) for f in frames]
            mean = mean_metrics(per_frame)
            assert mean is not None
            scores[f"rmse_mm_{n}"], scores[f"mae_mm_{n}"] = mean.rmse_mm, mean.mae_mm
    finally:
        module.train()
    scores["rmse_mm"] = float(np.mean([scores[f"rmse_mm_{n}"] for n in lines]))
    scores["mae_mm"] = float(np.mean([scores[f"mae_mm_{n}"] for n in lines]))
    return scores
