"""SAN's sparse depth encoder as masked dense operations (no MinkowskiEngine).

The authors (TRI-ML/packnet-sfm, ``MinkowskiEncoder``) run the LiDAR depth through
MinkowskiEngine sparse tensors. MinkowskiEngine needs compiled CUDA / C++ kernels that cannot be
installed here, so every sparse operation is written as a dense one over a mask of active sites,
which computes the same values:

- **sparse convolution, stride 1** (output sites = input sites): ``conv2d`` of the map with zeros
  at empty sites, re-masked. The weights keep MinkowskiEngine's layout ``kernel [k*k, in, out]``
  (so the authors' checkpoint loads as it is) and become a ``conv2d`` weight by
  ``kernel.reshape(k, k, in, out).permute(3, 2, 1, 0)``: MinkowskiEngine enumerates a 2D kernel's
  offsets with the first coordinate varying fastest, and the authors' first coordinate is the
  image row (they build coordinates as (v, u)). No bias (MinkowskiEngine's default).
- **sparse max pooling, kernel 3, stride 2**: an output site exists where a site of its 2x2
  cell is active (MinkowskiEngine's output coordinates are the input ones quantised to the new
  stride); its value is the maximum over the *active* sites of the 3x3 window centred on it at
  the input's stride (rows 2i - 1, 2i, 2i + 1).
- **sparse batch norm** (``MinkowskiBatchNorm``: an inner ``nn.BatchNorm1d`` named ``bn``):
  statistics over the active sites only; empty sites stay empty (zero) after it.
- **densify**: the map itself, zeros at empty sites; odd sizes round up (the authors' code needs
  sizes divisible by 32; this one takes any, with ``ceil`` sizes like a stride-2 convolution).

Parameter names equal the authors' (``mconvs.{i}.layer3.0.kernel``,
``mconvs.{i}.layer3.1.bn.weight`` ...), so ``SparseEncoder`` as a network's ``mconvs``
attribute loads their ``model.depth_net.mconvs.mconvs.*`` entries strictly.

Example:
    >>> import torch
    >>> enc = SparseEncoder([8, 8, 16, 16, 16])
    >>> depth = torch.zeros(1, 1, 64, 96); depth[0, 0, 40, 10] = 12.0
    >>> [tuple(f.shape) for f in enc(depth)]
    [(1, 8, 32, 48), (1, 8, 16, 24), (1, 16, 8, 12), (1, 16, 4, 6), (1, 16, 2, 3)]
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: the authors' kernel sizes: 5 for the first two blocks, 3 after
KERNEL_SIZES = (5, 5, 3, 3, 3)


class SparseConv2d(nn.Module):
    """Stride-1 sparse convolution: output only at active sites, inputs only from them.

    Args:
        in_channels, out_channels: feature channels.
        kernel_size: odd kernel side k.

    The parameter ``kernel`` is (k*k, in, out), MinkowskiEngine's layout (see the module
    docstring for the order of its offsets). Xavier-uniform initialised like the authors'
    dense layers (MinkowskiEngine's own default differs; a checkpoint replaces it anyway).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"sparse convolution kernel must be odd, got {kernel_size}")
        self.kernel_size = kernel_size
        self.kernel = nn.Parameter(torch.empty(kernel_size * kernel_size, in_channels,
                                               out_channels))
        bound = (6.0 / (kernel_size * kernel_size * (in_channels + out_channels))) ** 0.5
        nn.init.uniform_(self.kernel, -bound, bound)

    def dense_weight(self) -> Tensor:
        """The ``conv2d`` weight (out, in, k_row, k_col) of :attr:`kernel`."""
        k = self.kernel_size
        return self.kernel.reshape(k, k, self.kernel.shape[1], self.kernel.shape[2]) \
            .permute(3, 2, 1, 0)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, in, H, W) features (zero at empty sites), (B, 1, H, W) bool -> (B, out, H, W)."""
        out = F.conv2d(x, self.dense_weight(), padding=self.kernel_size // 2)
        return out * mask


class SparseBatchNorm(nn.Module):
    """Batch norm over active sites only (``MinkowskiBatchNorm``); empty sites stay zero.

    Training normalises with the statistics of the active sites and updates the running ones
    (``bn``, an ``nn.BatchNorm1d``, exactly as on a sparse tensor's feature matrix); with fewer
    than two active sites, or in eval mode, it applies the running statistics.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, C, H, W), (B, 1, H, W) bool -> (B, C, H, W), zero where ``mask`` is False."""
        sites = mask[:, 0]
        if self.training and int(sites.sum()) > 1:
            feats = x.permute(0, 2, 3, 1)[sites]
            out = torch.zeros_like(x.permute(0, 2, 3, 1))
            out[sites] = self.bn(feats)
            return out.permute(0, 3, 1, 2)
        bn = self.bn
        assert bn.running_mean is not None and bn.running_var is not None
        scale = torch.rsqrt(bn.running_var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight
        shift = -bn.running_mean * scale
        if bn.bias is not None:
            shift = shift + bn.bias
        return (x * scale[:, None, None] + shift[:, None, None]) * mask


class _Relu(nn.Module):
    """ReLU in a sparse sequence (keeps zeros zero; the index keeps the authors' names)."""

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return F.relu(x)


class SparseSequential(nn.ModuleList):
    """Sparse layers applied in order to (features, mask); indices are parameter names."""

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        for layer in self:
            x = layer(x, mask)
        return x


def sparse_max_pool(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """MinkowskiEngine's max pooling (kernel 3, stride 2) of (B, C, H, W) features on a
    (B, 1, H, W) bool mask: (features, mask) at ceil(H / 2) x ceil(W / 2), zero where empty.

    Example:
        >>> x = torch.tensor([[[[5.0, 0, 0, 0], [0, 0, 0, 7.0]]]])
        >>> m = x > 0
        >>> y, n = sparse_max_pool(x, m)
        >>> y.tolist(), n.tolist()
        ([[[[5.0, 7.0]]]], [[[[True, True]]]])
    """
    out_mask = F.max_pool2d(mask.to(x.dtype), 2, 2, ceil_mode=True) > 0
    filled = torch.where(mask, x, torch.full_like(x, float("-inf")))
    pooled = F.max_pool2d(filled, 3, 2, padding=1)[..., :out_mask.shape[2], :out_mask.shape[3]]
    return torch.where(out_mask, pooled, torch.zeros_like(pooled)), out_mask


class SparseBlock(nn.Module):
    """One block of the authors' encoder (``MinkConv2D``, stride 2): max-pool, then three
    parallel branches of 1, 2 and 3 sparse convolutions (batch norm + ReLU between), summed,
    batch norm, ReLU.

    Shapes: (B, in, H, W), (B, 1, H, W) bool -> (B, out, ceil(H/2), ceil(W/2)) and its mask.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        c, k = out_channels, kernel_size
        self.layer3 = SparseSequential([
            SparseConv2d(in_channels, 2 * c, k), SparseBatchNorm(2 * c), _Relu(),
            SparseConv2d(2 * c, 2 * c, k), SparseBatchNorm(2 * c), _Relu(),
            SparseConv2d(2 * c, c, k)])
        self.layer2 = SparseSequential([
            SparseConv2d(in_channels, 2 * c, k), SparseBatchNorm(2 * c), _Relu(),
            SparseConv2d(2 * c, c, k)])
        self.layer1 = SparseSequential([SparseConv2d(in_channels, c, k)])
        self.layer_final = SparseSequential([SparseBatchNorm(c), _Relu()])

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        x, mask = sparse_max_pool(x, mask)
        summed = self.layer1(x, mask) + self.layer2(x, mask) + self.layer3(x, mask)
        return self.layer_final(summed, mask), mask


class SparseEncoder(nn.Module):
    """The authors' ``MinkowskiEncoder`` without uncertainty: five stride-2 blocks, 1 input
    channel (depth, metres), ``channels[i]`` out of block i, kernels :data:`KERNEL_SIZES`.

    ``forward(depth)`` returns the densified features of every block, at strides 2 ... 32 of the
    input (zeros where no measurement reached). The parameters live in ``mconvs`` (the authors'
    name), so a network holding this as ``mconvs`` has their ``mconvs.mconvs.{i}`` keys.

    Raises:
        ValueError: not five channel counts.
    """

    def __init__(self, channels: Sequence[int]) -> None:
        super().__init__()
        if len(channels) != len(KERNEL_SIZES):
            raise ValueError(f"the sparse encoder has {len(KERNEL_SIZES)} blocks, got channels "
                             f"{list(channels)}")
        ins = [1, *channels[:-1]]
        self.mconvs = nn.ModuleList(SparseBlock(i, o, k)
                                    for i, o, k in zip(ins, channels, KERNEL_SIZES))

    def forward(self, depth: Tensor) -> list[Tensor]:
        """(B, 1, H, W) metres, 0 = none -> five (B, channels[i], H / 2^(i+1), W / 2^(i+1))."""
        mask = depth > 0
        x = depth * mask
        outs = []
        for block in self.mconvs:
            x, mask = block(x, mask)
            outs.append(x)
        return outs
