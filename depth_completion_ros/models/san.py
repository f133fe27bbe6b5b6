"""SAN [``san``] in the registry: one network for RGB-only prediction and RGB + LiDAR
completion (Guizilini, Ambrus, Burgard, Gaidon, CVPR 2021; model card in models/README.md).

The spec requires an RGB image and takes sparse depth when given: with it the network completes
(the sparse auxiliary encoder's features added into its skips), without it (a LiDAR dropout, a
camera-only rig) the same weights predict from the image alone. Two RGB networks
(``backbone``):

- ``resnet`` (:class:`~depth_completion_ros.networks.san.resnet.SANResNet`): the small CPU
  variant of this package, with an uncertainty head for the confidence;
- ``packnet01`` (:mod:`~depth_completion_ros.networks.san.packnet`): the paper's PackNet, the
  network of the authors' released checkpoint.

Input: the bottom-centre 1216x352 KITTI crop, RGB in [0, 1] without mean / std (the authors'
convention), depth in metres, padded to a multiple of 32 (both networks downsample five times).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from depth_completion_ros.devices import Device, Precision
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.models.base import DepthModel, ModelInput, ModelSpec
from depth_completion_ros.models.registry import LearnedNetwork, register_model
from depth_completion_ros.models.weights import InputSpec, WeightsSpec

SPEC = ModelSpec(
    "san", required=(ModelInput.RGB,), optional=(ModelInput.SPARSE_DEPTH,),
    description="SAN sparse auxiliary networks: RGB-only prediction, or completion when LiDAR "
                "is given, same weights (learned; confidence from an uncertainty head)",
    paper="Guizilini, Ambrus, Burgard, Gaidon: Sparse Auxiliary Networks for Unified Monocular "
          "Depth Prediction and Completion, CVPR 2021")

#: bottom-centre 1216x352 crop, RGB / 255 with no mean / std, metres, stride 32
INPUT_SPEC = InputSpec(crop=KITTI_CROP, stride=32, rgb_mean=(0.0, 0.0, 0.0),
                       rgb_std=(1.0, 1.0, 1.0), depth_scale=1.0)

WHERE_WEIGHTS_COME_FROM = (
    "model 'san' has no weights for this config: train them with 'depth-completion train' "
    "(config/train/san_small_selfsup.yaml: self-supervised on your own recording's LiDAR, no "
    "ground truth needed) or pass the authors' released PackNetSAN01 checkpoint, with "
    "--checkpoint FILE (node: the 'checkpoint' parameter)")

#: RGB networks SAN stands on
BACKBONES = ("resnet", "packnet01")

#: config fields that change the weights' shapes
ARCHITECTURE = ("backbone", "width", "ray_inputs")


@dataclass(frozen=True)
class SANConfig:
    """Config of SAN.

    Attributes:
        backbone: ``resnet`` (small, CPU-trainable) or ``packnet01`` (the paper's / authors').
        width: channels at full resolution of the ``resnet`` backbone (>= 4).
        ray_inputs: the ``resnet`` backbone also sees each pixel's normalised ray (from K).
        dropout: dropout on PackNet's residual shortcuts (training only; the authors' config).

    Raises:
        ConfigError: a value out of range (naming the field).
    """

    backbone: str = "resnet"
    width: int = 16
    ray_inputs: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.backbone not in BACKBONES:
            problems.append(f"backbone must be one of {list(BACKBONES)}, got {self.backbone!r}")
        if self.width < 4:
            problems.append(f"width must be >= 4, got {self.width}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if problems:
            raise ConfigError("san config: " + "; ".join(problems))


def build_network(config: SANConfig):  # type: ignore[no-untyped-def]  # torch imported lazily
    """The network of ``config`` (random weights)."""
    if config.backbone == "packnet01":
        from depth_completion_ros.networks.san.packnet import PackNetSAN01Net

        return PackNetSAN01Net(dropout=config.dropout)
    from depth_completion_ros.networks.san.resnet import SANResNet

    return SANResNet(config.width, ray_inputs=config.ray_inputs)


def factory(config: SANConfig, *, checkpoint: Path | None, device: Device | str = Device.AUTO,
            precision: Precision | str = Precision.FP32) -> DepthModel:
    """Registry factory: the network with its weights (strict), wrapped for inference.

    A checkpoint in the authors' layout (their ``PackNetSAN01_HR_sup_K.ckpt``) builds their
    network, ``packnet01``, whatever the config's backbone
    (:mod:`~depth_completion_ros.models.san_loading`; noted in ``engine.notes``); any other file
    must be this package's format 2.

    Raises:
        MissingWeightsError: no checkpoint (the message says where weights come from).
        CheckpointError: unreadable / refused file, another model, input spec or architecture,
            keys or shapes that differ.
    """
    from depth_completion_ros.engine.adapter import torch_model_factory

    if checkpoint is not None:
        from depth_completion_ros.models.san_loading import authors_model

        authors = authors_model(checkpoint, device=device, precision=precision)
        if authors is not None:
            return authors
    build = torch_model_factory(SPEC, build_network, INPUT_SPEC, architecture=ARCHITECTURE,
                                missing_weights=WHERE_WEIGHTS_COME_FROM)
    return build(config, checkpoint=checkpoint, device=device, precision=precision)


#: The shipped weights (model card: models/README.md), stored as float16 (tools/half_weights.py);
#: the first is the default, v2 (the focal zoom) stays for comparison and as an ``init``.
#: Scores: seq16 (16 frames of another drive, never trained on), mm; ``prediction`` = RGB only,
#: scored on every ring; ``prior`` = the per-pixel median-depth prior of the training frames.
_TRAINING_DATA = ("KITTI raw 2011_09_26_drive_0009 (51 frames) and 3 full-scan KITTI object frames "
                  "(testing_000000-000002), self-supervised on LiDAR beams (no ground truth); "
                  "selected on 3 other object frames")
_LICENSE = "CC BY-NC-SA 3.0 (from KITTI, Geiger et al. 2013)"
_SMALL_CONFIG = {"backbone": "resnet", "width": 16, "ray_inputs": True}
WEIGHTS = (
    WeightsSpec(
        name="kitti_selfsup_small_v3", file="san_small_kitti_selfsup_v3.pt",
        sha256="d9753eef51eab0aaac3b04a34eb38b345ff5336ee3da7a373da5d4d7c26d4afd",
        input_spec=INPUT_SPEC,
        training_data=_TRAINING_DATA,
        recipe="depth-completion train --config config/train/san_small_approach.yaml, then "
               "tools/half_weights.py on its last.pt (step 1500; model card: how it was chosen)",
        scores={"seq16_prediction_rmse_mm": 10288.4, "seq16_prediction_mae_mm": 7101.1,
                "seq16_prior_rmse_mm": 13912.8, "seq16_prior_mae_mm": 7915.5,
                "seq16_rmse_mm_32": 6544.3, "seq16_mae_mm_32": 4474.0,
                "seq16_rmse_mm_16": 7030.3, "seq16_mae_mm_16": 4789.8,
                "seq16_rmse_mm_8": 9335.3, "seq16_mae_mm_8": 6399.1,
                "seq16_rmse_mm_4": 11225.4, "seq16_mae_mm_4": 7241.2},
        license=_LICENSE, config=_SMALL_CONFIG),
    WeightsSpec(
        name="kitti_selfsup_small_v2", file="san_small_kitti_selfsup_v2.pt",
        sha256="6f3a4f833e89f7838215f8c50fd2de8c8add02fd25004de6b80d71ef38fa005c",
        input_spec=INPUT_SPEC,
        training_data=_TRAINING_DATA,
        recipe="depth-completion train --config config/train/san_small_zoom.yaml, then "
               "tools/half_weights.py on its best.pt (step 1450)",
        scores={"seq16_prediction_rmse_mm": 10921.4, "seq16_prediction_mae_mm": 7449.8,
                "seq16_prior_rmse_mm": 13912.8, "seq16_prior_mae_mm": 7915.5,
                "seq16_rmse_mm_32": 8537.0, "seq16_mae_mm_32": 5942.0,
                "seq16_rmse_mm_16": 9902.6, "seq16_mae_mm_16": 6677.6,
                "seq16_rmse_mm_8": 11281.6, "seq16_mae_mm_8": 7623.5,
                "seq16_rmse_mm_4": 11751.0, "seq16_mae_mm_4": 7638.6},
        license=_LICENSE, config=_SMALL_CONFIG),
)

NETWORK = LearnedNetwork(build_network, INPUT_SPEC,
                         variants={"small": {"backbone": "resnet", "width": 16},
                                   "full": {"backbone": "packnet01", "dropout": 0.5}})

register_model(SPEC, factory=factory, config_cls=SANConfig, weights=WEIGHTS, network=NETWORK)
