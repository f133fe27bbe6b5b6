"""CSPN, the network (Cheng, Wang, Yang, "Depth Estimation via Affinity Learned with
Convolutional Spatial Propagation Network", ECCV 2018), on the shared ResNet encoder-decoder.

``rgb`` (ImageNet-normalised) and ``sparse`` (metres, 0 = none) go through the ResNet
encoder-decoder with mirror connections (:mod:`.backbones.resnet_encdec`; the paper's
"UNet" on a ResNet); two heads read its features: the initial depth (``id_dec1`` /
``id_dec0``) and the 8 gates of the propagation (``gd_dec1`` / ``gd_dec0``); the propagation
(``prop_layer``, :mod:`.propagation.cspn`, no parameters) refines the initial depth for
``prop_time`` steps, re-imposing the measurements after each, and the result is clamped at 0.
The confidence is derived from the propagation (support and spread; see
:mod:`.propagation.cspn`): CSPN has no confidence head.

The authors released no KITTI weights (their repository holds NYU models of a ResNet-50
encoder), so the module names follow this package's other networks.

Example:
    >>> import torch
    >>> net = CSPNNet(depth=18, width=8, prop_time=2).eval()
    >>> out = net(torch.zeros(1, 3, 9, 13), torch.zeros(1, 1, 9, 13), torch.eye(3)[None])
    >>> tuple(out.shape), out.dtype
    ((1, 2, 9, 13), torch.float32)
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from depth_completion_ros.networks.backbones.resnet_encdec import ResNetEncoderDecoder
from depth_completion_ros.networks.heads import (
    guidance_head,
    head_input,
    initial_depth_head,
    run_head,
)
from depth_completion_ros.networks.propagation.cspn import (
    DIRECTIONS,
    CSPNPropagation,
    derived_confidence,
)


class CSPNOutputs(NamedTuple):
    """One forward pass, all (B, C, H, W) at the input size.

    Attributes:
        depth: (B, 1, H, W) float32 refined depth, >= 0 (network units: metres for KITTI).
        initial: (B, 1, H, W) initial depth, before propagation.
        gates: (B, 8, H, W) raw gates of the propagation.
        support: (B, 1, H, W) share of the depth that came from measurements, [0, 1].
        spread: (B, 1, H, W) disagreement of the last step's neighbours (network units).
        confidence: (B, 1, H, W) derived confidence in [0, 1].
    """

    depth: Tensor
    initial: Tensor
    gates: Tensor
    support: Tensor
    spread: Tensor
    confidence: Tensor


class CSPNNet(ResNetEncoderDecoder):
    """CSPN; see the module docstring.

    Args:
        depth: ResNet depth of the encoder, 18 or 34.
        width: channels at full resolution, a multiple of 4 (64 for ResNet-34).
        prop_time: propagation steps (24 in the paper).
        centre_from_initial: the authors' code's centre term (:mod:`.propagation.cspn`).
        spread_scale: σ0 of the derived confidence, network units (metres for KITTI).

    Raises:
        ValueError: an unsupported depth or width, negative steps or a scale <= 0.
    """

    def __init__(self, depth: int = 34, width: int = 64, *, prop_time: int = 24,
                 centre_from_initial: bool = False, spread_scale: float = 1.0) -> None:
        super().__init__(depth, width)
        if not spread_scale > 0:
            raise ValueError(f"spread_scale must be > 0, got {spread_scale}")
        self.spread_scale = spread_scale
        self.id_dec1, self.id_dec0 = initial_depth_head(width)
        self.gd_dec1, self.gd_dec0 = guidance_head(width, len(DIRECTIONS))
        self.prop_layer = CSPNPropagation(prop_time, centre_from_initial=centre_from_initial)

    def outputs(self, rgb: Tensor, sparse: Tensor) -> CSPNOutputs:
        """Refined and initial depth, gates, and the derived confidence with its parts.

        Args:
            rgb: (B, 3, H, W) normalised image.
            sparse: (B, 1, H, W) sparse depth (network units, 0 = none).
        """
        features = self.features(rgb, sparse)
        joined, fe1 = head_input(features), features.fe1
        initial = run_head(self.id_dec1, self.id_dec0, joined, fe1)
        gates = run_head(self.gd_dec1, self.gd_dec0, joined, fe1)
        result = self.prop_layer(initial, gates, sparse)
        confidence = derived_confidence(result, self.spread_scale)
        return CSPNOutputs(result.depth.clamp(min=0.0), initial, gates, result.support,
                           result.spread, confidence)

    def forward(self, rgb: Tensor, sparse: Tensor, K: Tensor) -> Tensor:
        """The engine's network contract: (B, 2, H, W) float32 depth and confidence.

        Args:
            rgb: (B, 3, H, W) normalised image.
            sparse: (B, 1, H, W) sparse depth (network units, 0 = none).
            K: (B, 3, 3) intrinsics of the input (unused).
        """
        out = self.outputs(rgb, sparse)
        return torch.cat((out.depth, out.confidence), dim=1)
