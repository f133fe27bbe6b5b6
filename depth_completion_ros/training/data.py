"""Training samples: the evaluation's beam split on training frames, augmented, batched through
the inference Preprocessor.

Self-supervised (``kitti_raw``, ``kitti_object``): per sample a line count is drawn from
``data.lines``; :func:`~depth_completion_ros.evaluation.heldout.split_frame` (the evaluation's
own steps: :mod:`~depth_completion_ros.geometry.beams` input / held-out rings, projection,
occlusion filter ``drop_occluded`` on the scored KITTI crop) gives the input depth and the
target; both, the RGB and K are cut to that crop. Supervised (``kitti_dc``): the source's
sparse input and ground truth, cut the same way. Then :func:`~.augment.augment` (crop, flip,
colour jitter) and, per batch, :func:`network_batch`: the same
:class:`~depth_completion_ros.engine.preprocess.Preprocessor` as inference (crop, normalise,
pad to stride, K), the target cut and padded alike.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from depth_completion_ros.engine.adapter import initial_depth
from depth_completion_ros.engine.preprocess import Preprocessor, pad_to_stride
from depth_completion_ros.errors import DataFormatError
from depth_completion_ros.evaluation.heldout import split_frame
from depth_completion_ros.geometry.crop import KITTI_CROP, cut
from depth_completion_ros.models.base import DepthModel
from depth_completion_ros.training.augment import Sample, augment, contiguous, crop_intrinsics
from depth_completion_ros.training.sections import DataSection, SourceConfig
from depth_completion_ros.training.sources import (
    DepthFrame,
    Frame,
    FrameLoader,
    ScanFrame,
    list_frames,
    ring_problem,
)

LOG = logging.getLogger(__name__)


def heldout_sample(frame: ScanFrame, lines: int) -> Sample:
    """The evaluation's split of ``frame`` at ``lines`` input lines, on the scored KITTI crop
    (clamped to smaller images): input depth, occlusion-filtered held-out target, K moved."""
    height, width = frame.rgb.shape[:2]
    box = KITTI_CROP.box(height, width, clamp=True)
    split = split_frame(frame.points, frame.rings, frame.lidar_to_camera, frame.camera, lines,
                        crop=box)
    return Sample(cut(frame.rgb, box), cut(split.sparse, box), split.groundtruth,
                  crop_intrinsics(frame.camera.intrinsics(), box[0], box[1]), lines)


def supervised_sample(frame: DepthFrame) -> Sample:
    """A KITTI depth-completion frame on the scored KITTI crop (input and ground truth as
    given, no line subsampling)."""
    height, width = frame.rgb.shape[:2]
    box = KITTI_CROP.box(height, width, clamp=True)
    return Sample(cut(frame.rgb, box), cut(frame.sparse, box), cut(frame.groundtruth, box),
                  crop_intrinsics(frame.K, box[0], box[1]), 0)


class TrainingSet:
    """Frames of several sources; scans with an implausible ring estimate are skipped (logged,
    listed in :attr:`skipped`), or kept for 0-line samples only (``prediction_only``).

    Args:
        sources: dataset folders.
        cache: keep decoded frames in memory.
        prediction_only: keep scans whose rings cannot be split, for 0-line samples
            (:attr:`prediction_only` lists their indices).

    Raises:
        DataFormatError: a source cannot be read, or no usable frame is left.
    """

    def __init__(self, sources: Sequence[SourceConfig], *, cache: bool = True,
                 prediction_only: bool = False) -> None:
        self.loaders: list[FrameLoader] = []
        self.names: list[str] = []
        self.skipped: list[tuple[str, str]] = []
        self.prediction_only: set[int] = set()
        self._paths: list[str] = []   # each entry's source folder, beside self.names
        self._cache: dict[int, Frame] = {}
        for source in sources:
            for name, load in list_frames(source):
                frame = load()
                problem = ring_problem(frame.rings) if isinstance(frame, ScanFrame) else None
                if problem and prediction_only:
                    LOG.info("training data: %s for 0-line samples only: %s", name, problem)
                    self.prediction_only.add(len(self.loaders))
                elif problem:
                    LOG.warning("training data: skipping %s: %s", name, problem)
                    self.skipped.append((name, problem))
                    continue
                if cache:
                    self._cache[len(self.loaders)] = frame
                self.loaders.append(load)
                self.names.append(name)
                self._paths.append(source.path)
        if not self.loaders:
            raise DataFormatError(f"training data: no usable frame in "
                                  f"{[s.path for s in sources]} ({len(self.skipped)} skipped)")

    def __len__(self) -> int:
        return len(self.loaders)

    def frame(self, index: int) -> Frame:
        """Frame ``index`` (from the cache when kept)."""
        cached = self._cache.get(index)
        return cached if cached is not None else self.loaders[index]()

    def sample(self, index: int, lines: int) -> Sample:
        """Frame ``index`` as a sample with ``lines`` input lines (ignored when supervised;
        0 for a :attr:`prediction_only` frame)."""
        frame = self.frame(index)
        if isinstance(frame, ScanFrame):
            return heldout_sample(frame, 0 if index in self.prediction_only else lines)
        return supervised_sample(frame)

    def describe(self) -> str:
        """Which frames trained, for the checkpoint's metadata."""
        parts = []
        for path in dict.fromkeys(self._paths):
            entries = [n for n, p in zip(self.names, self._paths, strict=True) if p == path]
            distinct = len(set(entries))
            parts.append(f"{path} ({distinct} frames"
                         + (f", {len(entries)} entries)" if len(entries) > distinct else ")"))
        if self.prediction_only:
            names = dict.fromkeys(self.names[i] for i in sorted(self.prediction_only))
            parts.append("0-line samples only: " + ", ".join(names))
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)}: "
                         + ", ".join(name for name, _ in self.skipped))
        return "; ".join(parts)


def draw_batch(dataset: TrainingSet, data: DataSection, batch_size: int,
               rng: np.random.Generator, *, indices: Sequence[int] | None = None,
               initial: DepthModel | None = None) -> list[Sample]:
    """``batch_size`` augmented samples: frame, line count, crop, flip, jitter drawn from
    ``rng`` (so its state alone makes the batch sequence reproducible).

    ``indices``: the frames, given (``batch_size`` of them: a distributed sampler's), instead of
    drawn from ``rng``. ``initial``: the model whose depth a refinement network starts from;
    it runs on the sample's whole crop, before augmentation, as at inference
    (:func:`~depth_completion_ros.engine.adapter.initial_depth`).
    """
    if indices is not None and len(indices) != batch_size:
        raise ValueError(f"draw_batch: {len(indices)} indices for a batch of {batch_size}")
    samples = []
    for i in range(batch_size):
        index = int(rng.integers(len(dataset))) if indices is None else int(indices[i])
        lines = int(data.lines[int(rng.integers(len(data.lines)))])
        sample = dataset.sample(index, lines)
        if data.prediction_target == "classical" and sample.lines == 0 \
                and not sample.sparse.any():
            sample = dense_target(sample)
        if initial is not None:
            start = initial_depth(initial, sample.rgb, sample.sparse, sample.K)
            sample = replace(sample, initial=start.depth)
        sample = augment(sample, width=data.patch_width,
                         height=data.patch_height, flip_probability=data.flip_probability,
                         colour_jitter=data.colour_jitter, rng=rng,
                         skip_top_rows=data.skip_top_rows, scale_max=data.scale_max,
                         zoom=data.zoom)
        samples.append(contiguous(sample))
    return samples


def dense_target(sample: Sample) -> Sample:
    """A prediction sample (no input) whose target is its LiDAR points and, between them, the
    ``classical`` model's completion of all of them (where it gives depth: from the top
    beam down); the measured points keep their own depth.

    Example:
        >>> target = np.zeros((40, 30), np.float32)
        >>> target[10::8, :] = 12.0
        >>> K = np.array([[50.0, 0, 15], [0, 50.0, 20], [0, 0, 1]])
        >>> out = dense_target(Sample(np.zeros((40, 30, 3), np.uint8), np.zeros_like(target),
        ...                           target, K))
        >>> int((target > 0).sum()), int((out.target > 0).sum()) > 800
        (120, True)
        >>> float(out.target[20, 15])
        12.0
    """
    from depth_completion_ros.models import get_model

    dense = get_model("classical").predict(sample.rgb, sample.target, sample.K).depth
    filled = np.where(np.isfinite(dense) & (dense > 0), dense, np.float32(0))
    target = np.where(sample.target > 0, sample.target, filled).astype(np.float32)
    return replace(sample, target=target)


@dataclass(frozen=True)
class Batch:
    """Stacked samples: rgb (B, 3, h, w) uint8, sparse and target (B, 1, h, w) float32 metres,
    K (B, 3, 3) float64, initial (B, 1, h, w) float32 metres or None (CPU tensors)."""

    rgb: torch.Tensor
    sparse: torch.Tensor
    target: torch.Tensor
    K: torch.Tensor
    initial: torch.Tensor | None = None


def collate(samples: Sequence[Sample]) -> Batch:
    """Stack samples of one size.

    Raises:
        DataFormatError: samples of different sizes (set data.patch_height / patch_width).
    """
    sizes = {s.sparse.shape for s in samples}
    if len(sizes) != 1:
        raise DataFormatError(f"training batch: samples of sizes {sorted(sizes)} cannot be "
                              f"stacked; set data.patch_height / data.patch_width")
    starts = [s.initial for s in samples if s.initial is not None]
    if starts and len(starts) != len(samples):
        raise DataFormatError("training batch: some samples have an initial depth, some not")
    return Batch(torch.from_numpy(np.stack([s.rgb for s in samples])).permute(0, 3, 1, 2),
                 torch.from_numpy(np.stack([s.sparse for s in samples]))[:, None],
                 torch.from_numpy(np.stack([s.target for s in samples]))[:, None],
                 torch.from_numpy(np.stack([s.K for s in samples])),
                 torch.from_numpy(np.stack(starts))[:, None] if starts else None)


def network_batch(preprocessor: Preprocessor, batch: Batch, device: torch.device
                  ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The network's keyword inputs (inference's Preprocessor) and the target, cut and padded
    like the input, in metres: (B, 1, ph, pw), 0 = none."""
    inputs = preprocessor(batch.rgb.to(device), batch.sparse.to(device), batch.K.to(device),
                          None if batch.initial is None else batch.initial.to(device))
    x0, y0, w, h = preprocessor.box(batch.target.shape[2], batch.target.shape[3])
    target = batch.target.to(device)[..., y0:y0 + h, x0:x0 + w]
    return inputs, pad_to_stride(target, preprocessor.spec.stride)


def image_target(preprocessor: Preprocessor, batch: Batch, device: torch.device) -> torch.Tensor:
    """The batch's camera image as the auxiliary image loss's target: (B, 3, ph, pw) in [0, 1]
    (``rgb / 255``), cut and padded like the network's input.

    Taken from the batch itself, not from the network's input: a model that reads no image gets
    zeros there, and another one a normalised image.
    """
    x0, y0, w, h = preprocessor.box(batch.rgb.shape[2], batch.rgb.shape[3])
    rgb = batch.rgb.to(device)[..., y0:y0 + h, x0:x0 + w].float() / 255.0
    return pad_to_stride(rgb, preprocessor.spec.stride)
