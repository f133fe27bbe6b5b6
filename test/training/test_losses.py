"""Training losses on hand-computed values, masked to the pixels that have a target."""
from __future__ import annotations

import math

import pytest
import torch

from depth_completion_ros.networks.losses import masked_l1, masked_l1_l2, masked_l2, masked_silog
from depth_completion_ros.training.losses import make_loss
from depth_completion_ros.training.sections import LossSection

# two samples of 1x3 pixels; sample 0: errors +1, -2 on two targets (third has none);
# sample 1: error 3 on its one target
PRED = torch.tensor([[[[3.0, 2.0, 50.0]]], [[[7.0, 1.0, 1.0]]]])
TARGET = torch.tensor([[[[2.0, 4.0, 0.0]]], [[[4.0, 0.0, 0.0]]]])


def test_l1_l2_by_hand():
    assert float(masked_l1(PRED, TARGET)) == pytest.approx(((1 + 2) / 2 + 3) / 2)   # 2.25
    assert float(masked_l2(PRED, TARGET)) == pytest.approx(((1 + 4) / 2 + 9) / 2)   # 5.75
    assert float(masked_l1_l2(PRED, TARGET)) == pytest.approx(2.25 + 5.75)


def test_clamped_to_max_depth():
    pred, target = torch.tensor([[[[120.0]]]]), torch.tensor([[[[80.0]]]])
    assert float(masked_l1(pred, target, max_depth=90.0)) == pytest.approx(10.0)


def test_sample_without_target_adds_nothing():
    empty = torch.zeros(1, 1, 1, 3)
    assert float(masked_l1(PRED[:1], empty)) == 0.0 and float(masked_l2(PRED[:1], empty)) == 0.0


def test_silog_by_hand():
    # sample 0: d = log(3/2), log(2/4); sample 1: d = log(7/4)
    d0 = [math.log(1.5), math.log(0.5)]
    mean, mean2 = sum(d0) / 2, sum(x * x for x in d0) / 2
    s0 = math.sqrt(mean2 - 0.85 * mean ** 2)
    s1 = math.sqrt(math.log(1.75) ** 2 * (1 - 0.85))
    assert float(masked_silog(PRED, TARGET)) == pytest.approx((s0 + s1) / 2, rel=1e-5)


def test_silog_is_scale_invariant_at_lambda_one():
    target = torch.tensor([[[[2.0, 5.0, 9.0]]]])
    assert float(masked_silog(target * 3.0, target, lam=1.0)) < 1e-3
    assert float(masked_silog(target * 3.0, target, lam=0.0)) == pytest.approx(math.log(3.0),
                                                                                rel=1e-5)


def test_losses_have_gradients():
    pred = PRED.clone().requires_grad_()
    masked_silog(pred, TARGET).backward()
    assert pred.grad is not None and pred.grad[0, 0, 0, 2] == 0.0  # no target there
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize(("kind", "expected"), [("l1", 2.25), ("l2", 5.75), ("l1_l2", 8.0)])
def test_make_loss_by_name(kind: str, expected: float):
    assert float(make_loss(LossSection(kind=kind))(PRED, TARGET)) == pytest.approx(expected)


def test_make_loss_silog_uses_lambda():
    loss = make_loss(LossSection(kind="silog", silog_lambda=0.0))
    assert float(loss(PRED, TARGET)) == pytest.approx(float(masked_silog(PRED, TARGET, lam=0.0)))


def test_uncertainty_loss_trains_the_confidence_towards_the_relative_error():
    from depth_completion_ros.errors import ConfigError
    from depth_completion_ros.training.losses import uncertainty_loss

    target = torch.tensor([[[[10.0, 20.0, 0.0]]]])
    depth = torch.tensor([[[[12.0, 21.0, 7.0]]]])      # relative errors 0.2, 0.05
    logit = torch.zeros(1, 1, 1, 3, requires_grad=True)
    optimiser = torch.optim.Adam([logit], lr=0.05)
    for _ in range(600):
        optimiser.zero_grad()
        scale = torch.nn.functional.softplus(logit) + 1e-3
        out = torch.cat((depth, torch.exp(-scale * depth / 10.0)), dim=1)
        uncertainty_loss(depth, out, target, 90.0).backward()
        optimiser.step()
    learned = (torch.nn.functional.softplus(logit) + 1e-3).detach()[0, 0, 0]
    assert float(learned[0]) == pytest.approx(0.2, rel=0.05)
    assert float(learned[1]) == pytest.approx(0.05, rel=0.05)
    with pytest.raises(ConfigError, match="confidence output"):
        uncertainty_loss(depth, depth, target, 90.0)
