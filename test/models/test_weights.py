"""Weights described next to the model: a tiny network registered with a WeightsSpec, loaded by
name through the registry (sha256, input spec, strict state dict), and the spec's own checks."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
from torch import nn

from depth_completion_ros import paths
from depth_completion_ros.engine import torch_model_factory
from depth_completion_ros.errors import CheckpointError, ConfigError, ModelError
from depth_completion_ros.geometry.crop import KITTI_CROP
from depth_completion_ros.models import (
    InputSpec,
    ModelInput,
    ModelSpec,
    WeightsSpec,
    get_entry,
    get_model,
    temporary_model,
)
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.weights import file_sha256

SPEC = ModelSpec("test_scaled_lidar", required=(ModelInput.SPARSE_DEPTH,),
                 optional=(ModelInput.RGB,), description="sparse depth times a learned scale")
#: network depth unit 10 m: the dummy's "1 unit where no measurement" is 10 m
INPUT = InputSpec(crop=KITTI_CROP, stride=16, depth_scale=10.0)


@dataclass(frozen=True)
class ScaledConfig:
    confidence: float = 0.75


class Scaled(nn.Module):
    """Depth = learned scale x sparse input where measured, 1 unit elsewhere; constant
    confidence from the config."""

    def __init__(self, config: ScaledConfig) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(1))
        self.confidence = config.confidence

    def forward(self, rgb: torch.Tensor, sparse: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        depth = torch.where(sparse > 0, sparse * self.scale, torch.ones_like(sparse))
        return torch.cat([depth, torch.full_like(sparse, self.confidence)], dim=1)


def _write_weights(folder, spec: InputSpec = INPUT, scale: float = 1.0):
    net = Scaled(ScaledConfig())
    with torch.no_grad():
        net.scale.fill_(scale)
    meta = CheckpointMeta(model=SPEC.name, input_spec=spec, training_data="none (test)",
                          metrics={"rmse_mm": 0.0}, data_license="CC0")
    return save_checkpoint(folder / "scaled_v1.pt", net, meta)


def _weights(path, **changes) -> WeightsSpec:
    spec = WeightsSpec(name="scaled_v1", file=path.name, sha256=file_sha256(path),
                       input_spec=INPUT, training_data="none (test)",
                       recipe="test/models/test_weights.py::_write_weights",
                       scores={"rmse_mm": 0.0}, license="CC0")
    return replace(spec, **changes)


@pytest.fixture
def models_folder(tmp_path, monkeypatch):
    """``models/`` pointed at an empty temporary folder."""
    monkeypatch.setattr(paths, "models_dir", lambda: tmp_path)
    return tmp_path


def _register(weights):
    return temporary_model(SPEC, factory=torch_model_factory(SPEC, Scaled, INPUT),
                           config_cls=ScaledConfig, weights=weights)


def test_default_weights_load_by_name_and_run_on_the_sample(models_folder, sample_frame,
                                                            on_sample, output_convention):
    weights = _weights(_write_weights(models_folder, scale=1.0))
    with _register([weights]):
        assert get_entry(SPEC.name).default_checkpoint == "scaled_v1.pt"
        model = get_model(SPEC.name, {"confidence": 0.5}, device="cpu")
        out = on_sample(model, sample_frame)
    output_convention(out, sample_frame)
    x0, y0, w, h = KITTI_CROP.box(*sample_frame.sparse.shape)
    inside = np.zeros(sample_frame.sparse.shape, bool)
    inside[y0:y0 + h, x0:x0 + w] = True
    hit = inside & (sample_frame.sparse > 0)
    np.testing.assert_allclose(out.depth[hit], sample_frame.sparse[hit], rtol=1e-6)
    assert (out.confidence[inside] == 0.5).all() and np.isnan(out.depth[~inside]).all()


def test_default_weights_bring_their_config_under_the_callers_overrides(models_folder):
    weights = _weights(_write_weights(models_folder), config={"confidence": 0.25})
    with _register([weights]):
        default = get_model(SPEC.name, device="cpu")
        overridden = get_model(SPEC.name, {"confidence": 0.5}, device="cpu")
        given = get_model(SPEC.name, checkpoint=models_folder / "scaled_v1.pt", device="cpu")
    frame = np.full((375, 1242), 2.0, np.float32)
    confidence = [np.nanmax(m.predict(None, frame, np.eye(3)).confidence)
                  for m in (default, overridden, given)]
    # the weights' config with the default weights; the caller's override wins; a checkpoint
    # given by path is not the default weights, so the config's own default applies
    assert confidence == [0.25, 0.5, 0.75]


def test_a_file_with_another_digest_is_refused_before_loading(models_folder):
    path = _write_weights(models_folder)
    weights = _weights(path)
    _write_weights(models_folder, scale=2.0)  # same name, other bytes
    with _register([weights]), pytest.raises(CheckpointError, match="has sha256 .* expected"):
        get_model(SPEC.name)
    path.unlink()
    with _register([weights]), pytest.raises(CheckpointError, match="does not exist"):
        get_model(SPEC.name)


def test_weights_trained_on_another_input_spec_are_refused(models_folder):
    other = replace(INPUT, stride=8)
    weights = _weights(_write_weights(models_folder, spec=other))
    with _register([weights]), pytest.raises(
            CheckpointError, match="input spec differs .* stride: 8 vs 16"):
        get_model(SPEC.name)


def test_a_learned_model_without_weights_needs_a_checkpoint(models_folder):
    with _register([]), pytest.raises(ModelError, match="'test_scaled_lidar' needs weights"):
        get_model(SPEC.name)
    path = _write_weights(models_folder, scale=3.0)
    with _register([]):
        model = get_model(SPEC.name, checkpoint=path, device="cpu")
    out = model.predict(None, np.full((375, 1242), 2.0, np.float32), np.eye(3))
    assert np.nanmax(out.depth) == pytest.approx(6.0)


@pytest.mark.parametrize("changes, match", [
    ({"sha256": "abc"}, "64 lowercase hex"),
    ({"file": "sub/scaled_v1.pt"}, "a name under models/"),
])
def test_weights_spec_checks_its_fields(tmp_path, changes, match):
    path = _write_weights(tmp_path)
    with pytest.raises(ConfigError, match=match):
        _weights(path, **changes)


@pytest.mark.parametrize("changes, match", [
    ({"stride": 0}, "stride must be >= 1"),
    ({"rgb_std": (0.2, 0.0, 0.2)}, "std > 0"),
    ({"depth_scale": 0.0}, "depth_scale must be > 0"),
])
def test_input_spec_checks_its_fields(changes, match):
    with pytest.raises(ConfigError, match=match):
        replace(INPUT, **changes)


def test_input_spec_round_trips_through_plain_values():
    assert InputSpec.from_dict(INPUT.as_dict()) == INPUT
    with pytest.raises(ConfigError, match="expected keys"):
        InputSpec.from_dict({**INPUT.as_dict(), "crop": 1})
