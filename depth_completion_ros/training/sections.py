"""The sections of the training config (frozen dataclasses, every field defaulted, values
checked in ``__post_init__``); :mod:`.config` assembles them into a
:class:`~depth_completion_ros.training.config.TrainConfig` from YAML and ``--set`` overrides."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from depth_completion_ros.devices import Precision
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.geometry.beams import SWEEP_LINES, TOTAL_LINES
from depth_completion_ros.training.augment import ZOOMS

#: dataset kinds: KITTI raw drive (any folder ``open_sequence`` reads), KITTI object layout
#: (``image_2/``, ``velodyne/``, ``calib/``), KITTI depth completion (supervised)
SOURCE_KINDS = ("kitti_raw", "kitti_object", "kitti_dc")
LOSS_KINDS = ("l1", "l2", "l1_l2", "silog")
SCHEDULE_KINDS = ("constant", "cosine", "step")


def check_lines(lines: tuple[int, ...], where: str) -> None:
    """Raise ConfigError unless ``lines`` are held-out-beam line counts (32, 16, 8, 4, or 0 =
    no LiDAR input, every ring the target: prediction samples of a model that runs without
    LiDAR, checked against the model by the config)."""
    allowed = [n for n in SWEEP_LINES if n != TOTAL_LINES]
    if not lines or any(n not in allowed for n in lines):
        raise ConfigError(f"{where}: each one of {allowed} (0 = no LiDAR, RGB-only "
                          f"prediction), at least one, got {list(lines)}")


@dataclass(frozen=True)
class SourceConfig:
    """One dataset folder.

    Attributes:
        kind: one of :data:`SOURCE_KINDS`.
        path: the folder (kitti_dc: the ``data_depth_velodyne`` root); relative paths are
            read from the working directory, else from the repository root.
        annotated: kitti_dc only: the ``data_depth_annotated`` root ("" = ``path``).
        raw: kitti_dc only: the KITTI raw root holding the RGB images.
        max_frames: use the first N frames only (0 = all), counted after ``skip_frames``.
        skip_frames: leave the first N frames (in name order) out: with ``max_frames`` a
            folder splits into training frames and validation frames of other scenes.
    """

    kind: str = "kitti_raw"
    path: str = ""
    annotated: str = ""
    raw: str = ""
    max_frames: int = 0
    skip_frames: int = 0

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ConfigError(f"source kind must be one of {list(SOURCE_KINDS)}, got "
                              f"{self.kind!r}")
        if self.max_frames < 0 or self.skip_frames < 0:
            raise ConfigError(f"source max_frames and skip_frames must be >= 0, got "
                              f"{self.max_frames} / {self.skip_frames}")


@dataclass(frozen=True)
class ModelSection:
    """Which network: registry name, size variant, then config overrides on top of it.

    Attributes:
        init: a deployable checkpoint of the same model whose weights start the run
            (fine-tuning; "" = random initialisation). Read as any user's checkpoint (no
            arbitrary pickled code); its architecture must match the config's exactly.
            Optimiser state starts afresh; ``resume`` continues a run instead.
    """

    name: str = ""
    variant: str = "full"
    config: Mapping[str, Any] = field(default_factory=dict)
    init: str = ""


#: targets of a 0-line (prediction) sample (DataSection.prediction_target)
PREDICTION_TARGETS = ("rings", "classical")


@dataclass(frozen=True)
class DataSection:
    """Training samples.

    Attributes:
        train: dataset folders (:class:`SourceConfig`).
        lines: input line counts drawn uniformly per sample (held-out rings = the others'
            halfway rings, :mod:`~depth_completion_ros.geometry.beams`); self-supervised only.
            0: no LiDAR input and every ring the target (a prediction sample, for models
            that run without LiDAR: SAN's prediction and completion batches mixed).
        patch_height, patch_width: random crop (pixels) inside the scored KITTI crop;
            0 = the whole crop.
        skip_top_rows: rows at the top of the scored crop no patch starts in (KITTI's LiDAR
            reaches none of the top ~100 of its 352 rows: patches there hold no target).
        flip_probability: horizontal flip (mirrors the principal point).
        colour_jitter: brightness / contrast / saturation factors drawn from [1 - j, 1 + j],
            RGB only (0 = off).
        scale_max: zoom-in augmentation: a window of 1 / s of the patch, s uniform in
            [1, scale_max], resized to the patch with K scaled and LiDAR pixels moved, not
            interpolated (:func:`~depth_completion_ros.training.augment.scale`); 1 = off.
        zoom: how the zoom is read: ``"focal"`` (K's focal lengths scaled, depths kept) or
            ``"depth"`` (K's focal lengths kept, every depth divided by ``s``: the scene
            moved ``s`` times closer along the optical axis, the ground plane where it was;
            :func:`~depth_completion_ros.training.augment.approach`).
        cache: keep decoded frames in memory (about 3.5 MB per KITTI frame).
        prediction_target: the target of a 0-line (prediction) sample: ``"rings"`` (every
            ring's points, occlusion-filtered) or ``"classical"`` (those points, and between
            them the ``classical`` model's completion of all of them: a dense pseudo-label
            where the LiDAR reaches; :func:`~depth_completion_ros.training.data.dense_target`).
        prediction_only_frames: keep scans whose rings cannot be split (a scan cropped to
            the camera's view, as two of the object frames; a solid-state LiDAR) for 0-line
            samples (no input, every point the target) instead of skipping them; such a
            frame is always drawn with 0 lines. Needs 0 in ``lines``.
    """

    train: tuple[SourceConfig, ...] = ()
    lines: tuple[int, ...] = (32, 16, 8, 4)
    patch_height: int = 256
    patch_width: int = 512
    skip_top_rows: int = 0
    flip_probability: float = 0.5
    colour_jitter: float = 0.2
    scale_max: float = 1.0
    zoom: str = "focal"
    cache: bool = True
    prediction_only_frames: bool = False
    prediction_target: str = "rings"

    def __post_init__(self) -> None:
        check_lines(self.lines, "data.lines")
        if self.prediction_target not in PREDICTION_TARGETS:
            raise ConfigError(f"data.prediction_target must be one of "
                              f"{list(PREDICTION_TARGETS)}, got {self.prediction_target!r}")
        if self.prediction_target != "rings" and 0 not in self.lines:
            raise ConfigError(f"data.prediction_target {self.prediction_target!r} needs 0 in "
                              f"data.lines (it changes 0-line samples only), got "
                              f"{list(self.lines)}")
        if self.prediction_only_frames and 0 not in self.lines:
            raise ConfigError(f"data.prediction_only_frames needs 0 in data.lines (its frames "
                              f"only make 0-line samples), got {list(self.lines)}")
        if self.patch_height < 0 or self.patch_width < 0 or self.skip_top_rows < 0:
            raise ConfigError("data.patch_height / patch_width / skip_top_rows must be >= 0 "
                              "(0 = whole crop)")
        if not 0.0 <= self.flip_probability <= 1.0:
            raise ConfigError(f"data.flip_probability must be in [0, 1], got "
                              f"{self.flip_probability}")
        if not 1.0 <= self.scale_max <= 4.0:
            raise ConfigError(f"data.scale_max must be in [1, 4], got {self.scale_max}")
        if self.zoom not in ZOOMS:
            raise ConfigError(f"data.zoom must be one of {list(ZOOMS)}, got {self.zoom!r}")
        if not 0.0 <= self.colour_jitter < 1.0:
            raise ConfigError(f"data.colour_jitter must be in [0, 1), got {self.colour_jitter}")


@dataclass(frozen=True)
class ValidationSection:
    """Held-out frames scored with the evaluation's own protocol and metrics.

    Attributes:
        sources: folders of whole frames never trained on (empty = no validation).
        lines: input line counts scored (the evaluation's variants: 32, 16).
        every: validate every N optimiser steps (and at the end).
        max_frames: frames per source (0 = all).
        select: the score that picks ``best.pt``: ``rmse_mm`` (default) or ``mae_mm``, their
            means over ``lines``.
        keep: also export every validated step as ``validated/step_NNNNNN.pt`` (deployable,
            its scores in the file), so another selection rule can be applied after the run
            to every step it validated, not only to ``best.pt`` and ``last.pt``.
    """

    sources: tuple[SourceConfig, ...] = ()
    lines: tuple[int, ...] = (32, 16)
    every: int = 200
    max_frames: int = 0
    select: str = "rmse_mm"
    keep: bool = False

    def __post_init__(self) -> None:
        if self.every < 1 or self.max_frames < 0:
            raise ConfigError(f"validation.every must be >= 1 and max_frames >= 0, got "
                              f"{self.every} / {self.max_frames}")
        if self.select not in ("rmse_mm", "mae_mm"):
            raise ConfigError(f"validation.select must be rmse_mm or mae_mm, got "
                              f"{self.select!r}")
        check_lines(self.lines, "validation.lines")
        if any(s.kind == "kitti_dc" for s in self.sources):
            raise ConfigError("validation.sources: held-out-beam validation needs LiDAR scans "
                              "(kitti_raw or kitti_object)")


@dataclass(frozen=True)
class LossSection:
    """Loss on the target pixels: ``l1``, ``l2``, ``l1_l2`` or ``silog`` (λ = ``silog_lambda``);
    depths clamped to [0, ``max_depth``] metres. ``uncertainty_weight`` > 0 adds that weight
    times the Laplace likelihood of the relative error (the depth detached) on the network's
    confidence channel, for networks with an uncertainty head (SAN;
    :func:`~depth_completion_ros.networks.losses.laplace.laplace_nll`). ``image_weight`` > 0
    adds that weight times the L2 of the grey-scale image the network reconstructs against the
    camera image's luma, for networks with an image head (``depth_only``, the paper's 1e-4;
    :func:`~depth_completion_ros.networks.losses.image.with_image_loss`)."""

    kind: str = "l1_l2"
    max_depth: float = 90.0
    silog_lambda: float = 0.85
    uncertainty_weight: float = 0.0
    image_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:
            raise ConfigError(f"loss.kind must be one of {list(LOSS_KINDS)}, got {self.kind!r}")
        if not self.max_depth > 0 or not 0.0 <= self.silog_lambda <= 1.0:
            raise ConfigError("loss.max_depth must be > 0 and silog_lambda in [0, 1]")
        if not self.uncertainty_weight >= 0:
            raise ConfigError(f"loss.uncertainty_weight must be >= 0, got "
                              f"{self.uncertainty_weight}")
        if not 0.0 <= self.image_weight < float("inf"):
            raise ConfigError(f"loss.image_weight must be finite and >= 0, got "
                              f"{self.image_weight}")


@dataclass(frozen=True)
class OptimSection:
    """AdamW; ``grad_clip`` = max gradient norm (0 = off); ``accumulate`` batches per step;
    ``ema`` = decay of an exponential moving average of the weights (0 = off), which is then
    what is validated and exported."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    betas: tuple[float, ...] = (0.9, 0.999)
    grad_clip: float = 1.0
    accumulate: int = 1
    ema: float = 0.0

    def __post_init__(self) -> None:
        if not self.lr > 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ConfigError("optim: lr must be > 0, weight_decay and grad_clip >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"optim.betas: two values in [0, 1), got {list(self.betas)}")
        if self.accumulate < 1:
            raise ConfigError(f"optim.accumulate must be >= 1, got {self.accumulate}")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"optim.ema must be in [0, 1) (0 = off), got {self.ema}")


@dataclass(frozen=True)
class ScheduleSection:
    """Learning rate: linear warm-up over ``warmup_steps``, then ``constant``, ``cosine`` (down
    to ``min_lr_ratio`` x lr at ``total_steps``) or ``step`` (x ``gamma`` every ``step_every``).
    ``total_steps`` 0 = ``run.max_steps``."""

    kind: str = "cosine"
    warmup_steps: int = 100
    total_steps: int = 0
    min_lr_ratio: float = 0.01
    step_every: int = 1000
    gamma: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULE_KINDS:
            raise ConfigError(f"schedule.kind must be one of {list(SCHEDULE_KINDS)}, got "
                              f"{self.kind!r}")
        if self.warmup_steps < 0 or self.total_steps < 0 or self.step_every < 1:
            raise ConfigError("schedule: warmup_steps, total_steps >= 0, step_every >= 1")
        if not 0 <= self.min_lr_ratio <= 1 or not 0 < self.gamma <= 1:
            raise ConfigError("schedule: min_lr_ratio in [0, 1], gamma in (0, 1]")


@dataclass(frozen=True)
class RunSection:
    """How long, where, how often.

    Attributes:
        seed: seeds numpy (sampling, augmentation) and torch.
        max_steps: optimiser steps in all (a resumed run continues to it).
        max_minutes: wall-clock limit of this invocation (0 = none); state is saved at the stop.
        batch_size: samples per forward pass, per process (with torchrun the optimiser step
            sees ``batch_size x processes x optim.accumulate`` samples).
        device: ``auto``, ``cpu`` or ``cuda`` (with torchrun: each process on the GPU of its
            ``LOCAL_RANK``).
        precision: ``fp32``, ``bf16`` (autocast, CUDA or CPU) or ``fp16`` (autocast and a
            gradient scaler, CUDA only: fp32 on the CPU with a note); see :mod:`.precision`.
        threads: torch CPU threads (0 = torch's default).
        log_every: CSV / TensorBoard row every N steps.
        save_every: training state written every N steps (and at the end).
        out: run folder (``--out`` overrides it).
    """

    seed: int = 0
    max_steps: int = 1000
    max_minutes: float = 0.0
    batch_size: int = 4
    device: str = "auto"
    precision: str = "fp32"
    threads: int = 0
    log_every: int = 10
    save_every: int = 200
    out: str = "out/train"

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.batch_size < 1 or self.log_every < 1 \
                or self.save_every < 1:
            raise ConfigError("run: max_steps, batch_size, log_every, save_every must be >= 1")
        if self.max_minutes < 0 or self.threads < 0:
            raise ConfigError("run: max_minutes and threads must be >= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"run.device must be auto, cpu or cuda, got {self.device!r}")
        if self.precision not in Precision.choices():
            raise ConfigError(f"run.precision must be one of {list(Precision.choices())}, got "
                              f"{self.precision!r}")
