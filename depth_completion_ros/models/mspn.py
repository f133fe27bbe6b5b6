"""MSPN [``mspn``] in the registry: refine another registered model's depth (SDR framework).

The network is :class:`~depth_completion_ros.networks.mspn.MSPNNet` (Jun, Lee, Kim, CVPR 2024;
model card in models/README.md). Its initial depth D0 comes from the registered model named by
``initial_model`` (``classical`` by default, so MSPN needs no camera-only network; any other
model that runs on the same inputs plugs in), through
:func:`~depth_completion_ros.engine.adapter.initial_depth`. No weights are shipped unless listed
below: :data:`WEIGHTS`, the small network trained self-supervised on two KITTI recordings
(model card); other checkpoints in this package's format 2 come from ``depth-completion train``.

:func:`mspn_propagate` runs the propagation alone on given guidance, D0, sparse depth and the
``prop_layer.*`` weights (the authors' names, their ``{'net': ...}`` wrapper accepted), so it
can be compared with the authors' code on the same inputs.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import CheckpointError, ConfigError
from depth_completion_ros.models.base import DepthModel, ModelInput, ModelSpec
from depth_completion_ros.models.learned import KITTI_IMAGENET_INPUT, refinement_problems
from depth_completion_ros.models.registry import (
    LearnedNetwork,
    refinement_start,
    register_model,
)
from depth_completion_ros.models.weights import WeightsSpec

SPEC = ModelSpec(
    "mspn", required=(ModelInput.RGB, ModelInput.SPARSE_DEPTH),
    description="MSPN masked spatial propagation refining another model's depth (learned, "
                "small KITTI weights shipped; D0 from 'initial_model', classical by default)",
    paper="Jun, Lee, Kim: Masked Spatial Propagation Network for Sparsity-Adaptive Depth "
          "Refinement, CVPR 2024")

#: the NLSPN family's KITTI preprocessing: 1216x352 crop, ImageNet RGB, metres, any size (the
#: decoder crops to its encoder's maps)
INPUT_SPEC = KITTI_IMAGENET_INPUT

WHERE_WEIGHTS_COME_FROM = (
    "model 'mspn' has no weights here: train them with 'depth-completion train' (self-supervised "
    "on your own recording's LiDAR beams: docs/training.md; config/train/mspn_small_selfsup.yaml) "
    "and pass the file with --checkpoint FILE (node: the 'checkpoint' parameter)")

#: config fields that change the weights' shapes
ARCHITECTURE = ("width", "embed_dim")

#: where the confidence comes from (MSPNConfig.confidence)
CONFIDENCES = ("mask", "initial")


@dataclass(frozen=True)
class MSPNConfig:
    """Config of MSPN.

    Attributes:
        initial_model: the registered model whose depth is refined (D0); it runs with its
            default config and weights.
        width: guidance network channels at full resolution (a multiple of 4). The small CPU
            variant: ``width=16, embed_dim=8``.
        embed_dim: guidance channels L (64 in the authors' KITTI config).
        min_iterations: lower bound of N1 (the authors' ``prop_time``, 6).
        second_iterations: N2 (6).
        max_iterations: upper bound of N1, 0 = none (bounds the run time on near-empty scans,
            where the authors' formula grows with sqrt(pixels / samples)).
        paper_blend: the paper's Eq. 6 / 10 (the authors' NYU branch) instead of their KITTI
            code path.
        rpb_sigma: 0 = the authors' init of the position bias; > 0 = a Gaussian prior of this
            width in pixels (a start near identity; only matters for training from scratch).
        guidance_init_scale: with ``rpb_sigma`` > 0, the factor on the guidance part of the
            propagation's 1x1 convolution at init (0.01 = q · k near 0; 1.0 = PyTorch's init,
            which lets the guidance learn from the first step; only matters for training).
        confidence: ``"mask"`` = the propagated mask (the paper's notion of how much of a
            pixel's depth came from measurements); ``"initial"`` = the D0 model's own confidence
            (the one that ranks the shipped weights' errors on KITTI: model card).

    Raises:
        ConfigError: a value out of range (naming the field).
    """

    initial_model: str = "classical"
    width: int = 64
    embed_dim: int = 64
    min_iterations: int = 6
    second_iterations: int = 6
    max_iterations: int = 64
    paper_blend: bool = False
    rpb_sigma: float = 0.0
    guidance_init_scale: float = 0.01
    confidence: str = "mask"

    def __post_init__(self) -> None:
        problems = []
        if self.confidence not in CONFIDENCES:
            problems.append(f"confidence must be one of {list(CONFIDENCES)}, got "
                            f"{self.confidence!r}")
        problems += refinement_problems(SPEC.name, self.initial_model, self.width,
                                        self.embed_dim)
        if self.min_iterations < 1 or self.second_iterations < 0:
            problems.append(f"min_iterations must be >= 1 and second_iterations >= 0, got "
                            f"{self.min_iterations} / {self.second_iterations}")
        if self.max_iterations and self.max_iterations < self.min_iterations:
            problems.append(f"max_iterations must be 0 (none) or >= min_iterations, got "
                            f"{self.max_iterations}")
        if self.rpb_sigma < 0:
            problems.append(f"rpb_sigma must be >= 0, got {self.rpb_sigma}")
        if not 0 < self.guidance_init_scale <= 1:
            problems.append(f"guidance_init_scale must be in (0, 1], got "
                            f"{self.guidance_init_scale}")
        if problems:
            raise ConfigError("mspn config: " + "; ".join(problems))


def build_network(config: MSPNConfig):  # type: ignore[no-untyped-def]  # torch imported lazily
    """The network of ``config`` (random weights)."""
    from depth_completion_ros.networks.mspn import MSPNNet

    return MSPNNet(config.width, config.embed_dim, min_iterations=config.min_iterations,
                   second_iterations=config.second_iterations,
                   max_iterations=config.max_iterations or None,
                   paper_blend=config.paper_blend, rpb_sigma=config.rpb_sigma,
                   guidance_init_scale=config.guidance_init_scale)


def initial_model(config: MSPNConfig) -> DepthModel:
    """The model that makes D0 (its default config and weights).

    Raises:
        ModelError: not a registered model.
        ConfigError: a model that needs inputs MSPN does not have.
        MissingWeightsError: a learned model without weights.
    """
    return refinement_start(SPEC, config.initial_model)


def factory(config: MSPNConfig, *, checkpoint: Path | None, device: Device | str = Device.AUTO,
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


def mspn_propagate(guidance: Any, initial_depth: Any, sparse_depth: Any, num_samples: int,
                   weights: Mapping[str, Any], *, paper_blend: bool = False) -> dict[str, Any]:
    """MSPN's propagation alone, as the authors' KITTI code runs it (no gradient).

    Args:
        guidance: (1, L, H, W) float32 tensor, the guidance network's output.
        initial_depth: (1, 1, H, W) float32 metres, D0.
        sparse_depth: (1, 1, H, W) float32 metres, 0 = none.
        num_samples: valid LiDAR samples of the frame (the authors: the 352-row frame's count
            scaled by lines / 64).
        weights: a state dict holding ``prop_layer.mspn.{rpb, norm1.weight, norm1.bias,
            conv.weight, conv.bias}`` and the same under ``prop_layer.mspn_2nd`` (other keys
            are ignored), or the authors' ``{'net': state_dict}``.
        paper_blend: the paper's Eq. 6 / 10 instead of the KITTI path.

    Returns:
        ``depth`` (final, clamped at 0), ``stage1`` (after the first layer), ``mask1``,
        ``mask2`` (1, 1, H, W) tensors and ``iterations`` (N1, N2).

    Raises:
        CheckpointError: missing or misshapen ``prop_layer`` tensors.
    """
    import torch

    from depth_completion_ros.networks.propagation.mspn import MaskedPropagation

    state = weights.get("net", weights) if isinstance(weights, Mapping) else weights
    prefix = "prop_layer."
    layer = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    conv = layer.get("mspn.conv.weight")
    if conv is None or conv.ndim != 4 or conv.shape[0] != 2 * (conv.shape[1] - 1):
        raise CheckpointError("mspn_propagate: weights need prop_layer.mspn.conv.weight of "
                              "shape [2L, L + 1, 1, 1]")
    channels = int(conv.shape[1]) - 1
    prop = MaskedPropagation(channels, paper_blend=paper_blend)
    try:
        prop.load_state_dict(layer, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"mspn_propagate: prop_layer weights do not fit: {err}") from err
    prop = prop.to(guidance.device).eval()
    with torch.no_grad():
        out = prop(guidance.float(), initial_depth.float(), sparse_depth.float(),
                   int(num_samples))
    return {"depth": out.depth, "stage1": out.stage1, "mask1": out.mask1, "mask2": out.mask2,
            "iterations": out.iterations}


#: The shipped weights (model card: models/README.md). Scores: seq16 (16 frames of another
#: drive, never trained on), held-out beams, mm.
WEIGHTS = (
    WeightsSpec(
        name="kitti_selfsup_small_v1", file="mspn_small_kitti_selfsup_v1.pt",
        sha256="c595ba80938ec74835f55bac941678e70ef99ede38e42c69a7e2e73101019fdc",
        input_spec=INPUT_SPEC,
        training_data="KITTI raw 2011_09_26_drive_0009 (51 frames) and 6 full-scan KITTI object "
                      "frames, self-supervised on held-out LiDAR beams (no ground truth)",
        recipe="depth-completion train --config config/train/mspn_small_selfsup.yaml",
        scores={"seq16_rmse_mm_32": 2936.1, "seq16_mae_mm_32": 656.6,
                "seq16_rmse_mm_16": 3889.3, "seq16_mae_mm_16": 1056.8,
                "seq16_rmse_mm_8": 6578.7, "seq16_mae_mm_8": 2404.8,
                "seq16_rmse_mm_4": 10607.7, "seq16_mae_mm_4": 4034.0},
        license="CC BY-NC-SA 3.0 (from KITTI, Geiger et al. 2013)",
        config={"width": 16, "embed_dim": 8}),
)

NETWORK = LearnedNetwork(build_network, INPUT_SPEC,
                         variants={"small": {"width": 16, "embed_dim": 8}, "full": {}},
                         initial_model=initial_model)

register_model(SPEC, factory=factory, config_cls=MSPNConfig, weights=WEIGHTS, network=NETWORK)
