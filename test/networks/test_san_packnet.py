"""PackNet-SAN01 (networks/san/packnet.py): the packing order, the 3D stacking, the inverse depth
scaling, the skip fusion, prediction vs completion per sample. The authors' key list is checked
in test/models/test_san_authors_checkpoint.py."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from depth_completion_ros.networks.san.fusion import fuse_skips, inverse_to_depth
from depth_completion_ros.networks.san.packnet import (
    InvDepth,
    PackLayerConv3d,
    PackNetSAN01Net,
    ResidualConv,
    UnpackLayerConv3d,
)

H, W = 64, 96


@pytest.fixture(scope="module")
def net() -> PackNetSAN01Net:
    torch.manual_seed(0)
    return PackNetSAN01Net().eval()


def _inputs(batch: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    rgb = torch.rand(batch, 3, H, W, generator=g)
    sparse = torch.zeros(batch, 1, H, W)
    sparse[:, :, 20::4, ::3] = 5.0 + 40.0 * torch.rand(batch, 1, 11, 32, generator=g)
    return rgb, sparse, torch.eye(3).expand(batch, 3, 3)


def _authors_packing(x: torch.Tensor) -> torch.Tensor:
    """Their ``packing`` (layers01.py), r = 2: view by 2x2 cells, cell offsets after the channel."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4) \
        .reshape(b, 4 * c, h // 2, w // 2)


def test_pack_layer_is_space_to_depth_then_3d_conv_stacked_by_feature_then_2d_conv():
    torch.manual_seed(2)
    layer = PackLayerConv3d(16, 3).eval()
    x = torch.randn(2, 16, 8, 12)
    volume = F.conv3d(_authors_packing(x)[:, None], layer.conv3d.weight, layer.conv3d.bias,
                      padding=1)                       # (B, 4, 64, 4, 6)
    stacked = volume.reshape(2, 4 * 64, 4, 6)          # their view(b, c * d, h, w)
    expected = layer.conv(stacked)
    torch.testing.assert_close(layer(x), expected)
    assert layer(x).shape == (2, 16, 4, 6)


def test_unpack_layer_is_2d_conv_then_3d_conv_stacked_then_depth_to_space():
    torch.manual_seed(3)
    layer = UnpackLayerConv3d(32, 16).eval()
    x = torch.randn(1, 32, 4, 6)
    inner = layer.conv(x)                              # (B, 16 * 4 / 4, 4, 6)
    volume = F.conv3d(inner[:, None], layer.conv3d.weight, layer.conv3d.bias, padding=1)
    stacked = volume.reshape(1, 4 * 16, 4, 6)
    out = layer(x)
    assert out.shape == (1, 16, 8, 12)
    torch.testing.assert_close(_authors_packing(out), stacked)   # packing inverts the shuffle


def test_inverse_depth_head_is_sigmoid_over_half_a_metre():
    head = InvDepth(4)
    torch.nn.init.zeros_(head.conv1.weight)
    torch.nn.init.constant_(head.conv1.bias, 0.0)
    out = head(torch.randn(1, 4, 3, 5))
    torch.testing.assert_close(out, torch.full((1, 1, 3, 5), 1.0))   # sigmoid(0) / 0.5
    assert inverse_to_depth(torch.tensor([2.0, 1.0, 0.0])).tolist() == [0.5, 1.0, 1e6]


def test_fusion_is_weight_times_skip_plus_bias_plus_sparse_features_where_flagged(net):
    features = [torch.full((2, 3, 2, 2), 2.0) for _ in range(5)]
    sparse = [torch.full((2, 3, 2, 2), 0.25) for _ in range(5)]
    with torch.no_grad():
        net.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
        net.bias.copy_(torch.tensor([0.5, 0.0, -1.0, 0.0, 1.0]))
        fused = fuse_skips(features, sparse, net.weight, net.bias, torch.tensor([True, False]))
        net.weight.fill_(1.0)
        net.bias.fill_(0.0)
    for i, (w, b) in enumerate([(1, 0.5), (2, 0), (3, -1), (4, 0), (5, 1)]):
        assert fused[i][0].unique().tolist() == [w * 2.0 + b + 0.25]
        assert fused[i][1].unique().tolist() == [2.0]


def test_output_is_depth_of_at_least_half_a_metre_and_scale_agreement_confidence(net):
    rgb, sparse, K = _inputs()
    with torch.no_grad():
        out = net(rgb, sparse, K)
        inverse = net.outputs(rgb, sparse).inverse_depths
    assert out.shape == (1, 2, H, W) and [t.shape[-1] for t in inverse] == [96, 48, 24, 12]
    depth, conf = out[:, :1], out[:, 1:]
    torch.testing.assert_close(depth, 1.0 / inverse[0])
    coarse = 1.0 / F.interpolate(inverse[1], scale_factor=2.0, mode="nearest")
    torch.testing.assert_close(conf, torch.minimum(depth, coarse) / torch.maximum(depth, coarse))
    assert float(depth.min()) >= 0.5 and 0 < float(conf.min()) and float(conf.max()) <= 1


def test_prediction_ignores_sparse_input_and_completion_uses_it(net):
    rgb, sparse, K = _inputs()
    with torch.no_grad():
        rgb_only = net(rgb, torch.zeros_like(sparse), K)
        no_lidar = net(rgb, None, K)
        completed = net(rgb, sparse, K)
        completed_again = net(rgb, sparse * 1.5, K)
    torch.testing.assert_close(rgb_only, no_lidar)
    assert (completed[:, 0] - rgb_only[:, 0]).abs().max() > 1e-3
    assert (completed_again[:, 0] - completed[:, 0]).abs().max() > 1e-4


def test_prediction_and_completion_per_sample_in_one_batch(net):
    rgb, sparse, K = _inputs(2)
    sparse[1] = 0.0
    with torch.no_grad():
        both = net.outputs(rgb, sparse)
        out = net(rgb, sparse, K)
        first = net(rgb[:1], sparse[:1], K[:1])
        second = net(rgb[1:], None, K[1:])
    assert both.completion.tolist() == [True, False]
    torch.testing.assert_close(out[:1], first, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out[1:], second, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("size", [(64, 80), (48, 64)])
def test_sizes_not_multiple_of_32_are_refused(net, size):
    with pytest.raises(ValueError, match="multiples of 32"):
        net(torch.zeros(1, 3, *size), None, torch.eye(3)[None])


def test_dropout_is_in_the_shortcut_and_changes_no_parameter_name():
    names = set(ResidualConv(16, 32, 0.0).state_dict())
    assert names == set(ResidualConv(16, 32, 0.5).state_dict())
    assert {"conv3.0.weight", "conv3.0.bias"} <= names
    assert isinstance(ResidualConv(16, 32, 0.5).conv3[1], torch.nn.Dropout2d)
