"""Depth-only completion [``depth_only``] in the registry: LiDAR in, dense depth out, no camera
image at inference.

The network is :class:`~depth_completion_ros.networks.depth_only.DepthOnlyNet` (Lu, Barnes,
Anwar, Zheng, CVPR 2020; model card in models/README.md). Its spec requires sparse depth only,
so the node, ``predict`` and ``evaluate`` run it on frames without an image (the pipeline takes
``rgb=None``) and the adapter never hands it one. The grey-scale image head exists only for
training (:func:`build_training_network`); the network built here for inference has no
parameters of it, and a checkpoint of it must not hold them (strict loading refuses them).
No weights are shipped: a checkpoint in this package's format 2 comes from
``depth-completion train``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.models.base import DepthModel, ModelInput, ModelSpec
from depth_completion_ros.models.registry import LearnedNetwork, register_model
from depth_completion_ros.models.weights import InputSpec

SPEC = ModelSpec(
    "depth_only", required=(ModelInput.SPARSE_DEPTH,),
    description="depth-only completion, LiDAR in, no camera image (learned; needs --checkpoint "
                "from 'depth-completion train'; image reconstruction only in training)",
    paper="Lu, Barnes, Anwar, Zheng: From Depth What Can You See? Depth Completion via "
          "Auxiliary Image Reconstruction, CVPR 2020")

#: bottom-centre 1216x352 KITTI crop, depth in metres, any size (the decoder crops to its
#: encoder's maps); the image is never an input, and for the training-only grey-scale target it
#: is rgb / 255 without mean / std (``grey_target`` of the training loss)
INPUT_SPEC = InputSpec(crop=KITTI_CROP, stride=1, rgb_mean=(0.0, 0.0, 0.0),
                       rgb_std=(1.0, 1.0, 1.0), depth_scale=1.0)

WHERE_WEIGHTS_COME_FROM = (
    "model 'depth_only' has no weights: none are shipped with this package. Train them with "
    "'depth-completion train' (self-supervised on your own recording's LiDAR beams, or "
    "supervised on KITTI: docs/training.md) and pass the file with --checkpoint FILE (node: "
    "the 'checkpoint' parameter)")

#: config fields that change the weights' shapes
ARCHITECTURE = ("width",)


@dataclass(frozen=True)
class DepthOnlyConfig:
    """Config of the depth-only network.

    Attributes:
        width: channels at full resolution, a positive multiple of 4 (encoder ``width x (1, 2,
            4, 8, 8)`` at 1 ... 1/16). The small CPU variant: ``width=16``.

    Raises:
        ConfigError: a value out of range (naming the field).
    """

    width: int = 32

    def __post_init__(self) -> None:
        if self.width < 4 or self.width % 4:
            raise ConfigError(f"depth_only config: width must be a positive multiple of 4, "
                              f"got {self.width}")


def build_network(config: DepthOnlyConfig):  # type: ignore[no-untyped-def]  # lazy torch
    """The inference network of ``config`` (random weights, no image head)."""
    from depth_completion_ros.networks.depth_only import DepthOnlyNet

    return DepthOnlyNet(config.width)


def build_training_network(config: DepthOnlyConfig):  # type: ignore[no-untyped-def]
    """The training network of ``config``: :func:`build_network`'s plus the grey-scale image
    head (``image_head.*``), which an exported checkpoint leaves out."""
    from depth_completion_ros.networks.depth_only import DepthOnlyNet

    return DepthOnlyNet(config.width, with_image_head=True)


def factory(config: DepthOnlyConfig, *, checkpoint: Path | None,
            device: Device | str = Device.AUTO,
            precision: Precision | str = Precision.FP32) -> DepthModel:
    """Registry factory: the inference network with its weights (format 2, strict), wrapped.

    Raises:
        MissingWeightsError: no checkpoint (the message says where weights come from).
        CheckpointError: unreadable / refused file, another model, input spec or architecture,
            keys or shapes that differ (an image head included).
    """
    from depth_completion_ros.engine.adapter import torch_model_factory

    build = torch_model_factory(SPEC, build_network, INPUT_SPEC, architecture=ARCHITECTURE,
                                missing_weights=WHERE_WEIGHTS_COME_FROM)
    return build(config, checkpoint=checkpoint, device=device, precision=precision)


def deployable_network(module):  # type: ignore[no-untyped-def]  # lazy torch
    """The trained network without its image head (``DepthOnlyNet.inference_copy``): what a
    checkpoint exports."""
    return module.inference_copy()


NETWORK = LearnedNetwork(build_network, INPUT_SPEC, variants={"small": {"width": 16}, "full": {}},
                         build_training=build_training_network, deployable=deployable_network)

register_model(SPEC, factory=factory, config_cls=DepthOnlyConfig, network=NETWORK)
