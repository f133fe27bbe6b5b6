"""SAN with a small ResNet RGB network: the CPU-sized variant of this package.

The paper's RGB network is PackNet (:mod:`.packnet`); its 3D packing convolutions are too slow to
train on a 2-core CPU, so this variant keeps SAN's structure around a ResNet encoder-decoder:

=============  ===============================================  ==========  ============
module         layer                                             resolution  channels
=============  ===============================================  ==========  ============
``stem``       3x3 conv + BN + ReLU of RGB (+ 2 ray channels)    1/1         w
``stage1``     ResNet stage (2 basic blocks), stride 2           1/2         w
``stage2``     the same                                          1/4         2w
``stage3``     the same                                          1/8         4w
``stage4``     the same                                          1/16        8w
``stage5``     the same                                          1/32        8w
``mconvs``     SAN's sparse encoder (:mod:`.sparse`)              1/2 ...     w ... 8w
                                                                  1/32
``up{i}``      x2 bilinear, 3x3 conv + BN + ReLU, concatenate     1/16 ...    8w ... w
               the skip, 3x3 conv + BN + ReLU                     1/1
``depth_head``  3x3 conv, sigmoid / 0.5 = inverse depth           1/1         1
``unc_head``    3x3 conv, softplus = relative Laplace scale b      1/1         1
=============  ===============================================  ==========  ============

- **Sparse auxiliary fusion** (the paper's): in completion mode the skips at 1/2 ... 1/16 and the
  1/32 bottleneck become ``w_i · skip_i + b_i + sparse_i`` (``weight [5]``, ``bias [5]``, the
  authors' names); in prediction mode (a sample with no measurement at all) they stay as they
  are, so the same weights predict from RGB alone and the sparse branch cannot change that
  output. Per sample: a batch may mix both modes.
- **Ray channels** (a departure from the paper, optional, on by default): the normalised image
  coordinates ``((u - cx) / fx, (v - cy) / fy)`` of every pixel, from K, join the RGB. Crops of
  any position and other cameras then tell the network where each pixel looks, which a
  monocular network needs to learn the ground's geometry from few frames.
- **Output** like the authors' ``InvDepth`` (inverse depth = sigmoid / 0.5, depth >= 0.5 m).
- **Confidence** from an uncertainty head: a relative Laplace scale ``b = softplus(u) + 1e-3``
  (expected |error| / depth), confidence ``exp(-b d / 10 m)``, i.e. of the expected absolute
  error ``b d``; trained by a Laplace likelihood of the relative error
  (:mod:`~depth_completion_ros.networks.losses.laplace`, which recovers ``b``).

Example:
    >>> import torch
    >>> net = SANResNet(width=8).eval()
    >>> K = torch.tensor([[[100.0, 0, 48], [0, 100, 16], [0, 0, 1]]])
    >>> out = net(torch.rand(1, 3, 32, 96), torch.zeros(1, 1, 32, 96), K)
    >>> tuple(out.shape), bool((out[:, 0] >= 0.5).all()), bool((out[:, 1] <= 1).all())
    ((1, 2, 32, 96), True, True)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from depth_completion_ros.networks.backbones.resnet import resnet_stage
from depth_completion_ros.networks.layers import crop_like
from depth_completion_ros.networks.losses.laplace import REFERENCE_M
from depth_completion_ros.networks.san.fusion import (
    MIN_DEPTH,
    fuse_skips,
    has_measurements,
    inverse_to_depth,
)
from depth_completion_ros.networks.san.sparse import SparseEncoder

#: floor of the relative Laplace scale (keeps exp(-b) below 1 and the likelihood finite)
MIN_SCALE = 1e-3


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution (no bias), batch norm, ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def ray_channels(K: Tensor, height: int, width: int) -> Tensor:
    """(B, 2, H, W): ``(u - cx) / fx`` and ``(v - cy) / fy`` of every pixel (u = column,
    v = row) for intrinsics K (B, 3, 3).

    Example:
        >>> K = torch.tensor([[[4.0, 0, 1], [0, 8, 0], [0, 0, 1]]])
        >>> ray_channels(K, 2, 3)[0].tolist()
        [[[-0.25, 0.0, 0.25], [-0.25, 0.0, 0.25]], [[0.0, 0.0, 0.0], [0.125, 0.125, 0.125]]]
    """
    K = K.to(torch.float32)
    u = torch.arange(width, dtype=torch.float32, device=K.device)
    v = torch.arange(height, dtype=torch.float32, device=K.device)
    x = (u[None, :] - K[:, 0, 2, None]) / K[:, 0, 0, None]          # (B, W)
    y = (v[None, :] - K[:, 1, 2, None]) / K[:, 1, 1, None]          # (B, H)
    return torch.stack((x[:, None, :].expand(-1, height, -1),
                        y[:, :, None].expand(-1, -1, width)), dim=1)


class UpBlock(nn.Module):
    """x2 bilinear upsampling, conv to ``out`` channels, concatenation with the skip, conv."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(in_channels, out_channels)
        self.fuse = conv_bn_relu(out_channels + skip_channels, out_channels)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        """(B, in, h, w), (B, skip, H, W) with H <= 2h, W <= 2w -> (B, out, H, W)."""
        up = crop_like(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False),
                       skip)
        out: Tensor = self.fuse(torch.cat((self.reduce(up), skip), dim=1))
        return out


class SANResNet(nn.Module):
    """SAN around a ResNet encoder-decoder (table in the module docstring).

    Args:
        width: channels w at full resolution (a positive integer; 16 is the CPU size).
        ray_inputs: append the two ray channels to the RGB.

    ``forward(rgb, sparse, K)``: rgb (B, 3, H, W) in [0, 1], sparse (B, 1, H, W) metres (0 =
    none; a sample without any runs in prediction mode), K (B, 3, 3) of this input; returns
    (B, 2, H, W): depth d (metres, >= 0.5) and confidence ``exp(-b d / 10 m)`` in (0, 1).
    """

    def __init__(self, width: int = 16, *, ray_inputs: bool = True) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be positive, got {width}")
        self.ray_inputs = ray_inputs
        w = width
        chans = [w, 2 * w, 4 * w, 8 * w, 8 * w]
        self.stem = conv_bn_relu(3 + (2 if ray_inputs else 0), w)
        ins = [w, *chans[:-1]]
        self.stage1, self.stage2, self.stage3, self.stage4, self.stage5 = (
            resnet_stage(i, o, blocks=2, stride=2) for i, o in zip(ins, chans))
        self.mconvs = SparseEncoder(chans)
        self.weight = nn.Parameter(torch.ones(5))
        self.bias = nn.Parameter(torch.zeros(5))
        self.up4 = UpBlock(chans[4], chans[3], chans[3])
        self.up3 = UpBlock(chans[3], chans[2], chans[2])
        self.up2 = UpBlock(chans[2], chans[1], chans[1])
        self.up1 = UpBlock(chans[1], chans[0], chans[0])
        self.up0 = UpBlock(chans[0], w, w)
        self.depth_head = nn.Conv2d(w, 1, 3, 1, 1)
        self.unc_head = nn.Conv2d(w, 1, 3, 1, 1)

    def encode(self, rgb: Tensor, K: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(full-resolution stem features, [1/2, 1/4, 1/8, 1/16, 1/32] maps)."""
        x = rgb
        if self.ray_inputs:
            x = torch.cat((rgb, ray_channels(K, rgb.shape[2], rgb.shape[3]).to(rgb.dtype)), 1)
        s0 = self.stem(x)
        maps = []
        y = s0
        for stage in (self.stage1, self.stage2, self.stage3, self.stage4, self.stage5):
            y = stage(y)
            maps.append(y)
        return s0, maps

    def forward(self, rgb: Tensor, sparse: Tensor, K: Tensor) -> Tensor:
        s0, maps = self.encode(rgb, K)
        completion = has_measurements(sparse)
        if bool(completion.any()):
            maps = fuse_skips(maps, self.mconvs(sparse), self.weight, self.bias, completion)
        x = maps[4]
        for up, skip in zip((self.up4, self.up3, self.up2, self.up1, self.up0),
                            (maps[3], maps[2], maps[1], maps[0], s0)):
            x = up(x, skip)
        inverse = torch.sigmoid(self.depth_head(x)) / MIN_DEPTH
        scale = F.softplus(self.unc_head(x)) + MIN_SCALE
        depth = inverse_to_depth(inverse)
        return torch.cat((depth, torch.exp(-scale * depth / REFERENCE_M)), dim=1)
