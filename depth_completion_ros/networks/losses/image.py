"""The depth-only network's auxiliary loss (Lu et al., CVPR 2020): the grey-scale image it
reconstructs from sparse depth, L2 against the camera's image, weighted 1e-4 against the depth
loss. Training only: the image is a target, never an input.

Example:
    >>> import torch
    >>> rgb = torch.ones(1, 3, 2, 2)                  # white, rgb / 255
    >>> grey_scale(rgb).flatten().tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> depth_loss = torch.tensor(2.0)
    >>> round(float(with_image_loss(depth_loss, torch.zeros(1, 1, 2, 2), rgb)), 6)  # 2 + 1e-4
    2.0001
"""
from __future__ import annotations

import torch
from torch import Tensor

#: ITU-R BT.601 luma weights of R, G, B
LUMA = (0.299, 0.587, 0.114)
#: weight of the grey-scale L2 against the depth loss (the paper's)
IMAGE_WEIGHT = 1e-4


def grey_scale(rgb: Tensor) -> Tensor:
    """(B, 3, H, W) RGB in [0, 1] (rgb / 255, no mean / std) -> (B, 1, H, W) luma in [0, 1]."""
    weights = torch.tensor(LUMA, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def image_l2(grey: Tensor, rgb: Tensor) -> Tensor:
    """Mean squared error of the reconstructed grey image against the image's luma, over all
    pixels (every pixel has an image value).

    Args:
        grey: (B, 1, H, W) reconstruction in [0, 1].
        rgb: (B, 3, H, W) the camera image in [0, 1].
    """
    return torch.mean((grey - grey_scale(rgb)).square())


def with_image_loss(depth_loss: Tensor, grey: Tensor, rgb: Tensor, *,
                    weight: float = IMAGE_WEIGHT) -> Tensor:
    """``depth_loss + weight * image_l2(grey, rgb)``: the depth-only network's training loss.

    Args:
        depth_loss: scalar, any masked depth loss (metres).
        grey, rgb: see :func:`image_l2`.
        weight: of the image term (1e-4 in the paper).
    """
    return depth_loss + weight * image_l2(grey, rgb)
