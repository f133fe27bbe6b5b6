"""NLSPN refinement [``nlspn_refine``] in the registry: NLSPN's propagation refining another
registered model's depth (the SDR framework of MSPN's paper).

The network is :class:`~depth_completion_ros.networks.nlspn_refine.NLSPNRefineNet` (model card
in models/README.md). D0 comes from the registered model named by ``initial_model``
(``classical`` by default), through
:func:`~depth_completion_ros.engine.adapter.initial_depth`. Weights: :data:`WEIGHTS` when
listed (model card); others in this package's format 2 come from ``depth-completion train``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models.base import DepthModel, ModelInput, ModelSpec
from depth_completion_ros.models.learned import KITTI_IMAGENET_INPUT, refinement_problems
from depth_completion_ros.models.registry import (
    LearnedNetwork,
    refinement_start,
    register_model,
)
from depth_completion_ros.models.weights import WeightsSpec

SPEC = ModelSpec(
    "nlspn_refine", required=(ModelInput.RGB, ModelInput.SPARSE_DEPTH),
    description="NLSPN propagation refining another model's depth (learned, small KITTI "
                "weights shipped; D0 from 'initial_model', classical by default)",
    paper="Park et al., Non-Local Spatial Propagation Network, ECCV 2020, in the SDR "
          "framework of Jun, Lee, Kim, Masked Spatial Propagation Network, CVPR 2024")

#: the NLSPN family's KITTI preprocessing (1216x352 crop, ImageNet RGB, metres, any size)
INPUT_SPEC = KITTI_IMAGENET_INPUT

WHERE_WEIGHTS_COME_FROM = (
    "model 'nlspn_refine' has no weights here: train them with 'depth-completion train' "
    "(self-supervised on your own recording's LiDAR beams: docs/training.md; "
    "config/train/nlspn_refine_small_selfsup.yaml) and pass the file with --checkpoint FILE "
    "(node: the 'checkpoint' parameter)")

#: config fields that change the weights' shapes
ARCHITECTURE = ("width", "embed_dim", "prop_kernel")

#: where the confidence comes from (NLSPNRefineConfig.confidence)
CONFIDENCES = ("initial", "predicted")


@dataclass(frozen=True)
class NLSPNRefineConfig:
    """Config of the NLSPN refinement.

    Attributes:
        initial_model: the registered model whose depth is refined (D0); it runs with its
            default config and weights.
        width: guidance network channels at full resolution (a multiple of 4). The small CPU
            variant: ``width=16, embed_dim=8``.
        embed_dim: guidance channels.
        prop_time: propagation steps.
        prop_kernel: propagation window (odd, >= 3).
        affinity_gamma: NLSPN's initial γ / neighbours (only matters for training).
        confidence: ``"initial"`` = the D0 model's own confidence (default: ``classical``'s
            ranks its errors, models/README.md); ``"predicted"`` = the network's confidence of
            D0 (what weighs the neighbours in the propagation).

    Raises:
        ConfigError: a value out of range (naming the field).
    """

    initial_model: str = "classical"
    width: int = 64
    embed_dim: int = 64
    prop_time: int = 12
    prop_kernel: int = 3
    affinity_gamma: float = 0.5
    confidence: str = "initial"

    def __post_init__(self) -> None:
        problems = refinement_problems(SPEC.name, self.initial_model, self.width,
                                       self.embed_dim)
        if self.prop_time < 0:
            problems.append(f"prop_time must be >= 0, got {self.prop_time}")
        if self.prop_kernel < 3 or self.prop_kernel % 2 == 0:
            problems.append(f"prop_kernel must be odd and >= 3, got {self.prop_kernel}")
        if not self.affinity_gamma > 0:
            problems.append(f"affinity_gamma must be > 0, got {self.affinity_gamma}")
        if self.confidence not in CONFIDENCES:
            problems.append(f"confidence must be one of {list(CONFIDENCES)}, got "
                            f"{self.confidence!r}")
        if problems:
            raise ConfigError("nlspn_refine config: " + "; ".join(problems))


def build_network(config: NLSPNRefineConfig):  # type: ignore[no-untyped-def]  # lazy torch
    """The network of ``config`` (random weights; the propagation starts as the identity)."""
    from depth_completion_ros.networks.nlspn_refine import NLSPNRefineNet

    return NLSPNRefineNet(config.width, config.embed_dim, prop_time=config.prop_time,
                          kernel=config.prop_kernel, affinity_gamma=config.affinity_gamma)


def initial_model(config: NLSPNRefineConfig) -> DepthModel:
    """The model that makes D0 (its default config and weights).

    Raises:
        ModelError: not a registered model.
        ConfigError: a model that needs inputs this model does not have.
        MissingWeightsError: a learned model without weights.
    """
    return refinement_start(SPEC, config.initial_model)


def factory(config: NLSPNRefineConfig, *, checkpoint: Path | None,
            device: Device | str = Device.AUTO,
            precision: Precision | str = Precision.FP32) -> DepthModel:
    """Registry factory: the network with its weights (format 2, strict) and its D0 model.

    Raises:
        MissingWeightsError: no checkpoint (the message says where weights come from).
        CheckpointError: unreadable / refused file, another model, input spec or architecture,
            keys or shapes that differ.
        ConfigError: an unusable ``initial_model``.
    """
    from depth_completion_ros.engine.adapter import torch_model_factory

    build = torch_model_factory(SPEC, build_network, INPUT_SPEC, architecture=ARCHITECTURE,
                                missing_weights=WHERE_WEIGHTS_COME_FROM, initial=initial_model,
                                initial_confidence=lambda c: c.confidence == "initial")
    return build(config, checkpoint=checkpoint, device=device, precision=precision)


#: The shipped weights (model card: models/README.md). Scores: seq16 (16 frames of another
#: drive, never trained on; checkpoints selected on object frames, the recipe chosen over
#: another knowing seq16: model card), held-out beams, mm.
WEIGHTS = (
    WeightsSpec(
        name="kitti_selfsup_small_v1", file="nlspn_refine_small_kitti_selfsup_v1.pt",
        sha256="93f598652700848598812cba030253aa6beea7e0e3b98043add96d0628661e33",
        input_spec=INPUT_SPEC,
        training_data="KITTI raw 2011_09_26_drive_0009 (51 frames) and 3 full-scan KITTI object "
                      "frames, self-supervised on held-out LiDAR beams (no ground truth); "
                      "selected on 3 other object frames",
        recipe="depth-completion train --config config/train/nlspn_refine_small_selfsup.yaml",
        scores={"seq16_rmse_mm_32": 2608.9, "seq16_mae_mm_32": 563.9,
                "seq16_rmse_mm_16": 3916.0, "seq16_mae_mm_16": 1026.0,
                "seq16_rmse_mm_8": 6708.0, "seq16_mae_mm_8": 2357.7,
                "seq16_rmse_mm_4": 10643.5, "seq16_mae_mm_4": 4006.2},
        license="CC BY-NC-SA 3.0 (from KITTI, Geiger et al. 2013)",
        config={"width": 16, "embed_dim": 8}),
)

NETWORK = LearnedNetwork(build_network, INPUT_SPEC,
                         variants={"small": {"width": 16, "embed_dim": 8}, "full": {}},
                         initial_model=initial_model)

register_model(SPEC, factory=factory, config_cls=NLSPNRefineConfig, weights=WEIGHTS,
               network=NETWORK)
