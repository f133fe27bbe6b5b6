"""Model config from a preset file and ``--set key=value`` overrides (models/model_config.py)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from depth_completion_ros.errors import ConfigError, ModelError
from depth_completion_ros.evaluation.heldout import iter_drive
from depth_completion_ros.models import get_model
from depth_completion_ros.models.classical import ClassicalConfig, complete
from depth_completion_ros.models.model_config import parse_set, resolve_model_config
from depth_completion_ros.paths import config_dir


@pytest.mark.parametrize("item, key, value", [
    ("blur_px=9", "blur_px", 9),
    ("plane_tolerance=0.05", "plane_tolerance", 0.05),
    ("extrapolate=false", "extrapolate", False),
    ("blur=gaussian", "blur", "gaussian"),
    ("size=[3, 4]", "size", [3, 4]),
    (" blur_px = 9", "blur_px", 9),
    ("name=a=b", "name", "a=b"),
])
def test_set_values_are_yaml_scalars_or_lists(item: str, key: str, value: Any) -> None:
    parsed = parse_set([item])
    assert parsed == {key: value} and type(parsed[key]) is type(value)


def test_a_key_set_twice_keeps_the_last_value() -> None:
    assert parse_set(["blur_px=9", "median_px=5", "blur_px=11"]) == {"blur_px": 11,
                                                                    "median_px": 5}


@pytest.mark.parametrize("item, message", [
    ("blur_px", "expected KEY=VALUE"),
    ("=9", "expected KEY=VALUE"),
    ("blur_px=", "expected KEY=VALUE"),
    ("blur_px=[9", "not a YAML scalar or list"),
    ("blur_px={a: 1}", "got a mapping"),
])
def test_malformed_set_item_is_named(item: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"--set {item!r}") + ".*" + message):
        parse_set(["median_px=5", item])


def test_set_reaches_the_classical_config_and_changes_its_output(sample_dir: Path) -> None:
    rgb, K, frame = next(iter(iter_drive(sample_dir, "32")))
    config = resolve_model_config("classical", None, parse_set(["blur_px=9"]))
    model = get_model("classical", config)
    assert model.config == ClassicalConfig(blur_px=9)
    out = model.predict(rgb, frame.sparse, K)
    default = get_model("classical").predict(rgb, frame.sparse, K)
    expected, _ = complete(frame.sparse, ClassicalConfig(blur_px=9))
    np.testing.assert_array_equal(out.depth, expected)
    finite = np.isfinite(out.depth) & np.isfinite(default.depth)
    assert np.abs(out.depth[finite] - default.depth[finite]).max() > 0.1  # metres


def test_overrides_win_over_the_preset(tmp_path: Path) -> None:
    preset = tmp_path / "mine.yaml"
    preset.write_text("model: classical\nconfig:\n  blur_px: 9\n  median_px: 5\n")
    config = resolve_model_config("classical", preset, {"blur_px": 11})
    assert config == {"blur_px": 11, "median_px": 5}
    assert get_model("classical", config).config == ClassicalConfig(blur_px=11, median_px=5)
    assert resolve_model_config("classical", str(preset), {}) == {"blur_px": 9, "median_px": 5}


def test_no_preset_and_no_overrides_is_the_default_config() -> None:
    assert resolve_model_config("nearest", None, {}) == {}


def test_unknown_key_is_rejected_with_the_valid_keys() -> None:
    with pytest.raises(ConfigError, match=r"model 'classical' \(overrides\): unknown key\(s\) "
                                          r"\['blur'\]; valid keys: \['blur_px', "):
        resolve_model_config("classical", None, {"blur": 9})


def test_a_key_of_another_model_is_rejected(tmp_path: Path) -> None:
    preset = tmp_path / "mine.yaml"
    preset.write_text("model: nearest\nconfig:\n  confidence_scale_px: 4.0\n")
    with pytest.raises(ConfigError, match=rf"preset {preset} \+ overrides\): unknown key\(s\) "
                                          r"\['blur_px'\]"):
        resolve_model_config("nearest", preset, {"blur_px": 9})


@pytest.mark.parametrize("sets, message", [
    ({"blur_px": "wide"}, "key 'blur_px': expected int, got 'wide'"),
    ({"blur_px": 8}, "blur_px must be 0 or a positive odd number, got 8"),
    ({"extrapolate": 1}, "key 'extrapolate': expected bool, got 1"),
])
def test_wrong_type_or_value_is_rejected(sets: dict[str, Any], message: str) -> None:
    model = "ip_basic" if "extrapolate" in sets else "classical"
    with pytest.raises(ConfigError, match=message):
        resolve_model_config(model, None, sets)


def test_preset_of_another_model_is_refused() -> None:
    preset = config_dir() / "models" / "nearest.yaml"
    with pytest.raises(ConfigError, match=r"nearest.yaml is for model 'nearest', not "
                                          r"'classical'"):
        resolve_model_config("classical", preset, {})


def test_unknown_model_lists_the_registered_ones() -> None:
    with pytest.raises(ModelError, match="unknown model 'clasical'; registered models: "
                                         "classical, "):
        resolve_model_config("clasical", None, {})


@pytest.mark.parametrize("path", sorted((config_dir() / "models").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_every_shipped_model_preset_resolves_for_its_model(path: Path) -> None:
    config = resolve_model_config(path.stem, path, {})
    assert config and get_model(path.stem, config).name == path.stem
