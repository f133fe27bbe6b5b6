"""Registry: lookup errors, typed configs, presets, and every registered model run forward."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from depth_completion_ros.errors import ConfigError, ModelError
from depth_completion_ros.models import get_model, list_models, load_preset, register_model
from depth_completion_ros.models.base import ModelCapabilities
from depth_completion_ros.models.registry import build_config


def test_unknown_name_lists_valid_names():
    with pytest.raises(ModelError, match="classical.*ip_basic.*nearest"):
        get_model("no_such_model")


def test_duplicate_registration_raises():
    @dataclass(frozen=True)
    class Cfg:
        a: int = 1
    with pytest.raises(ModelError, match="already registered"):
        register_model("classical", factory=lambda *a, **k: None, config_cls=Cfg,
                       capabilities=ModelCapabilities(True, False), description="dup")


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


@pytest.mark.parametrize("entry", list_models(), ids=lambda e: e.name)
def test_every_registered_model_runs_forward(entry):
    """Two beams (rows 4 and 12) of constant depth: output shape, dtype, range, values."""
    if entry.capabilities.needs_gpu:
        pytest.skip("needs a GPU")
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (16, 24, 3), dtype=np.uint8)
    sparse = np.zeros((16, 24), np.float32)
    sparse[4, :] = 10.0
    sparse[12, :] = 10.0
    out = get_model(entry.name).predict(rgb, sparse, np.eye(3))
    assert out.depth.shape == (16, 24) and out.depth.dtype == np.float32
    assert out.confidence.shape == (16, 24) and out.confidence.dtype == np.float32
    assert np.all((out.confidence >= 0) & (out.confidence <= 1))
    if entry.capabilities.needs_lidar:
        np.testing.assert_allclose(out.depth[4:13], 10.0, rtol=1e-3)


@pytest.mark.parametrize("name", ["classical", "ip_basic", "nearest"])
def test_learning_free_models_refuse_a_checkpoint_and_lidar_free_calls(name, tmp_path):
    with pytest.raises(ModelError, match=f"model '{name}' is learning-free and takes no"):
        get_model(name, checkpoint=tmp_path / "weights.pt")
    model = get_model(name)
    with pytest.raises(ModelError, match=f"model '{name}' needs a sparse depth"):
        model.predict(np.zeros((4, 4, 3), np.uint8), None, np.eye(3))
