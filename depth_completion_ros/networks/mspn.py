"""MSPN in the SDR framework (Jun, Lee, Kim, CVPR 2024): refine an initial depth D0 from any
estimator with the sparse measurements S, guided by the image.

The guidance network Θ(I, S, D0) is a U-Net in the shape the paper and the authors' code give:

- stem: image features from a 3x3 convolution, their high-frequency part as the difference of a
  3x3 and a 1x1 convolution of them, merged with features of S, then with features of D0
  (``conv1_rgb``, ``spatial_conv3x3`` / ``spatial_conv1x1``, ``conv1_dep``, ``conv1_rgb_dep``,
  ``conv1_dep_MD``, ``conv1``: the authors' names);
- encoder: five stride-2 stages of 3x3 convolution, channel LayerNorm, ReLU and a NAF block. The
  authors use a PVT transformer here (ImageNet-pretrained, not available offline); this plain
  convolutional encoder is this package's, to the same depth (1/32);
- decoder: per level a 3x3 transposed convolution, LayerNorm, ReLU and a NAF block, the encoder
  map of that level concatenated; the guidance head ``gd_dec1`` (3x3 conv, LN, ReLU) and
  ``gd_dec0`` (3x3 conv to L channels, nothing after) on the full-resolution stem features.

The propagation (:mod:`.propagation.mspn`, ``prop_layer.mspn`` / ``prop_layer.mspn_2nd``) refines
D0 with Θ's output; the confidence is the propagated mask of the second layer (the share of each
pixel's depth that came from measurements, in [0, 1]).

Example:
    >>> import torch
    >>> net = MSPNNet(width=8, embed_dim=4).eval()
    >>> with torch.no_grad():
    ...     out = net(torch.zeros(1, 3, 17, 21), torch.zeros(1, 1, 17, 21), torch.eye(3)[None],
    ...               initial=torch.full((1, 1, 17, 21), 10.0))
    >>> tuple(out.shape), round(float(out[0, 0].mean()), 3)
    ((1, 2, 17, 21), 10.0)
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from depth_completion_ros.networks.layers import concat_skip
from depth_completion_ros.networks.propagation.mspn import (
    MIN_FIRST_ITERATIONS,
    SECOND_ITERATIONS,
    WINDOW,
    LayerNorm2d,
    MaskedPropagation,
)


def conv_ln_relu(in_channels: int, out_channels: int, *, stride: int = 1, ln: bool = True,
                 relu: bool = True) -> nn.Sequential:
    """3x3 convolution (bias only without LayerNorm), channel LayerNorm, ReLU."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=not ln)]
    if ln:
        layers.append(LayerNorm2d(out_channels))
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def convt_ln_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 transposed convolution, stride 2 (exactly 2x), LayerNorm, ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 3, 2, 1, output_padding=1, bias=False),
        LayerNorm2d(out_channels), nn.ReLU(inplace=True))


class NAFBlock(nn.Module):
    """NAFNet's block (Chen, Chu, Zhang, Sun, ECCV 2022): LayerNorm, 1x1 expansion to 2C, 3x3
    depthwise convolution, simple gate (the two halves multiplied), simplified channel attention,
    1x1 projection, a learnt residual scale β; then LayerNorm, 1x1 to 2C, simple gate, 1x1 and a
    learnt scale γ. β and γ start at 0, so a new block is the identity.

    Shapes: (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.norm1 = LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, 2 * c, 1)
        self.conv2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c, 1))
        self.conv3 = nn.Conv2d(c, c, 1)
        self.norm2 = LayerNorm2d(c)
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.conv2(self.conv1(self.norm1(x))).chunk(2, dim=1)
        y = a * b
        y = self.conv3(y * self.sca(y))
        x = x + self.beta * y
        a, b = self.conv4(self.norm2(x)).chunk(2, dim=1)
        out: Tensor = x + self.gamma * self.conv5(a * b)
        return out


class MSPNGuidance(nn.Module):
    """Θ(I, S, D0) -> guidance (B, L, H, W); see the module docstring.

    Args:
        width: channels at full resolution (64 in the authors' network), a multiple of 4.
        embed_dim: guidance channels L (64 in the authors' KITTI config).
    """

    def __init__(self, width: int = 64, embed_dim: int = 64) -> None:
        super().__init__()
        rgb, dep = 3 * width // 4, width // 4
        self.conv1_rgb = conv_ln_relu(3, rgb, ln=False)
        self.spatial_conv3x3 = nn.Conv2d(rgb, rgb, 3, padding=1)
        self.spatial_conv1x1 = nn.Conv2d(rgb, rgb, 1)
        self.conv1_dep = conv_ln_relu(1, dep, ln=False)
        self.conv1_rgb_dep = conv_ln_relu(rgb + dep, width, ln=False)
        self.conv1_dep_MD = conv_ln_relu(1, dep, ln=False)
        self.conv1 = conv_ln_relu(width + dep, width, ln=False)
        channels = [width, 2 * width, 2 * width, 4 * width, 4 * width, 8 * width]
        self.encoder = nn.ModuleList(
            nn.Sequential(conv_ln_relu(channels[i], channels[i + 1], stride=2),
                          NAFBlock(channels[i + 1])) for i in range(5))
        # decoder level i upsamples to the size of encoder level i (0 = full resolution)
        self.decoder = nn.ModuleList()
        out = channels[5]
        for i in range(4, -1, -1):
            skip = channels[i]
            up = max(channels[i], width)
            self.decoder.append(nn.Sequential(convt_ln_relu(out, up),
                                              NAFBlock(up)))
            out = up + skip
        self.gd_dec1 = conv_ln_relu(out, width)
        self.gd_dec0 = conv_ln_relu(width + width, embed_dim, ln=False, relu=False)

    def forward(self, rgb: Tensor, sparse: Tensor, initial: Tensor) -> Tensor:
        f_rgb = self.conv1_rgb(rgb)
        f_rgb = self.spatial_conv3x3(f_rgb) - self.spatial_conv1x1(f_rgb)
        f_rgb_dep = self.conv1_rgb_dep(torch.cat((f_rgb, self.conv1_dep(sparse)), dim=1))
        fe = self.conv1(torch.cat((f_rgb_dep, self.conv1_dep_MD(initial)), dim=1))
        skips = [fe]
        for stage in self.encoder:
            skips.append(stage(skips[-1]))
        x = skips[5]
        for up, skip in zip(self.decoder, reversed(skips[:5])):
            x = concat_skip(up(x), skip)
        guidance: Tensor = self.gd_dec0(concat_skip(self.gd_dec1(x), f_rgb_dep))
        return guidance


class MSPNOutputs(NamedTuple):
    """One forward pass, (B, 1, H, W) each unless said.

    Attributes:
        depth: refined depth, >= 0 (network units).
        mask: the second layer's propagated mask, [0, 1]: the confidence.
        stage1: depth after the first layer.
        guidance: (B, L, H, W).
        iterations: (N1, N2).
    """

    depth: Tensor
    mask: Tensor
    stage1: Tensor
    guidance: Tensor
    iterations: tuple[int, int]


class MSPNNet(nn.Module):
    """MSPN (SDR): guidance network ``backbone`` and propagation ``prop_layer``.

    Args:
        width: guidance network channels at full resolution.
        embed_dim: guidance channels L.
        min_iterations: lower bound of N1 (6).
        second_iterations: N2 (6).
        max_iterations: upper bound of N1 (None = none).
        paper_blend: the paper's Eq. 6 / 10 instead of the authors' KITTI path.
        rpb_sigma, guidance_init_scale: init of the propagation
            (:class:`.propagation.mspn.MSPNLayer`).
    """

    def __init__(self, width: int = 64, embed_dim: int = 64, *,
                 min_iterations: int = MIN_FIRST_ITERATIONS,
                 second_iterations: int = SECOND_ITERATIONS, max_iterations: int | None = None,
                 paper_blend: bool = False, rpb_sigma: float = 0.0,
                 guidance_init_scale: float = 0.01) -> None:
        super().__init__()
        self.backbone = MSPNGuidance(width, embed_dim)
        self.prop_layer = MaskedPropagation(embed_dim, WINDOW, min_iterations=min_iterations,
                                            second_iterations=second_iterations,
                                            max_iterations=max_iterations,
                                            paper_blend=paper_blend, rpb_sigma=rpb_sigma,
                                            guidance_init_scale=guidance_init_scale)

    def outputs(self, rgb: Tensor, sparse: Tensor, initial: Tensor) -> MSPNOutputs:
        """Refined depth, confidence and intermediates.

        Args:
            rgb: (B, 3, H, W) normalised image.
            sparse: (B, 1, H, W) measurements (network units, 0 = none).
            initial: (B, 1, H, W) D0 (network units), finite everywhere.
        """
        guidance = self.backbone(rgb, sparse, initial)
        samples = (sparse > 0).flatten(1).sum(1)
        result = self.prop_layer(guidance, initial, sparse, samples)
        return MSPNOutputs(result.depth, result.mask2, result.stage1, guidance,
                           result.iterations)

    def forward(self, rgb: Tensor, sparse: Tensor, K: Tensor, initial: Tensor) -> Tensor:
        """The engine's network contract: (B, 2, H, W) depth and confidence.

        ``K`` is unused; ``initial`` is D0 (the Preprocessor's ``initial``). The number of
        samples of N1 is the count of measurements in the input (the KITTI crop at inference:
        the authors' count of the 352-row frame).
        """
        out = self.outputs(rgb, sparse, initial)
        return torch.cat((out.depth, out.mask), dim=1)
