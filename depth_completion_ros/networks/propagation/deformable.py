"""Deformable sampling: where each pixel's neighbours are, and their bilinear values there.

Coordinates are pixels, ``(y, x)``, integer values at pixel centres (pixel (0, 0) is sampled
exactly at (0, 0)); a value is the bilinear interpolation of the four pixels around the position,
pixels outside the image counting as 0. That is the sampling of modulated deformable convolution
(DCNv2) and of ``grid_sample(mode="bilinear", padding_mode="zeros")``, which does the work here.

Example:
    >>> import torch
    >>> kernel_offsets(3).tolist()[:4]
    [[-1.0, -1.0], [-1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]]
    >>> image = torch.arange(6.0).view(1, 1, 2, 3)         # [[0, 1, 2], [3, 4, 5]]
    >>> pos = torch.tensor([0.5, 1.5]).view(1, 1, 2, 1, 1)  # (y, x) = (0.5, 1.5)
    >>> sample_neighbours(image, sampling_grid(pos.expand(1, 1, 2, 2, 3), 2, 3))[0, 0, 0]
    tensor([[3., 3., 3.],
            [3., 3., 3.]])
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def kernel_offsets(kernel: int, *, dtype: torch.dtype = torch.float32,
                   device: torch.device | None = None) -> Tensor:
    """(N, 2) ``(dy, dx)`` of the neighbours in a ``kernel`` x ``kernel`` window, N = kernel² - 1.

    Row-major over the window, the centre left out: for 3x3, (-1, -1), (-1, 0), (-1, 1), (0, -1),
    (0, 1), (1, -1), (1, 0), (1, 1) (DCN's kernel order without its centre tap).

    Raises:
        ValueError: ``kernel`` is not odd and >= 3.
    """
    if kernel < 3 or kernel % 2 == 0:
        raise ValueError(f"kernel must be odd and >= 3, got {kernel}")
    radius = kernel // 2
    steps = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    grid = torch.stack((dy.reshape(-1), dx.reshape(-1)), dim=1)
    centre = kernel * kernel // 2
    return torch.cat((grid[:centre], grid[centre + 1:]))


def neighbour_positions(offsets: Tensor, displacement: Tensor) -> Tensor:
    """Absolute sampling positions ``p + displacement_k + offsets_k(p)``.

    Args:
        offsets: (B, N, 2, H, W) learned ``(dy, dx)`` per neighbour and pixel.
        displacement: (N, 2) fixed ``(dy, dx)`` per neighbour (e.g. :func:`kernel_offsets`).

    Returns:
        (B, N, 2, H, W) ``(y, x)`` positions, pixels, in ``offsets``' dtype.
    """
    height, width = offsets.shape[-2:]
    ys = torch.arange(height, dtype=offsets.dtype, device=offsets.device).view(height, 1)
    xs = torch.arange(width, dtype=offsets.dtype, device=offsets.device).view(1, width)
    base = torch.stack((ys.expand(height, width), xs.expand(height, width)))  # (2, H, W)
    return offsets + displacement.to(offsets).view(1, -1, 2, 1, 1) + base


def sampling_grid(positions: Tensor, height: int, width: int) -> Tensor:
    """``grid_sample`` grid of pixel positions in an image of ``height`` x ``width``.

    Args:
        positions: (B, N, 2, h, w) ``(y, x)`` pixels.
        height, width: size of the image sampled.

    Returns:
        (B, N * h, w, 2) normalised ``(x, y)`` (``align_corners=False``: pixel centre i at
        ``(2 i + 1) / size - 1``), the N neighbour maps stacked along the rows.
    """
    batch, count, _, h, w = positions.shape
    x = (2.0 * positions[:, :, 1] + 1.0) / width - 1.0
    y = (2.0 * positions[:, :, 0] + 1.0) / height - 1.0
    return torch.stack((x, y), dim=-1).reshape(batch, count * h, w, 2)


def sample_neighbours(image: Tensor, grid: Tensor) -> Tensor:
    """Bilinear values of ``image`` at the positions of ``grid``, zeros outside the image.

    Args:
        image: (B, C, H, W).
        grid: (B, N * h, w, 2) from :func:`sampling_grid` (N = rows / h with h = H).

    Returns:
        (B, C, N, H, w) samples (floating dtype of ``image``; ``grid`` is cast to it).
    """
    batch, channels, height = image.shape[:3]
    out = F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out.view(batch, channels, -1, height, out.shape[-1])
