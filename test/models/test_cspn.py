"""CSPN [``cspn``]: registration and the no-weights message, the network's shapes and dtypes, a
golden output from formula weights, a loss that falls on a real crop, this package's checkpoint
format (strict, architecture and input spec checked), device and precision fallbacks.

The golden output (``golden/cspn.npz``) was written once from this code; rewrite it only for a
deliberate change of the network, and say so in the commit::

    .venv/bin/python test/models/test_cspn.py
"""
from __future__ import annotations

import runpy
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.cli.main import main
from depth_completion_ros.cli.models import format_table
from depth_completion_ros.errors import CheckpointError, ConfigError, MissingWeightsError
from depth_completion_ros.models import ModelInput, get_entry, get_model
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.cspn import INPUT_SPEC, CSPNConfig, build_network
from depth_completion_ros.networks.cspn import CSPNNet
from depth_completion_ros.networks.losses import masked_l1_l2

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "cspn.npz"
GOLDEN_SIZE = (23, 37)
#: the small CPU variant at test size
SMALL = CSPNConfig(backbone_depth=18, width=8, prop_time=6)


def test_registered_as_rgb_plus_lidar_completion_without_shipped_weights():
    entry = get_entry("cspn")
    assert entry.spec.required == (ModelInput.RGB, ModelInput.SPARSE_DEPTH)
    assert entry.weights == () and not entry.spec.needs_gpu
    row = next(line for line in format_table().splitlines() if line.startswith("cspn "))
    assert "rgb+sparse_depth" in row and "CSPN" in row


def test_without_a_checkpoint_the_error_says_where_weights_come_from():
    with pytest.raises(MissingWeightsError) as info:
        get_model("cspn")
    message = str(info.value)
    assert "\n" not in message
    for part in ("none are shipped", "released none for KITTI", "depth-completion train",
                 "--checkpoint", "'checkpoint' parameter"):
        assert part in message


def test_predict_without_weights_is_one_error_line_and_status_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--kitti-dc", "nowhere", "--model", "cspn", "--out", "out"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("depth-completion predict: error: model 'cspn' has no weights")


@pytest.mark.parametrize("values, match", [
    ({"backbone_depth": 50}, "backbone_depth must be 18 or 34, got 50"),
    ({"width": 30}, "width must be a positive multiple of 4, got 30"),
    ({"prop_time": -1}, "prop_time must be >= 0, got -1"),
    ({"spread_scale": 0.0}, r"spread_scale must be > 0 \(metres\)"),
    ({"centre_from_initial": "yes"}, "'centre_from_initial': expected bool, got 'yes'"),
    ({"prop_times": 3}, "unknown key"),
])
def test_bad_config_is_a_config_error_before_the_weights_are_asked_for(values, match):
    with pytest.raises(ConfigError, match=match):
        get_model("cspn", values)


# --- the network -----------------------------------------------------------------------------

@pytest.mark.parametrize("height, width", [(1, 1), (9, 13), (20, 31)])
@pytest.mark.parametrize("batch", [1, 2])
def test_forward_shapes_and_dtypes_at_odd_sizes(height, width, batch):
    torch.manual_seed(0)
    net = build_network(SMALL).eval()
    rgb, sparse = torch.randn(batch, 3, height, width), torch.rand(batch, 1, height, width) * 20
    with torch.no_grad():
        out = net(rgb, sparse, torch.eye(3).expand(batch, 3, 3))
        parts = net.outputs(rgb, sparse)
    assert out.shape == (batch, 2, height, width) and out.dtype == torch.float32
    assert parts.initial.shape == parts.support.shape == (batch, 1, height, width)
    assert parts.gates.shape == (batch, 8, height, width)
    assert (out[:, 0] >= 0).all() and ((out[:, 1] >= 0) & (out[:, 1] <= 1)).all()


def test_half_precision_network_returns_float32(formulas):
    torch.manual_seed(1)
    net = build_network(SMALL).eval().to(torch.bfloat16)  # bf16 on the CPU stands in for CUDA
    rgb, sparse = formulas[1](24, 40)
    with torch.no_grad():
        out = net(rgb.bfloat16(), sparse.bfloat16(), torch.eye(3)[None])
    assert out.dtype == torch.float32 and out.shape == (1, 2, 24, 40) and out.isfinite().all()


def _golden_outputs(formula_weights, formula_inputs) -> dict[str, np.ndarray]:
    rgb, sparse = formula_inputs(*GOLDEN_SIZE)
    outputs = {}
    for centre_from_initial in (False, True):
        net = build_network(replace(SMALL, centre_from_initial=centre_from_initial)).eval()
        formula_weights(net)
        with torch.no_grad():
            outputs[f"centre_from_initial_{centre_from_initial}"] = net(
                rgb, sparse, torch.eye(3)[None]).numpy()
    return outputs


def test_formula_weights_output_matches_the_golden_tensor(formulas):
    golden = np.load(GOLDEN)
    got = _golden_outputs(*formulas)
    assert sorted(golden.files) == sorted(got)
    for key, value in got.items():
        np.testing.assert_allclose(value, golden[key], rtol=1e-4, atol=1e-4, err_msg=key)
    # the two centre terms differ, so the golden pins both
    assert np.abs(got["centre_from_initial_True"] - got["centre_from_initial_False"]).max() > 1e-2


# --- training signal -------------------------------------------------------------------------

def test_loss_falls_within_a_few_adamw_steps_on_a_real_crop(sample_frame):
    """Bottom 96x160 of frame 0 (64 lines): half the measured pixels in, the other half as the
    target; the small variant, AdamW."""
    y0, x0, h, w = sample_frame.rgb.shape[0] - 96, 500, 96, 160
    rgb = torch.from_numpy(sample_frame.rgb[y0:y0 + h, x0:x0 + w]).permute(2, 0, 1)[None]
    mean = torch.tensor(INPUT_SPEC.rgb_mean).view(1, 3, 1, 1)
    std = torch.tensor(INPUT_SPEC.rgb_std).view(1, 3, 1, 1)
    rgb = (rgb.float() / 255.0 - mean) / std
    sparse = torch.from_numpy(sample_frame.sparse[y0:y0 + h, x0:x0 + w])[None, None]
    keep = torch.rand(sparse.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    given, target = torch.where(keep, sparse, 0.0), torch.where(keep, 0.0, sparse)
    assert (given > 0).sum() > 300 and (target > 0).sum() > 300
    torch.manual_seed(0)
    net = CSPNNet(18, 16, prop_time=8).train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        optimiser.zero_grad()
        loss = masked_l1_l2(net.outputs(rgb, given).depth, target)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses


# --- this package's checkpoint format --------------------------------------------------------

def _package_file(folder: Path, config: CSPNConfig = SMALL) -> Path:
    torch.manual_seed(2)
    meta = CheckpointMeta(model="cspn", config=asdict(config), training_data="none (test)",
                          input_spec=INPUT_SPEC, data_license="CC0")
    return save_checkpoint(folder / "cspn_small.pt", build_network(config), meta)


def test_a_checkpoint_loads_strictly_and_predicts_at_full_size(tmp_path, sample_frame,
                                                                output_convention):
    path = _package_file(tmp_path)
    model = get_model("cspn", asdict(SMALL), checkpoint=path, device="cpu")
    saved = torch.load(path, weights_only=True)["state_dict"]
    for name, value in model.engine.module.state_dict().items():
        assert torch.equal(value.cpu(), saved[name]), name
    out = model.predict(sample_frame.rgb, sample_frame.sparse, sample_frame.K)
    assert out.depth.shape == sample_frame.sparse.shape
    assert np.isnan(out.depth[:, :13]).all()  # outside the 1216x352 crop
    assert np.isfinite(out.depth[-352:, 13:13 + 1216]).all()
    measured = sample_frame.sparse[-352:, 13:13 + 1216] > 0
    np.testing.assert_array_equal(out.depth[-352:, 13:13 + 1216][measured],
                                  sample_frame.sparse[-352:, 13:13 + 1216][measured])


def test_a_checkpoint_of_another_architecture_says_how_to_build_it(tmp_path):
    path = _package_file(tmp_path)
    with pytest.raises(CheckpointError, match=r"trained with backbone_depth=18 \(config: 34\), "
                                              r"width=8 \(config: 64\).*--set backbone_depth=18 "
                                              r"--set width=8"):
        get_model("cspn", checkpoint=path, device="cpu")


def test_an_nlspn_checkpoint_is_refused_by_name(tmp_path):
    meta = CheckpointMeta(model="nlspn", config=asdict(SMALL), input_spec=INPUT_SPEC)
    path = save_checkpoint(tmp_path / "other.pt", build_network(SMALL), meta)
    with pytest.raises(CheckpointError, match="is for model 'nlspn', not 'cspn'"):
        get_model("cspn", asdict(SMALL), checkpoint=path, device="cpu")


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(b"\x00not a torch file")
    with pytest.raises(CheckpointError, match="unreadable"):
        get_model("cspn", checkpoint=path, device="cpu")


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_half_precision_on_the_cpu_runs_in_fp32_with_a_note(tmp_path, precision):
    model = get_model("cspn", asdict(SMALL), checkpoint=_package_file(tmp_path), device="cpu",
                      precision=precision)
    assert f"{precision} requested on cpu: running in fp32" in model.engine.notes
    out = model.predict(np.zeros((20, 30, 3), np.uint8), np.full((20, 30), 5.0, np.float32),
                        np.eye(3))
    assert out.depth.dtype == np.float32 and np.isfinite(out.depth).all()


# --- CUDA (run where a GPU exists) -----------------------------------------------------------

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision, rel_p99", [("fp32", 1e-3), ("fp16", 0.05), ("bf16", 0.1)])
def test_cuda_agrees_with_the_cpu(precision, rel_p99, formulas):
    """Same weights and inputs: the 99th percentile of |cuda - cpu| / max(cpu, 1 m)."""
    net = build_network(CSPNConfig()).eval()
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


if __name__ == "__main__":
    helpers = runpy.run_path(str(HERE / "conftest.py"))
    np.savez(GOLDEN, **_golden_outputs(helpers["formula_weights"], helpers["formula_inputs"]))
    print(f"wrote {GOLDEN}")
