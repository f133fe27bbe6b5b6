"""Small building blocks shared by the networks: 3x3 conv / transposed conv with optional batch
norm and LeakyReLU(0.2), and the skip concatenation of an encoder-decoder.

The blocks are ``nn.Sequential`` with the convolution at index 0 and the batch norm at index 1,
so their parameter names (``<name>.0.weight``, ``<name>.1.running_mean`` ...) are stable: the
NLSPN authors' released checkpoint uses exactly this layout.

Example:
    >>> import torch
    >>> up = convt_bn_act(8, 4)
    >>> tuple(up(torch.zeros(1, 8, 3, 5)).shape)
    (1, 4, 6, 10)
    >>> tuple(concat_skip(torch.zeros(1, 4, 6, 10), torch.zeros(1, 2, 5, 9)).shape)
    (1, 6, 5, 9)
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

#: negative slope of the LeakyReLU used by the encoder-decoder and the heads
LEAKY_SLOPE = 0.2


def conv_bn_act(in_channels: int, out_channels: int, *, stride: int = 1, bn: bool = True,
                act: bool = True) -> nn.Sequential:
    """3x3 convolution (padding 1; bias only without batch norm), batch norm, LeakyReLU(0.2).

    Shapes: (B, in, H, W) -> (B, out, ceil(H / stride), ceil(W / stride)).
    """
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(out_channels))
    if act:
        layers.append(nn.LeakyReLU(LEAKY_SLOPE, inplace=True))
    return nn.Sequential(*layers)


def convt_bn_act(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 transposed convolution, stride 2 (padding 1, output padding 1: exactly 2x), no bias,
    batch norm, LeakyReLU(0.2).

    Shapes: (B, in, H, W) -> (B, out, 2H, 2W).
    """
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 3, 2, 1, output_padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.LeakyReLU(LEAKY_SLOPE, inplace=True))


def crop_like(x: Tensor, ref: Tensor) -> Tensor:
    """``x`` (B, C, H', W') without the bottom rows / right columns beyond ``ref``'s (H, W).

    An upsampled decoder map is larger than its encoder partner by one row / column where the
    encoder rounded an odd size up; the extra lines are the padding's, at the bottom / right.
    """
    height, width = ref.shape[-2:]
    return x[..., :height, :width]


def concat_skip(decoded: Tensor, skip: Tensor) -> Tensor:
    """Mirror connection: ``cat([crop_like(decoded, skip), skip], dim=1)``, decoder first.

    Shapes: (B, Cd, H', W') and (B, Cs, H, W) -> (B, Cd + Cs, H, W), H' >= H, W' >= W.
    """
    return torch.cat((crop_like(decoded, skip), skip), dim=1)
