"""NLSPN [``nlspn``]: registration and the no-weights message, the network's shapes and dtypes, a
seeded golden output, a loss that falls on a real crop, the authors' checkpoint format (their
exact key names and shapes, weights-only, legacy offsets) and this package's format 2, device and
precision fallbacks.

The golden output (``golden/nlspn.npz``) was written once from this code; rewrite it only for a
deliberate change of the network, and say so in the commit::

    .venv/bin/python test/models/test_nlspn.py
"""
from __future__ import annotations

import argparse
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.cli.models import format_table
from depth_completion_ros.errors import CheckpointError, ConfigError, MissingWeightsError
from depth_completion_ros.models import ModelInput, get_entry, get_model
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.nlspn import INPUT_SPEC
from depth_completion_ros.networks.nlspn import NLSPNNet
from depth_completion_ros.networks.propagation.nlspn import NLSPNPropagation

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "nlspn.npz"
AUTHORS_KEYS = HERE / "nlspn_authors_keys.json"
#: the small CPU variant at test size
SMALL = {"backbone_depth": 18, "width": 8, "prop_time": 4}


def _net(config: dict = SMALL, **kwargs) -> NLSPNNet:
    return NLSPNNet(config["backbone_depth"], config["width"], prop_time=config["prop_time"],
                    **kwargs)


# --- registry, message, config ---------------------------------------------------------------

def test_registered_as_rgb_plus_lidar_completion_without_shipped_weights():
    entry = get_entry("nlspn")
    assert entry.spec.required == (ModelInput.RGB, ModelInput.SPARSE_DEPTH)
    assert entry.weights == () and not entry.spec.needs_gpu
    row = next(line for line in format_table().splitlines() if line.startswith("nlspn "))
    assert "rgb+sparse_depth" in row and "NLSPN" in row


def test_without_a_checkpoint_the_error_says_where_weights_come_from():
    with pytest.raises(MissingWeightsError) as info:
        get_model("nlspn")
    message = str(info.value)
    assert "\n" not in message
    for part in ("none are shipped", "NLSPN_KITTI_DC.pt", "zzangjinsun/NLSPN_ECCV20",
                 "--checkpoint", "'checkpoint' parameter", "depth-completion train"):
        assert part in message


@pytest.mark.parametrize("values, match", [
    ({"backbone_depth": 50}, "backbone_depth must be 18 or 34, got 50"),
    ({"width": 30}, "width must be a positive multiple of 4, got 30"),
    ({"prop_kernel": 4}, "prop_kernel must be odd and >= 3, got 4"),
    ({"affinity_gamma": 0.0}, "affinity_gamma must be > 0"),
    ({"legacy_offsets": "yes"}, "legacy_offsets must be true, false or null, got 'yes'"),
    ({"prop_times": 3}, "unknown key"),
])
def test_bad_config_is_a_config_error_before_the_weights_are_asked_for(values, match):
    with pytest.raises(ConfigError, match=match):
        get_model("nlspn", values)


def test_input_spec_is_the_authors_kitti_preprocessing():
    assert INPUT_SPEC.crop.box(375, 1242) == (13, 23, 1216, 352)
    assert INPUT_SPEC.rgb_mean == (0.485, 0.456, 0.406)
    assert INPUT_SPEC.rgb_std == (0.229, 0.224, 0.225)
    assert INPUT_SPEC.depth_scale == 1.0 and INPUT_SPEC.stride == 1


# --- the network -----------------------------------------------------------------------------

def test_sampling_positions_stay_float32_in_half_precision():
    """A 1216-pixel-wide ramp (depth = column), every neighbour offset (0.3, 0.3), equal
    affinities: one step gives column + 0.3 (bf16 rounds the offset to 0.30078). Positions
    normalised in bf16 would be off by up to 2.4 px near the right edge."""
    layer = NLSPNPropagation(8, prop_time=1, preserve_input=False)
    with torch.no_grad():
        layer.conv_offset_aff.bias[:16] = 0.3
        layer.conv_offset_aff.bias[16:] = 1.0
    layer = layer.to(torch.bfloat16)
    height, width = 8, 1216
    ramp = torch.arange(width, dtype=torch.float32).expand(1, 1, height, width)
    with torch.no_grad():
        out = layer(ramp, torch.zeros(1, 8, height, width, dtype=torch.bfloat16),
                    torch.ones(1, 1, height, width, dtype=torch.bfloat16),
                    torch.zeros(1, 1, height, width))
    assert out.dtype == torch.float32
    inner = out[0, 0, 3, 2:-2] - ramp[0, 0, 3, 2:-2]  # neighbours and offsets inside
    torch.testing.assert_close(inner, torch.full_like(inner, 0.30078125), rtol=0, atol=2e-3)


def _deterministic(net: NLSPNNet, formula_weights) -> None:
    """:func:`formula_weights`, then the propagation's constants as the authors' file holds
    them."""
    formula_weights(net)
    with torch.no_grad():
        prop = net.prop_layer
        prop.w.fill_(1.0)
        prop.b.zero_()
        prop.w_conf.fill_(1.0)
        prop.aff_scale_const.fill_(4.0)


GOLDEN_SIZE = (23, 37)


def _golden_outputs(formula_weights, formula_inputs) -> dict[str, np.ndarray]:
    rgb, sparse = formula_inputs(*GOLDEN_SIZE)
    outputs = {}
    for legacy in (False, True):
        net = _net(legacy_offsets=legacy).eval()
        _deterministic(net, formula_weights)
        with torch.no_grad():
            outputs[f"legacy_{legacy}"] = net(rgb, sparse, torch.eye(3)[None]).numpy()
    return outputs


def test_seeded_output_matches_the_golden_tensor(formulas):
    golden = np.load(GOLDEN)
    got = _golden_outputs(*formulas)
    assert sorted(golden.files) == sorted(got)
    for key, value in got.items():
        np.testing.assert_allclose(value, golden[key], rtol=1e-4, atol=1e-4, err_msg=key)
    # the two offset behaviours differ, so the golden pins both
    assert np.abs(got["legacy_True"] - got["legacy_False"]).max() > 1e-2


# --- training signal -------------------------------------------------------------------------

# --- the authors' checkpoint format ----------------------------------------------------------

def _authors_state_dict() -> dict[str, torch.Tensor]:
    """Random tensors under exactly the authors' key names and shapes (the JSON fixture, written
    from their code, not from this package's modules)."""
    keys = json.loads(AUTHORS_KEYS.read_text())["keys"]
    generator = torch.Generator().manual_seed(0)
    state = {}
    for name, shape in keys.items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(1000, dtype=torch.int64)
        elif name.endswith("running_var"):
            state[name] = 0.5 + torch.rand(shape, generator=generator)
        else:
            state[name] = 0.05 * torch.randn(shape, generator=generator)
    state["prop_layer.w"] = torch.ones(1, 1, 3, 3)
    state["prop_layer.b"] = torch.zeros(1)
    state["prop_layer.w_conf"] = torch.ones(1, 1, 1, 1)
    state["prop_layer.aff_scale_const"] = torch.tensor([3.7])
    return state


@pytest.fixture(scope="module")
def authors_file(tmp_path_factory) -> tuple[Path, dict[str, torch.Tensor]]:
    """``{'net': state_dict, 'args': Namespace}`` as their training script saves it."""
    state = _authors_state_dict()
    path = tmp_path_factory.mktemp("authors") / "NLSPN_KITTI_DC.pt"
    args = argparse.Namespace(network="resnet34", prop_time=18, prop_kernel=3,
                              affinity="TGASS", affinity_gamma=0.5, conf_prop=True,
                              preserve_input=False, betas=(0.9, 0.999), pretrain=None)
    torch.save({"net": state, "args": args}, path)
    return path, state


def test_the_authors_file_loads_strictly_with_legacy_offsets(authors_file, caplog):
    path, state = authors_file
    caplog.set_level("INFO", logger="depth_completion_ros.models.nlspn_loading")
    model = get_model("nlspn", checkpoint=path, device="cpu")
    net = model.engine.module
    assert net.prop_layer.legacy_offsets is True and net.prop_layer.prop_time == 18
    assert set(net.state_dict()) == set(state)
    for name in ("conv1_rgb.0.weight", "conv5.2.bn2.running_var", "dec2.0.weight",
                 "cf_dec0.0.bias", "prop_layer.conv_offset_aff.weight",
                 "prop_layer.aff_scale_const"):
        assert torch.equal(net.state_dict()[name], state[name]), name
    assert any("NLSPN authors' format" in note and "legacy offsets on" in note
               for note in model.engine.notes)
    assert "NLSPN authors' format" in caplog.text
    rng = np.random.default_rng(0)
    sparse = np.where(rng.random((30, 44)) < 0.1, 20.0, 0.0).astype(np.float32)
    out = model.predict(rng.integers(0, 255, (30, 44, 3), dtype=np.uint8), sparse, np.eye(3))
    assert out.depth.shape == (30, 44) and np.isfinite(out.depth).all()


def test_the_authors_file_with_legacy_offsets_turned_off(authors_file):
    model = get_model("nlspn", {"legacy_offsets": False}, checkpoint=authors_file[0],
                      device="cpu")
    assert model.engine.module.prop_layer.legacy_offsets is False
    assert any("legacy offsets off (config)" in note for note in model.engine.notes)


def test_a_bare_net_dict_loads_too(tmp_path):
    """The README's conversion keeps only ``{'net': state_dict}``."""
    path = tmp_path / "net_only.pt"
    torch.save({"net": _authors_state_dict()}, path)
    assert get_model("nlspn", checkpoint=path, device="cpu").engine.module.prop_layer \
        .legacy_offsets is True


@pytest.mark.parametrize("change, match", [
    (lambda s: s.pop("cf_dec0.0.bias"), r"missing keys: \['cf_dec0.0.bias'\]"),
    (lambda s: s.update({"extra.weight": torch.zeros(1)}), r"unexpected keys: \['extra.weight'\]"),
    (lambda s: s.update({"gd_dec0.0.weight": torch.zeros(9, 128, 3, 3)}),
     r"gd_dec0.0.weight: checkpoint \(9, 128, 3, 3\) vs model \(8, 128, 3, 3\)"),
])
def test_an_authors_file_that_does_not_match_is_refused_by_name(tmp_path, change, match):
    state = _authors_state_dict()
    change(state)
    path = tmp_path / "bad.pt"
    torch.save({"net": state}, path)
    with pytest.raises(CheckpointError, match=f"NLSPN authors' format.*{match}"):
        get_model("nlspn", checkpoint=path, device="cpu")


_UNPICKLED: list[str] = []


def _side_effect() -> str:
    _UNPICKLED.append("code ran")
    return "boom"


class _Payload:
    def __reduce__(self):
        return (_side_effect, ())


def test_a_file_holding_other_python_objects_is_refused_without_running_them(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"net": {"conv1_rgb.0.bias": torch.zeros(48)}, "hook": _Payload()}, path)
    with pytest.raises(CheckpointError, match=r"holds Python objects that a weights-only load "
                                              r"refuses \(.*_side_effect.*never unpickles"):
        get_model("nlspn", checkpoint=path, device="cpu")
    assert _UNPICKLED == []


def test_a_file_in_neither_format_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"model": {"w": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="neither a depth_completion_ros checkpoint nor "
                                              "in the authors' format"):
        get_model("nlspn", checkpoint=path, device="cpu")


# --- this package's format 2 -----------------------------------------------------------------

def _package_file(folder: Path, *, legacy: bool | None = None, config: dict = SMALL) -> Path:
    net = _net(config)
    stored = {**config, "legacy_offsets": legacy}
    meta = CheckpointMeta(model="nlspn", config=stored, training_data="none (test)",
                          input_spec=INPUT_SPEC, data_license="CC0")
    return save_checkpoint(folder / "nlspn_small.pt", net, meta)


@pytest.mark.parametrize("stored, requested, expected", [
    (None, None, False), (True, None, True), (True, False, False), (None, True, True)])
def test_package_format_legacy_offsets_from_config_then_checkpoint(tmp_path, stored, requested,
                                                                   expected):
    path = _package_file(tmp_path, legacy=stored)
    model = get_model("nlspn", {**SMALL, "legacy_offsets": requested}, checkpoint=path,
                      device="cpu")
    assert model.engine.module.prop_layer.legacy_offsets is expected
    assert not any("authors" in note for note in model.engine.notes)


def test_package_format_with_another_architecture_says_how_to_build_it(tmp_path):
    path = _package_file(tmp_path)
    with pytest.raises(CheckpointError, match=r"trained with backbone_depth=18 \(config: 34\), "
                                              r"width=8 \(config: 64\).*--set backbone_depth=18 "
                                              r"--set width=8"):
        get_model("nlspn", checkpoint=path, device="cpu")


# --- CUDA (run where a GPU exists) -----------------------------------------------------------

if __name__ == "__main__":
    helpers = runpy.run_path(str(HERE / "conftest.py"))
    np.savez(GOLDEN, **_golden_outputs(helpers["formula_weights"], helpers["formula_inputs"]))
    print(f"wrote {GOLDEN}")
