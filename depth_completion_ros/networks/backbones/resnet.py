"""ResNet basic blocks and stages (He et al., CVPR 2016), written here so nothing needs
torchvision.

Parameter names follow torchvision's ``BasicBlock`` (``conv1``, ``bn1``, ``conv2``, ``bn2``,
``downsample.0`` / ``downsample.1``), so a stage's state dict is interchangeable with the
``layerN`` of a torchvision ResNet (ImageNet initialisation, published checkpoints).

Example:
    >>> import torch
    >>> stage = resnet_stage(16, 32, blocks=2, stride=2)
    >>> tuple(stage(torch.zeros(1, 16, 7, 9)).shape)
    (1, 32, 4, 5)
"""
from __future__ import annotations

from torch import Tensor, nn

#: basic blocks per stage of the two ResNet depths the networks use
RESNET_BLOCKS: dict[int, tuple[int, int, int, int]] = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with ReLU and an identity (or 1x1 conv-BN projection) shortcut.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first convolution (and of the projection).

    Shapes: (B, in, H, W) -> (B, out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        """Residual block output, ReLU applied after the sum."""
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        result: Tensor = self.relu(out + shortcut)
        return result


def resnet_stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` basic blocks; the first changes channels / resolution (He-initialised)."""
    layers = [BasicBlock(in_channels, out_channels, stride)]
    layers += [BasicBlock(out_channels, out_channels) for _ in range(blocks - 1)]
    stage = nn.Sequential(*layers)
    for module in stage.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return stage
