"""Registry: lookup errors, typed configs, presets, temporary registration, and every registered
model run on the embedded sample frame (learned models join by registering)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from depth_completion_ros.errors import ConfigError, MissingWeightsError, ModelError
from depth_completion_ros.models import (
    ModelInput,
    ModelSpec,
    get_entry,
    get_model,
    list_models,
    load_preset,
    register_model,
    temporary_model,
)
from depth_completion_ros.models.registry import build_config


def test_unknown_name_lists_valid_names():
    with pytest.raises(ModelError, match="classical.*ip_basic.*nearest"):
        get_model("no_such_model")


def test_duplicate_registration_raises():
    @dataclass(frozen=True)
    class Cfg:
        a: int = 1
    with pytest.raises(ModelError, match="already registered"):
        register_model(ModelSpec("classical", (ModelInput.SPARSE_DEPTH,)),
                       factory=lambda *a, **k: None, config_cls=Cfg)


def test_temporary_model_is_registered_inside_the_block_only():
    @dataclass(frozen=True)
    class Cfg:
        a: int = 1
    spec = ModelSpec("test_temporary", (ModelInput.RGB,), description="stand-in")
    with pytest.raises(RuntimeError, match="boom"):
        with temporary_model(spec, factory=lambda cfg, **kw: cfg, config_cls=Cfg) as entry:
            assert get_entry("test_temporary") is entry and entry.description == "stand-in"
            assert get_model("test_temporary", {"a": 2}) == Cfg(2)
            raise RuntimeError("boom")
    assert "test_temporary" not in [e.name for e in list_models()]
    with pytest.raises(ModelError, match="unknown model 'test_temporary'"):
        get_model("test_temporary")


@pytest.mark.parametrize("kwargs, match", [
    ({"device": "tpu"}, r"device: expected one of \['auto', 'cpu', 'cuda'\], got 'tpu'"),
    ({"precision": "fp8"}, r"precision: expected one of \['fp32', 'fp16', 'bf16'\], got 'fp8'"),
])
def test_unknown_device_or_precision_is_a_model_error(kwargs, match):
    with pytest.raises(ModelError, match=match):
        get_model("classical", **kwargs)


@pytest.mark.parametrize("required, optional, match", [
    ((), (), "at least one input must be required"),
    ((ModelInput.RGB,), (ModelInput.RGB,), "both required and optional"),
    (("depth",), (), "inputs must be among"),
])
def test_bad_specs_raise(required, optional, match):
    with pytest.raises(ModelError, match=match):
        ModelSpec("bad", required, optional)


@pytest.mark.parametrize("required, optional, without_lidar, needs_image", [
    ((ModelInput.RGB,), (ModelInput.SPARSE_DEPTH,), True, True),       # RGB-only prediction
    ((ModelInput.RGB, ModelInput.SPARSE_DEPTH), (), False, True),      # RGB + LiDAR completion
    ((ModelInput.SPARSE_DEPTH,), (), False, False),                    # LiDAR-only completion
])
def test_spec_expresses_the_three_kinds_of_model(required, optional, without_lidar, needs_image):
    spec = ModelSpec("m", required, optional)
    assert (spec.runs_without_lidar, spec.needs_image) == (without_lidar, needs_image)
    assert spec.missing(rgb=True, sparse_depth=True) == ()
    assert spec.missing(rgb=False, sparse_depth=False) == spec.required


def test_unknown_config_key_names_key_and_valid_keys():
    with pytest.raises(ConfigError, match="'blurr'.*blur_px"):
        get_model("classical", {"blurr": 5})


@pytest.mark.parametrize("values, message", [
    ({"blur_px": "5"}, "expected int"),
    ({"blur_px": True}, "expected int"),
    ({"blur_px": 4}, "odd"),
])
def test_bad_config_values_raise(values, message):
    with pytest.raises(ConfigError, match=message):
        get_model("classical", values)


def test_config_ints_accepted_for_floats_and_lists_become_tuples():
    @dataclass(frozen=True)
    class Cfg:
        scale: float = 1.0
        size: tuple = (1, 2)
    cfg = build_config(Cfg, {"scale": 2, "size": [3, 4]}, source="test")
    assert cfg == Cfg(2.0, (3, 4)) and isinstance(cfg.scale, float)


def test_preset_round_trip_and_unknown_key(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("model: classical\nconfig:\n  blur_px: 9\n")
    name, config = load_preset(good)
    assert (name, config) == ("classical", {"blur_px": 9})
    assert get_model(name, config).config.blur_px == 9
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: classical\nconfg: {}\n")
    with pytest.raises(ConfigError, match="confg"):
        load_preset(bad)


def test_shipped_presets_load():
    from depth_completion_ros.paths import config_dir
    presets = sorted((config_dir() / "models").glob("*.yaml"))
    assert presets, "no model presets in config/models"
    for path in presets:
        name, config = load_preset(path)
        assert get_model(name, config).name == name


def _runnable(entry):
    """Skip (with the reason) a model that cannot run here: GPU-only without CUDA, or default
    weights not present (a clone without checkpoints)."""
    if entry.spec.needs_gpu and not torch.cuda.is_available():
        pytest.skip("needs a GPU")
    weights = entry.default_weights
    if weights is not None and not weights.path().is_file():
        pytest.skip(f"weights {weights.file} not present")


def _model(entry):
    """``get_model(entry.name)``; skipped for a learned model that ships no weights (its own
    tests load it from a checkpoint)."""
    _runnable(entry)
    try:
        return get_model(entry.name)
    except MissingWeightsError as err:
        pytest.skip(f"no weights shipped: {err}")


@pytest.mark.parametrize("entry", list_models(), ids=lambda e: e.name)
def test_every_registered_model_keeps_the_output_convention_on_the_sample(
        entry, sample_frame, on_sample, output_convention):
    """Frame 0 of the embedded sample, 64 lines: shape, dtypes, NaN <-> confidence 0, finite
    depth near the LiDAR's at the measured pixels."""
    model = _model(entry)
    assert model.name == entry.name and model.spec == entry.spec
    output_convention(on_sample(model, sample_frame), sample_frame,
                      near_lidar=not entry.spec.runs_without_lidar)


@pytest.mark.parametrize("entry", [e for e in list_models() if not e.spec.runs_without_lidar],
                         ids=lambda e: e.name)
def test_every_completion_model_fills_between_two_constant_beams(entry):
    """Two beams (rows 4 and 12) of constant depth 10 m: 10 m between them."""
    model = _model(entry)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (16, 24, 3), dtype=np.uint8)
    sparse = np.zeros((16, 24), np.float32)
    sparse[4, :] = 10.0
    sparse[12, :] = 10.0
    out = model.predict(rgb, sparse, np.eye(3))
    np.testing.assert_allclose(out.depth[4:13], 10.0, rtol=1e-3)


@pytest.mark.parametrize("name", ["classical", "ip_basic", "nearest"])
def test_learning_free_models_refuse_a_checkpoint_and_lidar_free_calls(name, tmp_path):
    with pytest.raises(ModelError, match=f"model '{name}' is learning-free and takes no"):
        get_model(name, checkpoint=tmp_path / "weights.pt")
    model = get_model(name)
    with pytest.raises(ModelError, match=rf"model '{name}' needs a sparse depth \(LiDAR\): it "
                                         r"requires \['sparse_depth'\], got \['rgb'\]"):
        model.predict(np.zeros((4, 4, 3), np.uint8), None, np.eye(3))
    out = model.predict(None, np.full((4, 4), 5.0, np.float32), np.eye(3))  # no image needed
    np.testing.assert_allclose(out.depth, 5.0, rtol=1e-3)
