"""ResNet stages and the encoder-decoder: torchvision-compatible sizes and names, any image size,
width / depth checks."""
from __future__ import annotations

import pytest
import torch

from depth_completion_ros.networks.backbones import BasicBlock, ResNetEncoderDecoder
from depth_completion_ros.networks.backbones.resnet import RESNET_BLOCKS


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("depth, torchvision_params", [(18, 11_689_512), (34, 21_797_672)])
def test_stages_have_torchvision_resnet_parameter_counts(depth, torchvision_params):
    """torchvision's published totals minus its stem (7x7 conv 9408 + BN 128) and 1000-class fc
    (513000) are exactly layer1..layer4: conv2..conv5 here at width 64."""
    net = ResNetEncoderDecoder(depth, 64)
    stages = sum(_count(getattr(net, f"conv{i}")) for i in range(2, 6))
    assert stages == torchvision_params - 9408 - 128 - 513_000
    assert [len(getattr(net, f"conv{i}")) for i in range(2, 6)] == list(RESNET_BLOCKS[depth])


def test_block_parameter_names_are_torchvision_basic_block_names():
    names = {name for name, _ in BasicBlock(16, 32, stride=2).state_dict().items()}
    assert {"conv1.weight", "bn1.running_var", "conv2.weight", "bn2.num_batches_tracked",
            "downsample.0.weight", "downsample.1.running_mean"} <= names
    assert "downsample.0.weight" not in BasicBlock(16, 16).state_dict()


@pytest.mark.parametrize("height, width", [(1, 1), (7, 9), (21, 35), (32, 48)])
@pytest.mark.parametrize("batch", [1, 2])
def test_features_at_any_size_and_batch(height, width, batch):
    net = ResNetEncoderDecoder(18, 8).eval()
    with torch.no_grad():
        fe1, fe2, fd2 = net.features(torch.randn(batch, 3, height, width),
                                     torch.rand(batch, 1, height, width))
    assert fe1.shape == fe2.shape == (batch, 8, height, width)
    assert fd2.shape[:2] == (batch, 8) and fd2.shape[2] >= height and fd2.shape[3] >= width
    assert fd2.shape[2] - height <= 1 and fd2.shape[3] - width <= 1  # at most the padding line


def test_rgb_and_depth_split_the_first_layer_three_to_one():
    net = ResNetEncoderDecoder(34, 64)
    assert net.conv1_rgb[0].weight.shape == (48, 3, 3, 3)
    assert net.conv1_dep[0].weight.shape == (16, 1, 3, 3)


@pytest.mark.parametrize("depth, width, match", [
    (50, 64, "ResNet depth must be one of \\[18, 34\\], got 50"),
    (18, 30, "width must be a positive multiple of 4"),
    (18, 0, "width must be a positive multiple of 4"),
])
def test_unsupported_depth_or_width_raises(depth, width, match):
    with pytest.raises(ValueError, match=match):
        ResNetEncoderDecoder(depth, width)
