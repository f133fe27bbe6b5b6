"""CSPN [``cspn``] in the registry: config, input spec, registration.

The network is :class:`~depth_completion_ros.networks.cspn.CSPNNet` (Cheng, Wang, Yang,
ECCV 2018; model card in models/README.md). The authors never released KITTI weights and none
are shipped here: ``get_model("cspn")`` needs a checkpoint in this package's format 2 (from
``depth-completion train``), whose stored input spec must equal :data:`INPUT_SPEC` and whose
stored architecture (backbone depth, width) must equal the config's. The network is imported
only when a model is built, so listing models does not import torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models.base import DepthModel, ModelInput, ModelSpec
from depth_completion_ros.models.learned import KITTI_IMAGENET_INPUT, backbone_problems
from depth_completion_ros.models.registry import LearnedNetwork, register_model

SPEC = ModelSpec(
    "cspn", required=(ModelInput.RGB, ModelInput.SPARSE_DEPTH),
    description="CSPN convolutional spatial propagation (learned; needs --checkpoint from "
                "'depth-completion train'; confidence derived from the propagation)",
    paper="Cheng, Wang, Yang: Depth Estimation via Affinity Learned with Convolutional "
          "Spatial Propagation Network, ECCV 2018")

#: the NLSPN family's KITTI preprocessing (:data:`.learned.KITTI_IMAGENET_INPUT`)
INPUT_SPEC = KITTI_IMAGENET_INPUT

WHERE_WEIGHTS_COME_FROM = (
    "model 'cspn' has no weights: none are shipped with this package and the authors released "
    "none for KITTI. Train them with 'depth-completion train' (self-supervised on your own "
    "recording's LiDAR beams, or supervised on KITTI: docs/training.md) and pass the file with "
    "--checkpoint FILE (node: the 'checkpoint' parameter)")

#: config fields that change the weights' shapes (a checkpoint's stored config must agree)
ARCHITECTURE = ("backbone_depth", "width")


@dataclass(frozen=True)
class CSPNConfig:
    """Config of CSPN. The paper's encoder is a ResNet-50 "UNet"; the default here is the
    ResNet-34 encoder-decoder of the NLSPN family (no weights of either exist to match).

    Attributes:
        backbone_depth: ResNet depth of the encoder, 18 or 34. The small CPU variant:
            ``backbone_depth=18, width=16``.
        width: channels at full resolution, a positive multiple of 4.
        prop_time: propagation steps (24 in the paper).
        centre_from_initial: the authors' code's centre term (initial depth at every step)
            instead of the paper's (current depth).
        spread_scale: σ0 of the derived confidence ``support · exp(-spread / σ0)``, metres.

    Raises:
        ConfigError: a value out of range (naming the field).
    """

    backbone_depth: int = 34
    width: int = 64
    prop_time: int = 24
    centre_from_initial: bool = False
    spread_scale: float = 1.0

    def __post_init__(self) -> None:
        problems = backbone_problems(self.backbone_depth, self.width, self.prop_time)
        if not self.spread_scale > 0:
            problems.append(f"spread_scale must be > 0 (metres), got {self.spread_scale}")
        if problems:
            raise ConfigError("cspn config: " + "; ".join(problems))


def build_network(config: CSPNConfig):  # type: ignore[no-untyped-def]  # torch imported lazily
    """The network of ``config`` (random weights)."""
    from depth_completion_ros.networks.cspn import CSPNNet

    return CSPNNet(config.backbone_depth, config.width, prop_time=config.prop_time,
                   centre_from_initial=config.centre_from_initial,
                   spread_scale=config.spread_scale)


def factory(config: CSPNConfig, *, checkpoint: Path | None, device: Device | str = Device.AUTO,
            precision: Precision | str = Precision.FP32) -> DepthModel:
    """Registry factory: the network with its weights (format 2, strict), wrapped for inference.

    Raises:
        MissingWeightsError: no checkpoint (the message says where weights come from).
        CheckpointError: unreadable / refused file, another model, input spec or architecture,
            keys or shapes that differ.
    """
    from depth_completion_ros.engine.adapter import torch_model_factory

    build = torch_model_factory(SPEC, build_network, INPUT_SPEC, architecture=ARCHITECTURE,
                                missing_weights=WHERE_WEIGHTS_COME_FROM)
    return build(config, checkpoint=checkpoint, device=device, precision=precision)


NETWORK = LearnedNetwork(build_network, INPUT_SPEC,
                         variants={"small": {"backbone_depth": 18, "width": 16}, "full": {}})

register_model(SPEC, factory=factory, config_cls=CSPNConfig, network=NETWORK)
