"""PackNet-SAN01, the network of the authors' released SAN checkpoint (Guizilini, Ambruş,
Burgard, Gaidon, "Sparse Auxiliary Networks for Unified Monocular Depth Prediction and
Completion", CVPR 2021; code: TRI-ML/packnet-sfm, ``PackNetSAN01``, MIT).

An RGB encoder-decoder (PackNet, "01" layers: every convolution followed by GroupNorm(16) and
ELU) predicts inverse depth; the sparse depth encoder
(:class:`~depth_completion_ros.networks.san.sparse.SparseEncoder`) turns LiDAR depth into
feature maps at strides 2 ... 32 that are added into the encoder's outputs at the same strides:
``skip_i <- weight[i] * skip_i + bias[i] + sparse_i`` (``weight`` / ``bias``: 5 learnable
scalars). Without a measurement the fusion is skipped and the same weights predict depth from
the image alone.

- **Packing** (:class:`PackLayerConv3d`): space-to-depth by 2 (``pixel_unshuffle``: channel
  ``c * 4 + 2 * row + col`` of each 2x2 cell, the order of the authors' ``packing``), a 3D
  convolution (1 -> ``d`` = 4 features, 3x3x3) over (channels, rows, columns), its ``d``
  feature volumes stacked as channels, a 2D convolution back to the input's channels.
- **Unpacking** (:class:`UnpackLayerConv3d`): a 2D convolution to ``4 * out / d`` channels, the
  3D convolution (1 -> ``d``), stacked, depth-to-space by 2 (``pixel_shuffle``).
- **Encoder**: 5x5 then 7x7 convolutions at full resolution, then five times "pack, residual
  blocks" (2, 2, 3, 3 blocks; 32, 64, 128, 256, 512 channels; the last pack has no block
  after it). Residual blocks: two 3x3 convolutions plus a 1x1 shortcut, summed, GroupNorm, ELU.
  The shortcut is ``Sequential(conv, Dropout2d(p))``, as the authors' code builds it when their
  config sets a dropout (0.5 for this checkpoint; hence their keys ``conv3.0.weight``); here it
  is built so for any ``p``, 0 included, so the keys do not depend on a training option.
- **Decoder** version "A" (the checkpoint's ``1A``): each level unpacks, *concatenates* the
  skip of its stride and, from stride 4 up, the coarser inverse depth (nearest upsampling), then
  a 3x3 convolution; inverse depth heads at strides 8, 4, 2, 1: ``sigmoid(conv3x3) / 0.5``, so
  inverse depth is in (0, 2) 1/m and depth = 1 / max(inverse, 1e-6) >= 0.5 m (their
  ``InvDepth(min_depth=0.5)`` and ``inv2depth``).

Parameter names equal the authors' checkpoint keys after their ``model.depth_net.`` prefix
(348 entries), so their file loads strictly without renaming
(:mod:`~depth_completion_ros.models.san_loading`). Heights and widths must be multiples of 32
(the input spec pads to 32).

The checkpoint has no uncertainty output. The confidence returned here is the agreement of the
full-resolution depth with the decoder's half-resolution depth (upsampled, nearest): ``min / max``
of the two, in (0, 1], 1 where both scales agree. Both are computed by every forward pass
anyway (the coarser inverse depth feeds the next level), so it costs one division.

Example:
    >>> import torch
    >>> net = PackNetSAN01Net().eval()
    >>> rgb = torch.rand(1, 3, 64, 64); sparse = torch.zeros(1, 1, 64, 64)
    >>> with torch.no_grad():
    ...     out = net(rgb, sparse, torch.eye(3)[None])
    >>> tuple(out.shape), bool((out[:, 0] >= 0.5).all()), bool((out[:, 1] <= 1).all())
    ((1, 2, 64, 64), True, True)
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from depth_completion_ros.networks.san.fusion import (
    MIN_DEPTH,
    fuse_skips,
    has_measurements,
    inverse_to_depth,
)
from depth_completion_ros.networks.san.sparse import SparseEncoder

#: channels at full resolution (``ni``) and at strides 2 ... 32 (``n1`` ... ``n5``)
STEM, CHANNELS = 32, (32, 64, 128, 256, 512)
#: residual blocks after packs 1 ... 4
BLOCKS = (2, 2, 3, 3)
#: kernel of the 2D convolution in packs 1 ... 5
PACK_KERNELS = (5, 3, 3, 3, 3)
#: 3D features of the packing / unpacking layers
FEATURES_3D = 4
#: heights and widths must be multiples of this (five packs by 2)
SIZE_MULTIPLE = 32


class ConvGNELU(nn.Module):
    """Conv (``conv_base``, zero padding k // 2, bias) + GroupNorm(16) (``normalize``) + ELU:
    the authors' ``Conv2D`` of layers01."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv_base = nn.Conv2d(in_channels, out_channels, kernel_size,
                                   padding=kernel_size // 2)
        self.normalize = nn.GroupNorm(16, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in, H, W) -> (B, out, H, W)."""
        return F.elu(self.normalize(self.conv_base(x)))


class ResidualConv(nn.Module):
    """Two 3x3 :class:`ConvGNELU` plus a 1x1 shortcut (``conv3``: ``Sequential(conv,
    Dropout2d(dropout))``), summed, GroupNorm(16), ELU."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = ConvGNELU(in_channels, out_channels, 3)
        self.conv2 = ConvGNELU(out_channels, out_channels, 3)
        self.conv3 = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1),
                                   nn.Dropout2d(dropout))
        self.normalize = nn.GroupNorm(16, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in, H, W) -> (B, out, H, W)."""
        return F.elu(self.normalize(self.conv2(self.conv1(x)) + self.conv3(x)))


def residual_block(in_channels: int, out_channels: int, blocks: int,
                   dropout: float) -> nn.Sequential:
    """``blocks`` :class:`ResidualConv` in a row (the first changes the channels)."""
    return nn.Sequential(*(ResidualConv(in_channels if i == 0 else out_channels, out_channels,
                                        dropout) for i in range(blocks)))


def _conv3d() -> nn.Conv3d:
    return nn.Conv3d(1, FEATURES_3D, 3, padding=1)


def _stack_3d(x: Tensor) -> Tensor:
    """(B, d, C, H, W) -> (B, d * C, H, W) (feature volume index slowest)."""
    return x.flatten(1, 2)


class PackLayerConv3d(nn.Module):
    """(B, C, H, W) -> (B, C, H / 2, W / 2): space-to-depth, 3D conv, 2D conv (module
    docstring)."""

    def __init__(self, channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = ConvGNELU(channels * 4 * FEATURES_3D, channels, kernel_size)
        self.conv3d = _conv3d()

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.conv(_stack_3d(self.conv3d(F.pixel_unshuffle(x, 2)[:, None])))
        return out


class UnpackLayerConv3d(nn.Module):
    """(B, in, H, W) -> (B, out, 2H, 2W): 2D conv, 3D conv, depth-to-space (module
    docstring)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = ConvGNELU(in_channels, out_channels * 4 // FEATURES_3D, kernel_size)
        self.conv3d = _conv3d()

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(_stack_3d(self.conv3d(self.conv(x)[:, None])), 2)


class InvDepth(nn.Module):
    """Inverse depth head: ``sigmoid(conv3x3(x)) / MIN_DEPTH``, (B, C, H, W) -> (B, 1, H, W)
    in (0, 1 / MIN_DEPTH) 1/m."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 1, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.conv1(x)) / MIN_DEPTH


class PackNetEncoder(nn.Module):
    """The RGB encoder: (B, 3, H, W) in [0, 1] -> the stride-32 map and the skips at strides
    1, 2, 4, 8, 16 (32, 32, 64, 128, 256 channels)."""

    def __init__(self, dropout: float) -> None:
        super().__init__()
        n = CHANNELS
        self.pre_calc = ConvGNELU(3, STEM, 5)
        for i in range(5):
            setattr(self, f"pack{i + 1}", PackLayerConv3d(n[i], PACK_KERNELS[i]))
        self.conv1 = ConvGNELU(STEM, n[0], 7)
        for i, blocks in enumerate(BLOCKS):
            setattr(self, f"conv{i + 2}", residual_block(n[i], n[i + 1], blocks, dropout))

    def forward(self, rgb: Tensor) -> tuple[Tensor, list[Tensor]]:
        x = self.pre_calc(rgb)
        skips = [x]
        x = self.conv1(x)
        for i in range(1, 6):
            x = getattr(self, f"pack{i}")(x)
            if i == 5:
                break
            skips.append(x)
            x = getattr(self, f"conv{i + 1}")(x)
        return x, skips


class PackNetDecoder(nn.Module):
    """Decoder version "A" (concatenated skips): the stride-32 map and the skips -> inverse
    depth at strides 1, 2, 4, 8 (in that order)."""

    def __init__(self) -> None:
        super().__init__()
        n = (STEM, *CHANNELS)            # ni, n1 ... n5: n[level] is the channels at level
        for level in range(5, 0, -1):    # unpack5 ... unpack1
            source = n[5] if level == 5 else n[level + 1]
            setattr(self, f"unpack{level}", UnpackLayerConv3d(source, n[level]))
            has_disp = level <= 3        # the coarser inverse depth joins from stride 4 up
            width = n[level] + n[level - 1] + (1 if has_disp else 0)
            setattr(self, f"iconv{level}", ConvGNELU(width, n[level], 3))
        for level in range(4, 0, -1):
            setattr(self, f"disp{level}_layer", InvDepth(n[level]))

    def forward(self, x: Tensor, skips: list[Tensor]) -> list[Tensor]:
        inverse: list[Tensor] = []
        for level in range(5, 0, -1):
            parts = [getattr(self, f"unpack{level}")(x), skips[level - 1]]
            if inverse:
                parts.append(F.interpolate(inverse[0], scale_factor=2.0, mode="nearest"))
            x = getattr(self, f"iconv{level}")(torch.cat(parts, 1))
            if level <= 4:
                inverse.insert(0, getattr(self, f"disp{level}_layer")(x))
        return inverse


class PackNetSANOutputs(NamedTuple):
    """One forward pass (:meth:`PackNetSAN01Net.outputs`).

    Attributes:
        inverse_depths: (B, 1, H / s, W / s) inverse depth in 1/m at strides s = 1, 2, 4, 8.
        features: the five maps the decoder read at strides 2 ... 32 (after the fusion where a
            sample had sparse depth): what the authors' training compares between the RGB-only
            and the RGB + depth pass.
        completion: (B,) bool, the samples whose sparse depth had a measurement.
    """

    inverse_depths: list[Tensor]
    features: list[Tensor]
    completion: Tensor


class PackNetSAN01Net(nn.Module):
    """PackNet-SAN01 (module docstring); parameter names are the authors'.

    Args:
        dropout: probability of ``Dropout2d`` on the residual shortcuts, active in training
            only (0.5 in the authors' config; the parameter names are the same for any value).
    """

    def __init__(self, dropout: float = 0.5) -> None:
        super().__init__()
        self.encoder = PackNetEncoder(dropout)
        self.decoder = PackNetDecoder()
        self.mconvs = SparseEncoder(list(CHANNELS))
        self.weight = nn.Parameter(torch.ones(5))
        self.bias = nn.Parameter(torch.zeros(5))
        for module in (self.encoder, self.decoder):
            for m in module.modules():
                if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def outputs(self, rgb: Tensor, sparse: Tensor | None) -> PackNetSANOutputs:
        """All scales; completion for the samples with a measurement, prediction otherwise.

        The sparse encoder runs only when some sample has a measurement (always while
        exporting to ONNX, so that the graph keeps it; ``torch.where`` picks per sample).

        Args:
            rgb: (B, 3, H, W) in [0, 1], H and W multiples of 32.
            sparse: (B, 1, H, W) metres, 0 = none; None: prediction for every sample.

        Raises:
            ValueError: H or W not a multiple of 32.
        """
        height, width = rgb.shape[-2:]
        if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
            raise ValueError(f"PackNet-SAN needs height and width multiples of {SIZE_MULTIPLE}, "
                             f"got {height}x{width}")
        x, skips = self.encoder(rgb)
        features = [*skips[1:], x]
        completion = torch.zeros(rgb.shape[0], dtype=torch.bool, device=rgb.device)
        if sparse is not None:
            completion = has_measurements(sparse)
            if torch.onnx.is_in_onnx_export() or bool(completion.any()):
                features = fuse_skips(features, self.mconvs(sparse), self.weight, self.bias,
                                      completion)
        inverse = self.decoder(features[-1], [skips[0], *features[:-1]])
        return PackNetSANOutputs(inverse, features, completion)

    def forward(self, rgb: Tensor, sparse: Tensor | None, K: Tensor) -> Tensor:
        """The engine's network contract: (B, 2, H, W) depth (metres, >= 0.5) and confidence.

        Args:
            rgb: (B, 3, H, W) in [0, 1].
            sparse: (B, 1, H, W) metres, 0 = none (a sample without any measurement runs
                prediction mode).
            K: (B, 3, 3) intrinsics (unused).
        """
        inverse = self.outputs(rgb, sparse).inverse_depths
        depth = inverse_to_depth(inverse[0])
        coarse = inverse_to_depth(F.interpolate(inverse[1], scale_factor=2.0, mode="nearest"))
        confidence = torch.minimum(depth, coarse) / torch.maximum(depth, coarse)
        return torch.cat((depth, confidence), 1)
