"""What every learned model keeps, run for each (``nlspn``, ``cspn``) through the registry's network
builder: no weights is one error line; shapes and dtypes at odd sizes and batches; half precision
returns float32; the loss falls within a few optimiser steps on a real crop; device and precision
fallbacks with notes; CPU / CUDA agreement where a GPU exists. Model-specific facts (propagation,
golden outputs, checkpoint formats) are in each model's own test module."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_completion_ros.cli.main import main
from depth_completion_ros.models import get_entry, get_model
from depth_completion_ros.models.registry import build_config
from depth_completion_ros.networks.losses import masked_l1_l2

LEARNED = ("nlspn", "cspn")
#: the small CPU variant at test size
TINY = {"backbone_depth": 18, "width": 8, "prop_time": 4}


def _net(model: str, config: dict | None = None) -> torch.nn.Module:
    entry = get_entry(model)
    assert entry.network is not None
    return entry.network.build(build_config(entry.config_cls, config or TINY, source="test"))


@pytest.mark.parametrize("model", LEARNED)
def test_predict_without_weights_is_one_error_line_and_status_2(model, capsys, tmp_path,
                                                                monkeypatch):
    """(evaluate: test/evaluation/test_evaluate_learned.py)"""
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--kitti-dc", "nowhere", "--model", model, "--out", "out"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"depth-completion predict: error: model '{model}' has no weights")


@pytest.mark.parametrize("model", LEARNED)
@pytest.mark.parametrize("height, width", [(1, 1), (9, 13), (20, 31)])
@pytest.mark.parametrize("batch", [1, 2])
def test_forward_shapes_and_dtypes_at_odd_sizes(model, height, width, batch):
    torch.manual_seed(0)
    net = _net(model).eval()
    rgb, sparse = torch.randn(batch, 3, height, width), torch.rand(batch, 1, height, width) * 20
    with torch.no_grad():
        out = net(rgb, sparse, torch.eye(3).expand(batch, 3, 3))
        parts = net.outputs(rgb, sparse)
    assert out.shape == (batch, 2, height, width) and out.dtype == torch.float32
    assert parts.initial.shape == parts.confidence.shape == (batch, 1, height, width)
    assert (out[:, 0] >= 0).all() and ((out[:, 1] >= 0) & (out[:, 1] <= 1)).all()
    torch.testing.assert_close(out[:, :1], parts.depth)


@pytest.mark.parametrize("model", LEARNED)
def test_half_precision_network_returns_float32(model, formulas):
    torch.manual_seed(1)
    net = _net(model).eval().to(torch.bfloat16)  # bf16 on the CPU stands in for the GPU's halves
    rgb, sparse = formulas[1](24, 40)
    with torch.no_grad():
        out = net(rgb.bfloat16(), sparse.bfloat16(), torch.eye(3)[None])
    assert out.dtype == torch.float32 and out.shape == (1, 2, 24, 40) and out.isfinite().all()


@pytest.mark.parametrize("model", LEARNED)
def test_loss_falls_within_a_few_adamw_steps_on_a_real_crop(model, sample_frame):
    """Bottom 96x160 of frame 0 (64 lines): half the measured pixels in, the other half as the
    target; the small variant (ResNet-18, width 16), AdamW."""
    y0, x0, h, w = sample_frame.rgb.shape[0] - 96, 500, 96, 160
    entry = get_entry(model)
    assert entry.network is not None
    spec = entry.network.input_spec
    rgb = torch.from_numpy(sample_frame.rgb[y0:y0 + h, x0:x0 + w]).permute(2, 0, 1)[None]
    mean = torch.tensor(spec.rgb_mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.rgb_std).view(1, 3, 1, 1)
    rgb = (rgb.float() / 255.0 - mean) / std
    sparse = torch.from_numpy(sample_frame.sparse[y0:y0 + h, x0:x0 + w])[None, None]
    keep = torch.rand(sparse.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    given, target = torch.where(keep, sparse, 0.0), torch.where(keep, 0.0, sparse)
    assert (given > 0).sum() > 300 and (target > 0).sum() > 300
    torch.manual_seed(0)
    net = _net(model, {"backbone_depth": 18, "width": 16, "prop_time": 6}).train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        optimiser.zero_grad()
        loss = masked_l1_l2(net.outputs(rgb, given).depth, target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses


@pytest.mark.parametrize("model", LEARNED)
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_half_precision_on_the_cpu_runs_in_fp32_with_a_note(model, precision, tmp_path,
                                                             learned_checkpoint):
    path = learned_checkpoint(model, tmp_path / f"{model}.pt", TINY)
    built = get_model(model, TINY, checkpoint=path, device="cpu", precision=precision)
    assert f"{precision} requested on cpu: running in fp32" in built.engine.notes
    out = built.predict(np.zeros((20, 30, 3), np.uint8), np.full((20, 30), 5.0, np.float32),
                        np.eye(3))
    assert out.depth.dtype == np.float32 and np.isfinite(out.depth).all()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback of a CPU-only machine")
@pytest.mark.parametrize("model", LEARNED)
def test_cuda_requested_without_cuda_runs_on_the_cpu_with_a_note(model, tmp_path,
                                                                  learned_checkpoint):
    path = learned_checkpoint(model, tmp_path / f"{model}.pt", TINY)
    built = get_model(model, TINY, checkpoint=path, device="cuda")
    assert built.engine.device.type == "cpu"
    assert "CUDA requested but not available: running on CPU" in built.engine.notes


# --- CUDA (run where a GPU exists) -----------------------------------------------------------

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("model", LEARNED)
@pytest.mark.parametrize("precision, rel_p99", [("fp32", 1e-3), ("fp16", 0.05), ("bf16", 0.1)])
def test_cuda_agrees_with_the_cpu(model, precision, rel_p99, formulas):
    """The paper-size network, the same formula weights and inputs: the 99th percentile of
    |cuda - cpu| / max(cpu, 1 m)."""
    net = _net(model, {}).eval()
    formulas[0](net)
    rgb, sparse = formulas[1](96, 320)
    K = torch.eye(3)[None]
    with torch.no_grad():
        cpu = net(rgb, sparse, K)
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        gpu = net.to("cuda", dtype)(rgb.to("cuda", dtype), sparse.to("cuda", dtype),
                                    K.cuda()).float().cpu()
    rel = (gpu[:, 0] - cpu[:, 0]).abs() / cpu[:, 0].clamp(min=1.0)
    assert torch.quantile(rel.flatten(), 0.99) < rel_p99
