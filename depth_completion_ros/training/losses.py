"""The training loss chosen by name (``loss.kind``); the losses themselves live in
:mod:`depth_completion_ros.networks.losses`.

Example:
    >>> import torch
    >>> loss = make_loss(LossSection(kind="l1"))
    >>> float(loss(torch.full((1, 1, 2, 2), 3.0), torch.tensor([[[[1.0, 0], [0, 0]]]])))
    2.0
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import Tensor

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.networks.losses import masked_l1, masked_l1_l2, masked_l2, masked_silog
from depth_completion_ros.networks.losses.laplace import laplace_nll
from depth_completion_ros.training.sections import LossSection

#: (pred (B, 1, H, W) metres, target (B, 1, H, W) metres, 0 = none) -> scalar
LossFn = Callable[[Tensor, Tensor], Tensor]


def make_loss(section: LossSection) -> LossFn:
    """The masked loss of ``section.kind`` with its clamp (and SILog's lambda)."""
    if section.kind == "silog":
        return partial(masked_silog, lam=section.silog_lambda, max_depth=section.max_depth)
    plain = {"l1": masked_l1, "l2": masked_l2, "l1_l2": masked_l1_l2}[section.kind]
    return partial(plain, max_depth=section.max_depth)


def uncertainty_loss(depth: Tensor, output: Tensor, target: Tensor, max_depth: float) -> Tensor:
    """Laplace likelihood of the relative error on the confidence channel of ``output``
    (B, 2, H, W) (``loss.uncertainty_weight``); ``depth`` (B, 1, H, W) metres is detached.

    Raises:
        ConfigError: the network gives no confidence channel.
    """
    if output.shape[1] < 2:
        raise ConfigError("loss.uncertainty_weight > 0 needs a network with a confidence "
                          "output (an uncertainty head); this one returns depth only")
    return laplace_nll(depth, output[:, 1:2].float(), target, max_depth=max_depth)
