"""NLSPN, the network (Park et al., "Non-Local Spatial Propagation Network for Depth Completion",
ECCV 2020): encoder-decoder, three heads, non-local propagation.

``rgb`` (ImageNet-normalised) and ``sparse`` (metres, 0 = none) go through the ResNet
encoder-decoder (:mod:`.backbones.resnet_encdec`); three heads read its features: the initial
depth (``id_dec1`` / ``id_dec0``), the guidance (``gd_dec1`` / ``gd_dec0``, N = k² - 1 channels)
and the confidence (``cf_dec1`` / ``cf_dec0``, sigmoid); the propagation layer (``prop_layer``,
:mod:`.propagation.nlspn`) refines the initial depth for ``prop_time`` steps and the result is
clamped at 0. Module names and shapes are those of the authors' released checkpoint
(``NLSPN_KITTI_DC.pt``, ``{'net': state_dict}``), so it loads strictly without renaming.

Example:
    >>> import torch
    >>> net = NLSPNNet(depth=18, width=8, prop_time=2).eval()
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
    confidence_head,
    guidance_head,
    head_input,
    initial_depth_head,
    run_head,
)
from depth_completion_ros.networks.propagation.nlspn import NLSPNPropagation


class NLSPNOutputs(NamedTuple):
    """One forward pass, all (B, C, H, W) at the input size.

    Attributes:
        depth: (B, 1, H, W) float32 refined depth, >= 0 (network units: metres for KITTI).
        initial: (B, 1, H, W) initial depth, before propagation.
        confidence: (B, 1, H, W) in (0, 1), of the initial depth.
        guidance: (B, N, H, W) guidance of the propagation.
    """

    depth: Tensor
    initial: Tensor
    confidence: Tensor
    guidance: Tensor


class NLSPNNet(ResNetEncoderDecoder):
    """NLSPN; see the module docstring.

    Args:
        depth: ResNet depth of the encoder, 18 or 34 (34 in the paper).
        width: channels at full resolution, a multiple of 4 (64 in the paper).
        prop_time: propagation steps (18).
        prop_kernel: propagation window k, odd (3): N = k² - 1 neighbours.
        affinity_gamma: initial γ / N (0.5).
        preserve_input: reset measured pixels before every step (the authors' test setting).
        legacy_offsets: the authors' released weights' offset behaviour
            (:mod:`.propagation.nlspn`).

    Raises:
        ValueError: an unsupported depth, width or kernel.
    """

    def __init__(self, depth: int = 34, width: int = 64, *, prop_time: int = 18,
                 prop_kernel: int = 3, affinity_gamma: float = 0.5, preserve_input: bool = True,
                 legacy_offsets: bool = False) -> None:
        super().__init__(depth, width)
        neighbours = prop_kernel * prop_kernel - 1
        self.id_dec1, self.id_dec0 = initial_depth_head(width)
        self.gd_dec1, self.gd_dec0 = guidance_head(width, neighbours)
        self.cf_dec1, self.cf_dec0 = confidence_head(width)
        self.prop_layer = NLSPNPropagation(
            neighbours, prop_kernel, prop_time=prop_time, affinity_gamma=affinity_gamma,
            preserve_input=preserve_input, legacy_offsets=legacy_offsets)

    def outputs(self, rgb: Tensor, sparse: Tensor) -> NLSPNOutputs:
        """Refined and initial depth, confidence and guidance.

        Args:
            rgb: (B, 3, H, W) normalised image.
            sparse: (B, 1, H, W) sparse depth (network units, 0 = none).
        """
        features = self.features(rgb, sparse)
        joined, fe1 = head_input(features), features.fe1
        initial = run_head(self.id_dec1, self.id_dec0, joined, fe1)
        guidance = run_head(self.gd_dec1, self.gd_dec0, joined, fe1)
        confidence = run_head(self.cf_dec1, self.cf_dec0, joined, fe1)
        depth = self.prop_layer(initial, guidance, confidence, sparse)
        return NLSPNOutputs(depth.clamp(min=0.0), initial, confidence, guidance)

    def forward(self, rgb: Tensor, sparse: Tensor, K: Tensor) -> Tensor:
        """The engine's network contract: (B, 2, H, W) float32 depth and confidence.

        Args:
            rgb: (B, 3, H, W) normalised image.
            sparse: (B, 1, H, W) sparse depth (network units, 0 = none).
            K: (B, 3, 3) intrinsics of the input (unused: NLSPN does not need them).
        """
        out = self.outputs(rgb, sparse)
        return torch.cat((out.depth, out.confidence.float()), dim=1)
