"""Mixed precision (``run.precision``): fp32 untouched, bf16 autocast on the CPU, fp16 a CUDA
matter (fp32 with a note on the CPU); the gradient scaler's step on the CPU's own scaler;
fp16 on CUDA where a GPU exists."""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.training.config import TrainConfig
from depth_completion_ros.training.loop import Trainer, TrainResult
from depth_completion_ros.training.precision import MixedPrecision, mixed_precision
from depth_completion_ros.training.state import STATE_FILE

CPU = torch.device("cpu")


def test_fp32_changes_nothing():
    mp = mixed_precision("fp32", CPU, notes := [])
    assert mp.dtype is None and not mp.scaler.is_enabled() and notes == []
    with mp.autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_bf16_autocasts_on_the_cpu():
    mp = mixed_precision("bf16", CPU, notes := [])
    assert mp.dtype is torch.bfloat16 and not mp.scaler.is_enabled() and notes == []
    with mp.autocast():
        out = torch.nn.Linear(4, 2)(torch.ones(1, 4))
    assert out.dtype == torch.bfloat16


def test_unknown_precision_is_refused(tiny_config: Callable[..., TrainConfig]):
    with pytest.raises(ConfigError, match="run.precision must be one of"):
        tiny_config(run={"precision": "fp8"})
    with pytest.raises(ConfigError, match="run.precision"):
        mixed_precision("half", CPU, [])


def test_scaler_step_unscales_before_clipping_and_skips_infinite_gradients():
    """fp16's step order, on the CPU's own GradScaler: the reported norm and the clipping are
    those of the true gradients; a step with an inf gradient leaves the weights and halves the
    scale."""
    param = torch.nn.Parameter(torch.ones(4))
    module = torch.nn.ParameterList([param])
    optimiser = torch.optim.SGD([param], lr=0.5)
    mp = MixedPrecision("cpu", None, torch.amp.GradScaler("cpu", init_scale=1024.0))
    mp.backward((param * torch.tensor([3.0, 0.0, 0.0, 4.0])).sum())  # gradient norm 5
    assert param.grad is not None and param.grad[0] == 3.0 * 1024
    assert mp.step(optimiser, module, grad_clip=1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(param.detach(), [1 - 0.5 * 0.6, 1, 1, 1 - 0.5 * 0.8], rtol=1e-6)
    before, scale = param.detach().clone(), mp.scaler.get_scale()
    optimiser.zero_grad()
    mp.backward(param.sum() * torch.tensor(math.inf))
    assert math.isinf(mp.step(optimiser, module, grad_clip=1.0))
    assert torch.equal(param.detach(), before) and mp.scaler.get_scale() == scale / 2
    assert mp.state_dict()["scale"] == scale / 2


@pytest.fixture(scope="module")
def fp32_run(tmp_path_factory: pytest.TempPathFactory,
             tiny_config: Callable[..., TrainConfig]) -> TrainResult:
    """Two steps of the tiny config in fp32 (the reference)."""
    return Trainer(tiny_config(run={"max_steps": 2}), tmp_path_factory.mktemp("fp32")).run()


def test_fp16_on_the_cpu_trains_in_fp32_with_a_note(fp32_run: TrainResult,
                                                    tiny_config: Callable[..., TrainConfig],
                                                    tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING):
        fp16 = Trainer(tiny_config(run={"max_steps": 2, "precision": "fp16"}), tmp_path).run()
    assert "fp16 mixed precision needs CUDA (its gradient scaler): training in fp32 on cpu" \
        in caplog.text
    assert fp16.losses == fp32_run.losses


def test_bf16_training_on_the_cpu(fp32_run: TrainResult,
                                  tiny_config: Callable[..., TrainConfig], tmp_path: Path):
    """The same two steps in bf16 autocast: close to fp32, not equal (autocast was on); the
    weights stay fp32."""
    bf16 = Trainer(tiny_config(run={"max_steps": 2, "precision": "bf16"}), tmp_path).run()
    ours, theirs = [v for _, v in bf16.losses], [v for _, v in fp32_run.losses]
    assert ours != theirs and ours == pytest.approx(theirs, rel=0.05)
    assert bf16.module is not None
    assert all(p.dtype == torch.float32 for p in bf16.module.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 with a gradient scaler needs CUDA")
def test_fp16_on_cuda_scales_and_resumes_the_scale(tiny_config: Callable[..., TrainConfig],
                                                   tmp_path: Path):
    config = tiny_config(run={"max_steps": 2, "precision": "fp16", "device": "cuda"})
    first = Trainer(config, tmp_path)
    assert first.state.precision is not None and first.state.precision.scaler.is_enabled()
    result = first.run()
    assert all(math.isfinite(v) for _, v in result.losses)
    saved = torch.load(tmp_path / STATE_FILE, weights_only=True)["scaler"]
    assert saved["scale"] > 0
    resumed = Trainer(tiny_config(run={"max_steps": 3, "precision": "fp16", "device": "cuda"}),
                      tmp_path, resume=True)
    assert resumed.state.precision is not None
    assert resumed.state.precision.scaler.get_scale() == saved["scale"]
