"""Scale-invariant log loss (Eigen, Puhrsch, Fergus, NeurIPS 2014), masked to valid targets.

With ``d = log(pred) - log(target)`` over the n pixels that have a target,
``silog = sqrt(mean(d^2) - lambda * mean(d)^2)``; lambda = 0.85 as in BTS / the KITTI depth
prediction recipes (lambda = 1 is fully scale invariant, 0 is the log RMSE). No factor 10 (BTS
multiplies by it; scale the learning rate instead).

Example:
    >>> import torch
    >>> e = torch.exp(torch.tensor(1.0))
    >>> pred = torch.stack([e * 2, torch.tensor(2.0), torch.tensor(7.0)]).view(1, 1, 1, 3)
    >>> target = torch.tensor([[[[2.0, 2.0, 0.0]]]])   # d = 1, 0 on the two valid pixels
    >>> round(float(masked_silog(pred, target, lam=0.85)), 4)  # sqrt(0.5 - 0.85 * 0.25)
    0.5362
"""
from __future__ import annotations

import torch
from torch import Tensor

from depth_completion_ros.networks.losses.masked import VALID_MIN

#: predictions are clamped to at least this (metres) before the log
MIN_DEPTH = 1e-3


def masked_silog(pred: Tensor, target: Tensor, *, lam: float = 0.85,
                 max_depth: float = 90.0) -> Tensor:
    """Scale-invariant log error per sample over its valid pixels, averaged over the batch.

    Args:
        pred: (B, 1, H, W) predicted depth, metres (clamped to [1e-3, max_depth]).
        target: (B, 1, H, W) target depth, metres, <= 1e-4 where none.
        lam: lambda in [0, 1].
        max_depth: clamp, metres.

    Returns:
        Scalar tensor (a sample without a valid pixel contributes 1e-6, the sqrt floor).
    """
    valid = (target > VALID_MIN).to(pred.dtype)
    log_pred = pred.clamp(MIN_DEPTH, max_depth).log()
    log_target = target.clamp(MIN_DEPTH, max_depth).log()
    d = (log_pred - log_target) * valid
    count = valid.sum(dim=(1, 2, 3)).clamp(min=1.0)
    mean_d = d.sum(dim=(1, 2, 3)) / count
    mean_d2 = d.square().sum(dim=(1, 2, 3)) / count
    return torch.mean(torch.sqrt((mean_d2 - lam * mean_d.square()).clamp(min=1e-12)))
