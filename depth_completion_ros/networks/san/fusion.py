"""What both SAN networks share (:mod:`.resnet`, :mod:`.packnet`): the mode of each sample, the
sparse auxiliary fusion into the skips, and the authors' inverse-depth output convention.

Example:
    >>> import torch
    >>> has_measurements(torch.tensor([[[[0.0, 3.0]]], [[[0.0, 0.0]]]])).tolist()
    [True, False]
    >>> inverse_to_depth(torch.tensor([2.0, 0.0])).tolist()
    [0.5, 1000000.0]
"""
from __future__ import annotations

import torch
from torch import Tensor

from depth_completion_ros.networks.layers import crop_like

#: the authors' InvDepth: inverse depth = sigmoid / MIN_DEPTH (depth >= 0.5 m)
MIN_DEPTH = 0.5
#: the smallest inverse depth used when inverting (1/m; their ``inv2depth``)
INVERSE_FLOOR = 1e-6


def has_measurements(sparse: Tensor) -> Tensor:
    """(B,) bool: the sample has at least one measured pixel (completion mode)."""
    return (sparse > 0).flatten(1).any(dim=1)


def fuse_skips(skips: list[Tensor], sparse_feats: list[Tensor], weight: Tensor, bias: Tensor,
               completion: Tensor) -> list[Tensor]:
    """SAN's fusion ``w_i · skip_i + b_i + sparse_i`` for the samples in ``completion`` mode
    (B,) bool; the others keep their skips unchanged. Sparse maps are cropped to the skips."""
    select = completion[:, None, None, None]
    return [torch.where(select, skip * weight[i] + bias[i] + crop_like(feats, skip), skip)
            for i, (skip, feats) in enumerate(zip(skips, sparse_feats))]


def inverse_to_depth(inverse: Tensor) -> Tensor:
    """Depth (m) of an inverse depth (1/m), the floor :data:`INVERSE_FLOOR` applied."""
    return 1.0 / inverse.clamp(min=INVERSE_FLOOR)
