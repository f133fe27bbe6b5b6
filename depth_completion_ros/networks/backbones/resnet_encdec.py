"""ResNet encoder-decoder with mirror (skip) connections, RGB and sparse depth in.

The layout of NLSPN (Park et al., ECCV 2020) and of the spatial-propagation networks that build on
it, with depth and width as parameters (``width`` = channels at full resolution; ResNet-34 and
64 as in the papers):

=============  ===================================================  ============  ==========
module         layer                                                 resolution    channels
=============  ===================================================  ============  ==========
``conv1_rgb``  3x3 conv + LeakyReLU(0.2), RGB                         1/1           3/4 width
``conv1_dep``  3x3 conv + LeakyReLU(0.2), sparse depth                1/1           1/4 width
``conv2``      ResNet stage 1 (stride 1) on ``cat(rgb, dep)``          1/1           width
``conv3``      ResNet stage 2                                        1/2           2 width
``conv4``      ResNet stage 3                                        1/4           4 width
``conv5``      ResNet stage 4                                        1/8           8 width
``conv6``      3x3 conv stride 2 + BN + LeakyReLU                    1/16          8 width
``dec5``       3x3 transposed conv x2 + BN + LeakyReLU (of conv6)    1/8           4 width
``dec4``       the same, of ``cat(dec5, conv5)``                      1/4           2 width
``dec3``       the same, of ``cat(dec4, conv4)``                      1/2           width
``dec2``       the same, of ``cat(dec3, conv3)``                      1/1           width
=============  ===================================================  ============  ==========

The ResNet stages use ReLU (torchvision's basic block); everything else LeakyReLU(0.2). Any image
size works: odd sizes round up on the way down and the decoder output is cropped (bottom /
right) to its skip partner. Heads continue from :class:`EncoderDecoderFeatures`: the decoder
output ``fd2`` and the full-resolution encoder maps ``fe2`` (after stage 1) and ``fe1``.

A network built on it subclasses :class:`ResNetEncoderDecoder`, adds its heads and defines
``forward``; the layers keep their flat names (``conv2``, ``dec5`` ...), which is how the
authors' checkpoints name them.

Example:
    >>> import torch
    >>> net = ResNetEncoderDecoder(depth=18, width=16)
    >>> out = net.features(torch.zeros(2, 3, 21, 35), torch.zeros(2, 1, 21, 35))
    >>> [tuple(t.shape) for t in out]
    [(2, 16, 21, 35), (2, 16, 21, 35), (2, 16, 22, 36)]
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from depth_completion_ros.networks.backbones.resnet import RESNET_BLOCKS, resnet_stage
from depth_completion_ros.networks.layers import concat_skip, conv_bn_act, convt_bn_act


class EncoderDecoderFeatures(NamedTuple):
    """What the heads read, all at full resolution (the decoder map may carry padding rows /
    columns at the bottom / right: crop it to ``fe1`` with ``layers.crop_like``).

    Attributes:
        fe1: (B, width, H, W) first convolutions, ``cat(rgb, depth)`` features.
        fe2: (B, width, H, W) after ResNet stage 1.
        fd2: (B, width, H', W') decoder output, H' >= H, W' >= W.
    """

    fe1: Tensor
    fe2: Tensor
    fd2: Tensor


def check_backbone(depth: int, width: int) -> None:
    """Raise ValueError unless ``depth`` is 18 or 34 and ``width`` a positive multiple of 4."""
    if depth not in RESNET_BLOCKS:
        raise ValueError(f"ResNet depth must be one of {sorted(RESNET_BLOCKS)}, got {depth}")
    if width < 4 or width % 4:
        raise ValueError(f"width must be a positive multiple of 4 (RGB / depth split 3:1), "
                         f"got {width}")


class ResNetEncoderDecoder(nn.Module):
    """Encoder-decoder of the table in the module docstring: the layers and :meth:`features`;
    a subclass adds heads and its own ``forward``.

    Args:
        depth: ResNet depth of the encoder stages, 18 or 34.
        width: channels at full resolution (64 in the papers), a multiple of 4.

    Raises:
        ValueError: another depth, or a width that is not a positive multiple of 4.
    """

    def __init__(self, depth: int = 34, width: int = 64) -> None:
        super().__init__()
        check_backbone(depth, width)
        self.depth, self.width = depth, width
        w = width
        blocks = RESNET_BLOCKS[depth]
        self.conv1_rgb = conv_bn_act(3, 3 * w // 4, bn=False)
        self.conv1_dep = conv_bn_act(1, w // 4, bn=False)
        self.conv2 = resnet_stage(w, w, blocks[0], stride=1)
        self.conv3 = resnet_stage(w, 2 * w, blocks[1], stride=2)
        self.conv4 = resnet_stage(2 * w, 4 * w, blocks[2], stride=2)
        self.conv5 = resnet_stage(4 * w, 8 * w, blocks[3], stride=2)
        self.conv6 = conv_bn_act(8 * w, 8 * w, stride=2)
        self.dec5 = convt_bn_act(8 * w, 4 * w)
        self.dec4 = convt_bn_act(4 * w + 8 * w, 2 * w)
        self.dec3 = convt_bn_act(2 * w + 4 * w, w)
        self.dec2 = convt_bn_act(w + 2 * w, w)

    def features(self, rgb: Tensor, depth: Tensor) -> EncoderDecoderFeatures:
        """Features of a batch.

        Args:
            rgb: (B, 3, H, W) normalised image.
            depth: (B, 1, H, W) sparse depth (network units, 0 = none).

        Returns:
            :class:`EncoderDecoderFeatures` (``fe1``, ``fe2``, ``fd2``), channels-last in memory
            (the layout oneDNN / cuDNN convolve fastest; values are the same).
        """
        channels_last = torch.channels_last  # NHWC: 2-4x faster convolutions of few channels
        rgb, depth = (x.contiguous(memory_format=channels_last) for x in (rgb, depth))
        fe1 = torch.cat((self.conv1_rgb(rgb), self.conv1_dep(depth)), dim=1)
        fe2 = self.conv2(fe1)
        fe3 = self.conv3(fe2)
        fe4 = self.conv4(fe3)
        fe5 = self.conv5(fe4)
        fd5 = self.dec5(self.conv6(fe5))
        fd4 = self.dec4(concat_skip(fd5, fe5))
        fd3 = self.dec3(concat_skip(fd4, fe4))
        fd2 = self.dec2(concat_skip(fd3, fe3))
        return EncoderDecoderFeatures(fe1, fe2, fd2)
