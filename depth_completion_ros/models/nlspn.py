"""NLSPN [``nlspn``] in the registry: config, input spec, weights loading, registration.

The network is :class:`~depth_completion_ros.networks.nlspn.NLSPNNet` (Park et al., ECCV 2020;
model card in models/README.md); loading its weights is
:mod:`~depth_completion_ros.models.nlspn_loading` (imported when a model is built, so listing
models does not import torch). No weights are shipped: ``get_model("nlspn")`` needs a
checkpoint, either

* the authors' released ``NLSPN_KITTI_DC.pt`` (``{'net': state_dict, ...}``, recognised by
  :func:`~depth_completion_ros.models.authors_checkpoint.authors_state_dict`, loaded
  weights-only and strictly, logged by name): legacy offsets on unless the config says
  otherwise, the authors' preprocessing (:data:`INPUT_SPEC`); or
* this package's format 2 (:mod:`~depth_completion_ros.models.checkpoint`), whose stored input
  spec must equal :data:`INPUT_SPEC`; legacy offsets as the config says, else as the
  checkpoint's stored config says, else off.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import ConfigError, MissingWeightsError
from depth_completion_ros.models.base import DepthModel, ModelInput, ModelSpec
from depth_completion_ros.models.learned import KITTI_IMAGENET_INPUT, backbone_problems
from depth_completion_ros.models.registry import LearnedNetwork, register_model

SPEC = ModelSpec(
    "nlspn", required=(ModelInput.RGB, ModelInput.SPARSE_DEPTH),
    description="NLSPN non-local spatial propagation (learned; needs --checkpoint, e.g. the "
                "authors' NLSPN_KITTI_DC.pt)",
    paper="Park, Joo, Hu, Liu, Kweon: Non-Local Spatial Propagation Network for Depth "
          "Completion, ECCV 2020")

#: The authors' KITTI preprocessing: bottom-centre 1216x352, RGB / 255 then ImageNet mean / std,
#: depth in metres, no padding (the network crops its decoder maps to any size).
INPUT_SPEC = KITTI_IMAGENET_INPUT

WHERE_WEIGHTS_COME_FROM = (
    "model 'nlspn' has no weights: none are shipped with this package. Pass the authors' "
    "NLSPN_KITTI_DC.pt (github.com/zzangjinsun/NLSPN_ECCV20, 'Pre-trained Models and "
    "Results') with --checkpoint FILE (node: the 'checkpoint' parameter), or weights trained "
    "with 'depth-completion train' (docs/training.md)")

@dataclass(frozen=True)
class NLSPNConfig:
    """Config of NLSPN (paper values as defaults).

    Attributes:
        backbone_depth: ResNet depth of the encoder, 18 or 34. The small CPU variant:
            ``backbone_depth=18, width=16`` (weights of its own; models/README.md).
        width: channels at full resolution, a positive multiple of 4.
        prop_time: propagation steps.
        prop_kernel: propagation window (odd, >= 3): prop_kernel² - 1 neighbours.
        affinity_gamma: initial γ / neighbours of the affinity normalisation.
        preserve_input: reset measured pixels before every propagation step.
        legacy_offsets: the authors' released weights' offset behaviour; None = by checkpoint
            (on for a checkpoint in the authors' format).

    Raises:
        ConfigError: a value out of range (naming the field).
    """

    backbone_depth: int = 34
    width: int = 64
    prop_time: int = 18
    prop_kernel: int = 3
    affinity_gamma: float = 0.5
    preserve_input: bool = True
    legacy_offsets: bool | None = None

    def __post_init__(self) -> None:
        problems = backbone_problems(self.backbone_depth, self.width, self.prop_time)
        if self.prop_kernel < 3 or self.prop_kernel % 2 == 0:
            problems.append(f"prop_kernel must be odd and >= 3, got {self.prop_kernel}")
        if not self.affinity_gamma > 0:
            problems.append(f"affinity_gamma must be > 0, got {self.affinity_gamma}")
        if not (self.legacy_offsets is None or isinstance(self.legacy_offsets, bool)):
            problems.append(f"legacy_offsets must be true, false or null, got "
                            f"{self.legacy_offsets!r}")
        if problems:
            raise ConfigError("nlspn config: " + "; ".join(problems))


def factory(config: NLSPNConfig, *, checkpoint: Path | None, device: Device | str = Device.AUTO,
            precision: Precision | str = Precision.FP32) -> DepthModel:
    """Registry factory: the network with its weights, wrapped for inference.

    Raises:
        MissingWeightsError: no checkpoint (the message says where weights come from).
        CheckpointError: see :func:`~depth_completion_ros.models.nlspn_loading.load_network`.
    """
    if checkpoint is None:
        raise MissingWeightsError(WHERE_WEIGHTS_COME_FROM)
    from depth_completion_ros.engine.adapter import TorchModelAdapter
    from depth_completion_ros.models.nlspn_loading import load_network

    net, note = load_network(config, checkpoint)
    model = TorchModelAdapter(SPEC, net, INPUT_SPEC, device=device, precision=precision)
    if note is not None:
        model.engine.notes.append(note)
    return model


def build_network(config: NLSPNConfig):  # type: ignore[no-untyped-def]  # torch imported lazily
    """The network of ``config`` with random weights (legacy offsets only if the config says
    so)."""
    from depth_completion_ros.models import nlspn_loading

    return nlspn_loading.build_network(config, legacy_offsets=config.legacy_offsets is True)


NETWORK = LearnedNetwork(build_network, INPUT_SPEC,
                         variants={"small": {"backbone_depth": 18, "width": 16}, "full": {}})

register_model(SPEC, factory=factory, config_cls=NLSPNConfig, network=NETWORK)
