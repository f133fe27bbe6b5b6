"""The small ResNet SAN: one set of weights, prediction without LiDAR (the sparse branch and the
skip scalars cannot change it), completion with it, per sample within a batch."""
from __future__ import annotations

import pytest
import torch

from depth_completion_ros.networks.san.fusion import MIN_DEPTH
from depth_completion_ros.networks.san.resnet import SANResNet, ray_channels

K = torch.tensor([[[200.0, 0, 60], [0, 200, 10], [0, 0, 1]]])


@pytest.fixture(scope="module")
def net() -> SANResNet:
    torch.manual_seed(0)
    model = SANResNet(width=8).eval()
    with torch.no_grad():  # skip scalars away from their identity start: fusion must show
        model.weight.copy_(torch.tensor([0.5, 1.5, 0.7, 1.2, 0.9]))
        model.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0, 0.2]))
    return model


def sparse_like(rgb: torch.Tensor, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(rgb.shape[0], 1, *rgb.shape[2:], generator=gen) < 0.05
    return torch.rand(mask.shape, generator=gen) * 40.0 * mask + 2.0 * mask


def test_prediction_does_not_depend_on_the_sparse_branch(net):
    rgb = torch.rand(1, 3, 64, 128)
    with torch.no_grad():
        before = net(rgb, torch.zeros(1, 1, 64, 128), K)
        for p in net.mconvs.parameters():
            p.add_(1.0)
        net.weight.mul_(3.0)
        after = net(rgb, torch.zeros(1, 1, 64, 128), K)
        for p in net.mconvs.parameters():
            p.sub_(1.0)
        net.weight.div_(3.0)
    assert torch.equal(before, after)


def test_completion_uses_the_sparse_input(net):
    rgb = torch.rand(1, 3, 64, 128)
    with torch.no_grad():
        pred = net(rgb, torch.zeros(1, 1, 64, 128), K)
        a = net(rgb, sparse_like(rgb, 1), K)
        b = net(rgb, sparse_like(rgb, 2), K)
    assert float((a[:, 0] - pred[:, 0]).abs().max()) > 1e-3
    assert float((a[:, 0] - b[:, 0]).abs().max()) > 1e-3


def test_modes_are_chosen_per_sample_in_a_batch(net):
    rgb = torch.rand(2, 3, 64, 128)
    sparse = sparse_like(rgb, 3)
    sparse[1] = 0.0
    with torch.no_grad():
        both = net(rgb, sparse, K.expand(2, -1, -1))
        first = net(rgb[:1], sparse[:1], K)
        second = net(rgb[1:], sparse[1:], K)
    torch.testing.assert_close(both[:1], first, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(both[1:], second, atol=1e-5, rtol=1e-5)


def test_output_ranges_and_odd_sizes(net):
    with torch.no_grad():
        out = net(torch.rand(1, 3, 45, 77), torch.zeros(1, 1, 45, 77), K)
    assert tuple(out.shape) == (1, 2, 45, 77)
    assert float(out[:, 0].min()) >= MIN_DEPTH
    assert 0.0 < float(out[:, 1].min()) and float(out[:, 1].max()) < 1.0


def test_ray_channels_follow_the_intrinsics():
    rays = ray_channels(torch.tensor([[[100.0, 0, 10], [0, 50, 4], [0, 0, 1]]]), 8, 20)
    assert float(rays[0, 0, 3, 10]) == 0.0 and float(rays[0, 1, 4, 7]) == 0.0
    assert float(rays[0, 0, 0, 19]) == pytest.approx(0.09)
    assert float(rays[0, 1, 7, 0]) == pytest.approx(0.06)


def test_training_mixes_modes_and_both_get_gradients():
    torch.manual_seed(1)
    net = SANResNet(width=8).train()
    rgb = torch.rand(2, 3, 64, 128)
    sparse = sparse_like(rgb, 4)
    sparse[1] = 0.0
    net(rgb, sparse, K.expand(2, -1, -1))[:, 0].mean().backward()
    assert net.stem[0].weight.grad is not None and float(net.stem[0].weight.grad.abs().sum()) > 0
    assert float(net.mconvs.mconvs[0].layer1[0].kernel.grad.abs().sum()) > 0
    assert float(net.weight.grad.abs().sum()) > 0


def test_confidence_is_of_the_expected_absolute_error(net):
    """confidence = exp(-b d / 10 m): one relative scale b everywhere, the deeper pixels are the
    less confident (ranked by metres of expected error, not by relative error)."""
    head = torch.nn.Conv2d(net.unc_head.in_channels, 1, 3, 1, 1)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.constant_(head.bias, 0.3)
    depth_head = torch.nn.Conv2d(net.depth_head.in_channels, 1, 3, 1, 1)
    torch.manual_seed(0)
    torch.nn.init.normal_(depth_head.weight, std=1.0)      # depths that vary over the image
    with torch.no_grad():
        original = net.unc_head, net.depth_head
        net.unc_head, net.depth_head = head, depth_head
        try:
            out = net(torch.rand(1, 3, 32, 64), torch.zeros(1, 1, 32, 64), K)
        finally:
            net.unc_head, net.depth_head = original
    b = float(torch.nn.functional.softplus(torch.tensor(0.3))) + 1e-3
    depth, conf = out[0, 0], out[0, 1]
    torch.testing.assert_close(conf, torch.exp(-b * depth / 10.0))
    assert depth.max() > 1.2 * depth.min()
    assert float(conf.flatten()[depth.argmax()]) < float(conf.flatten()[depth.argmin()])
