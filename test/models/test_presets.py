"""Every shipped model preset loads, builds its model and matches the config defaults."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from depth_completion_ros.models import get_model
from depth_completion_ros.models.registry import build_config, get_entry, load_preset
from depth_completion_ros.paths import config_dir

PRESETS = sorted((config_dir() / "models").glob("*.yaml"))


def test_presets_are_shipped():
    assert {p.stem for p in PRESETS} >= {"classical", "ip_basic", "nearest"}


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_builds_its_model(path: Path):
    name, config = load_preset(path)
    model = get_model(name, config)
    assert model.name == name == path.stem
    sparse = np.zeros((12, 16), np.float32)
    sparse[[3, 7, 11]] = 5.0  # three beams on a wall 5 m away
    out = model.predict(np.zeros((12, 16, 3), np.uint8), sparse, np.eye(3))
    assert out.depth.shape == out.confidence.shape == (12, 16)
    np.testing.assert_allclose(out.depth[[3, 7, 11]], 5.0, rtol=1e-4)
    assert 0.0 <= out.confidence.min() and out.confidence.max() <= 1.0


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_equals_config_defaults(path: Path):
    """All shipped presets are 'the default' presets: every field listed, at its default."""
    name, config = load_preset(path)
    config_cls = get_entry(name).config_cls
    fields = {f.name for f in dataclasses.fields(config_cls)}
    assert set(config) == fields, f"{path.name} must list every field of {config_cls.__name__}"
    assert build_config(config_cls, config, source=str(path)) == config_cls()
