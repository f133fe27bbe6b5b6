"""Depth-only completion with auxiliary image reconstruction (Lu, Barnes, Anwar, Zheng, "From
Depth What Can You See? Depth Completion via Auxiliary Image Reconstruction", CVPR 2020).

Sparse depth is the only input. Written from the paper's description (no code of the authors
was used); the layer sizes are this package's (model card: models/README.md):

- encoder: an inception-like block at full resolution (parallel 3x3, 5x5, 7x7 and 9x9
  convolutions of the sparse depth, concatenated), then four stages of the same block with
  stride 2 plus a 3x3 convolution, down to 1/16;
- two decoders from the 1/16 features, each level a 3x3 transposed convolution (exactly 2x)
  whose map takes the encoder's map of that scale as a mirror connection: the *depth* branch
  and the *image* branch;
- at every decoder level a feature-sharing module joins the branches: their element-wise sum
  goes through one convolution per branch, and each branch continues with its own features
  concatenated with what it drew from the sum;
- heads: depth (two convolutions, output in units of :data:`DEPTH_UNIT`, clamped at 0) and,
  for training only, the grey-scale image (two convolutions and a sigmoid, 0..1). The image
  *branch* feeds the depth branch through the sharing modules and stays at inference; only the
  image *head* goes: a network built with ``with_image_head=False`` has no parameters of it.

Example:
    >>> import torch
    >>> net = DepthOnlyNet(width=4).eval()
    >>> out = net(None, torch.zeros(1, 1, 9, 13), torch.eye(3)[None])
    >>> tuple(out.shape), net.image_head is None
    ((1, 1, 9, 13), True)
"""
from __future__ import annotations

import copy
from typing import NamedTuple

import torch
from torch import Tensor, nn

from depth_completion_ros.networks.layers import (
    LEAKY_SLOPE,
    concat_skip,
    conv_bn_act,
    convt_bn_act,
)

#: kernel sizes of the inception-like block's parallel branches
KERNELS = (3, 5, 7, 9)
#: metres per network unit inside the network: the sparse input is divided by it and the depth
#: head's output multiplied (keeps activations and the head near 1 for road scenes)
DEPTH_UNIT = 10.0
#: encoder channels per scale (1, 1/2, 1/4, 1/8, 1/16) as multiples of ``width``
CHANNELS = (1, 2, 4, 8, 8)


class InceptionBlock(nn.Module):
    """Parallel 3x3, 5x5, 7x7 and 9x9 convolutions (``out / 4`` channels each, padding
    ``k // 2``, no bias), concatenated, then batch norm and LeakyReLU(0.2).

    Shapes: (B, in, H, W) -> (B, out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, *, stride: int = 1) -> None:
        super().__init__()
        if out_channels % len(KERNELS):
            raise ValueError(f"out_channels must be a multiple of {len(KERNELS)}, got "
                             f"{out_channels}")
        part = out_channels // len(KERNELS)
        self.branches = nn.ModuleList(
            nn.Conv2d(in_channels, part, k, stride, k // 2, bias=False) for k in KERNELS)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.LeakyReLU(LEAKY_SLOPE, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.act(self.bn(torch.cat([b(x) for b in self.branches], dim=1)))
        return out


class FeatureSharing(nn.Module):
    """Joins the depth and image branches at one decoder level: ``s = d + i``; each branch
    continues as ``cat(own, conv_own(s))`` (3x3 conv, batch norm, LeakyReLU).

    Shapes: (B, C, H, W) twice -> (B, C + C // 2, H, W) twice.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.to_depth = conv_bn_act(channels, channels // 2)
        self.to_image = conv_bn_act(channels, channels // 2)

    def forward(self, depth: Tensor, image: Tensor) -> tuple[Tensor, Tensor]:
        shared = depth + image
        return (torch.cat((depth, self.to_depth(shared)), dim=1),
                torch.cat((image, self.to_image(shared)), dim=1))


def _head(in_channels: int, mid_channels: int) -> nn.Sequential:
    """3x3 conv + BN + LeakyReLU, then a 3x3 conv to one channel (with bias)."""
    return nn.Sequential(conv_bn_act(in_channels, mid_channels),
                         nn.Conv2d(mid_channels, 1, 3, 1, 1))


class DepthOnlyOutputs(NamedTuple):
    """One forward pass at the input size.

    Attributes:
        depth: (B, 1, H, W) depth, metres (network units times :data:`DEPTH_UNIT`), >= 0.
        grey: (B, 1, H, W) reconstructed grey-scale image in [0, 1], or None without the
            image head (inference).
    """

    depth: Tensor
    grey: Tensor | None


class DepthOnlyNet(nn.Module):
    """The depth-only network; see the module docstring.

    Args:
        width: channels at full resolution, a positive multiple of 4 (the encoder has
            ``width x (1, 2, 4, 8, 8)`` channels at 1 ... 1/16).
        with_image_head: build the grey-scale head (training); False at inference, so the
            module holds no parameters of it.

    Raises:
        ValueError: a width that is not a positive multiple of 4.
    """

    def __init__(self, width: int = 32, *, with_image_head: bool = False) -> None:
        super().__init__()
        if width < 4 or width % 4:
            raise ValueError(f"width must be a positive multiple of 4, got {width}")
        chans = [width * c for c in CHANNELS]
        self.stem = InceptionBlock(1, chans[0])
        self.down = nn.ModuleList(
            nn.Sequential(InceptionBlock(chans[i], chans[i + 1], stride=2),
                          conv_bn_act(chans[i + 1], chans[i + 1]))
            for i in range(len(chans) - 1))
        self.up_depth, self.up_image, self.share = nn.ModuleList(), nn.ModuleList(), \
            nn.ModuleList()
        channels = chans[-1]
        for skip in reversed(chans[:-1]):
            self.up_depth.append(convt_bn_act(channels, skip))
            self.up_image.append(convt_bn_act(channels, skip))
            self.share.append(FeatureSharing(2 * skip))
            channels = 3 * skip
        self.depth_head = _head(channels, chans[0])
        self.image_head = _head(channels, chans[0]) if with_image_head else None

    def outputs(self, sparse: Tensor) -> DepthOnlyOutputs:
        """Depth and (with the image head) the grey-scale image.

        Args:
            sparse: (B, 1, H, W) sparse depth, metres, 0 = none.
        """
        x = self.stem(sparse / DEPTH_UNIT)
        skips = [x]
        for stage in self.down:
            x = stage(x)
            skips.append(x)
        depth = image = x
        for level, skip in enumerate(reversed(skips[:-1])):
            depth = concat_skip(self.up_depth[level](depth), skip)
            image = concat_skip(self.up_image[level](image), skip)
            depth, image = self.share[level](depth, image)
        out = (self.depth_head(depth) * DEPTH_UNIT).clamp(min=0.0).float()
        grey = None if self.image_head is None else torch.sigmoid(self.image_head(image)).float()
        return DepthOnlyOutputs(out, grey)

    def inference_copy(self) -> DepthOnlyNet:
        """A copy without the image head (what a checkpoint exports): the same depth, no
        ``image_head.*`` parameters; ``self`` is left as it is (training goes on)."""
        out = copy.deepcopy(self)
        out.image_head = None
        return out

    def forward(self, rgb: Tensor | None, sparse: Tensor, K: Tensor, *,
                with_image: bool = False) -> Tensor | DepthOnlyOutputs:
        """The engine's network contract: (B, 1, H, W) float32 depth, metres (no confidence:
        the adapter reports 1).

        Args:
            rgb: ignored (the engine passes zeros; the network never sees an image).
            sparse: (B, 1, H, W) sparse depth, metres, 0 = none.
            K: (B, 3, 3) intrinsics (unused).
            with_image: training with the auxiliary image loss: return :class:`DepthOnlyOutputs`
                (depth and the grey-scale image; needs the image head). Through ``forward`` so
                that ``DistributedDataParallel`` sees the pass.

        Raises:
            ValueError: ``with_image`` on a network built without the image head.
        """
        if not with_image:
            return self.outputs(sparse).depth
        if self.image_head is None:
            raise ValueError("with_image needs the image head (build_training_network)")
        return self.outputs(sparse)
