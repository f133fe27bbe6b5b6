"""L1, L2 and L1 + L2 depth losses over the pixels that have a target (NLSPN's training loss is
L1 + L2).

Example:
    >>> import torch
    >>> pred = torch.tensor([[[[1.0, 5.0], [0.0, 2.0]]]])
    >>> target = torch.tensor([[[[2.0, 0.0], [0.0, 2.0]]]])   # two valid pixels
    >>> float(masked_l1_l2(pred, target))                     # L1 0.5 + L2 0.5
    1.0
    >>> float(masked_l1(pred, target)), float(masked_l2(pred, target))
    (0.5, 0.5)
"""
from __future__ import annotations

import torch
from torch import Tensor

#: targets at or below this (metres) count as "no target"
VALID_MIN = 1e-4


def masked_errors(pred: Tensor, target: Tensor, max_depth: float) -> tuple[Tensor, Tensor, Tensor]:
    """Clamped prediction minus target where a target exists (0 elsewhere).

    Args:
        pred, target: (B, 1, H, W) metres; target <= :data:`VALID_MIN` where none.
        max_depth: both clamped to [0, max_depth] metres.

    Returns:
        (difference (B, 1, H, W), valid mask (B, 1, H, W) as pred's dtype, per-sample count of
        valid pixels (B,) plus 1e-8).
    """
    pred = pred.clamp(0.0, max_depth)
    valid = (target > VALID_MIN).to(pred.dtype)
    diff = (pred - target.clamp(0.0, max_depth)) * valid
    return diff, valid, valid.sum(dim=(1, 2, 3)) + 1e-8


def masked_l1(pred: Tensor, target: Tensor, *, max_depth: float = 90.0) -> Tensor:
    """Mean absolute error over pixels with a target (per sample, then over the batch; a sample
    without any contributes 0). Shapes and units as :func:`masked_l1_l2`."""
    diff, _, count = masked_errors(pred, target, max_depth)
    return torch.mean(diff.abs().sum(dim=(1, 2, 3)) / count)


def masked_l2(pred: Tensor, target: Tensor, *, max_depth: float = 90.0) -> Tensor:
    """Mean squared error over pixels with a target (as :func:`masked_l1`), metres squared."""
    diff, _, count = masked_errors(pred, target, max_depth)
    return torch.mean(diff.square().sum(dim=(1, 2, 3)) / count)


def masked_l1_l2(pred: Tensor, target: Tensor, *, max_depth: float = 90.0) -> Tensor:
    """Mean absolute plus mean squared error over pixels with a target, averaged over the batch.

    Both maps are clamped to [0, ``max_depth``] first (the authors: 90 m on KITTI); per sample
    the errors are averaged over its valid pixels (a sample without any contributes 0).

    Args:
        pred: (B, 1, H, W) predicted depth, metres.
        target: (B, 1, H, W) target depth, metres, <= 1e-4 where none.
        max_depth: clamp, metres.

    Returns:
        Scalar tensor.
    """
    diff, _, count = masked_errors(pred, target, max_depth)
    l1 = diff.abs().sum(dim=(1, 2, 3)) / count
    l2 = diff.square().sum(dim=(1, 2, 3)) / count
    return torch.mean(l1 + l2)
