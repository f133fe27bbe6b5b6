"""Laplace likelihood of the relative depth error: the loss of an uncertainty head (SAN).

The head learns ``b``, the Laplace scale of the relative error ``(d - t) / t``, and the network
reports it as the confidence ``c = exp(-b d / r)`` (``r`` = ``reference_m``, 10 m): ``b d`` is the
expected absolute error, so the confidence ranks pixels by metres of error, as users and the
evaluation rank them (``exp(-b)`` alone ranks relative errors: it called far pixels confident).
The loss recovers ``b = -log(c) r / d`` and takes the negative log-likelihood per target pixel
``|d - t| / (t b) + log b`` (constants dropped); the depth is detached, so this term trains the
head alone and the depth keeps its own loss. Minimised at ``b = E|d - t| / t``.

Example:
    >>> import torch
    >>> t = torch.tensor([[[[10.0, 0.0]]]])
    >>> d = torch.tensor([[[[11.0, 5.0]]]])                 # relative error 0.1 where t > 0
    >>> def conf(b): return torch.exp(-b * d / 10.0)
    >>> best = laplace_nll(d, conf(torch.full_like(d, 0.1)), t)
    >>> worse = laplace_nll(d, conf(torch.full_like(d, 0.5)), t)
    >>> round(float(best), 4), bool(worse > best)
    (-1.3026, True)
"""
from __future__ import annotations

import torch
from torch import Tensor

from depth_completion_ros.networks.losses.masked import VALID_MIN

#: smallest scale the loss sees (a confidence of 1 would make it infinite)
MIN_SCALE = 1e-4
#: depth at which the confidence is exp(-b): c = exp(-b d / REFERENCE_M)
REFERENCE_M = 10.0


def laplace_nll(depth: Tensor, confidence: Tensor, target: Tensor, *,
                max_depth: float = 90.0, reference_m: float = REFERENCE_M) -> Tensor:
    """Mean over target pixels (per sample, then over the batch) of the Laplace negative
    log-likelihood of the relative error.

    Args:
        depth: (B, 1, H, W) metres, the network's (detached here).
        confidence: (B, 1, H, W) ``exp(-b depth / reference_m)`` in (0, 1], the same depth.
        target: (B, 1, H, W) metres, <= 1e-4 where none.
        max_depth: depth and target clamped to [0, max_depth].

    Returns:
        Scalar tensor (a sample without targets contributes 0).
    """
    valid = (target > VALID_MIN).to(depth.dtype)
    safe_target = torch.where(valid > 0, target.clamp(VALID_MIN, max_depth),
                              torch.ones_like(target))
    relative = (depth.detach().clamp(0.0, max_depth) - safe_target).abs() / safe_target
    per_metre = float(reference_m) / depth.detach().clamp(min=1e-3)
    scale = (-torch.log(confidence.clamp(min=1e-30)) * per_metre).clamp(min=MIN_SCALE)
    nll = (relative / scale + torch.log(scale)) * valid
    return torch.mean(nll.sum(dim=(1, 2, 3)) / (valid.sum(dim=(1, 2, 3)) + 1e-8))
