"""CSPN [``cspn``]: registration and the no-weights message, config checks, a golden output from
formula weights, this package's checkpoint format (strict, architecture and input spec checked).
What every learned model keeps (shapes, dtypes, loss falls, precision fallbacks):
test_learned.py; the propagation: test/networks/propagation/test_cspn_propagation.py.

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

from depth_completion_ros.cli.models import format_table
from depth_completion_ros.errors import CheckpointError, ConfigError, MissingWeightsError
from depth_completion_ros.models import ModelInput, get_entry, get_model
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.cspn import INPUT_SPEC, CSPNConfig, build_network

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

# --- this package's checkpoint format --------------------------------------------------------

def test_a_checkpoint_loads_strictly_and_predicts_at_full_size(tmp_path, sample_frame,
                                                                learned_checkpoint):
    path = learned_checkpoint("cspn", tmp_path / "cspn_small.pt", asdict(SMALL))
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


def test_a_checkpoint_of_another_architecture_says_how_to_build_it(tmp_path,
                                                                     learned_checkpoint):
    path = learned_checkpoint("cspn", tmp_path / "cspn_small.pt", asdict(SMALL))
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


# --- CUDA (run where a GPU exists) -----------------------------------------------------------

if __name__ == "__main__":
    helpers = runpy.run_path(str(HERE / "conftest.py"))
    np.savez(GOLDEN, **_golden_outputs(helpers["formula_weights"], helpers["formula_inputs"]))
    print(f"wrote {GOLDEN}")
