"""SAN in the registry with its shipped small weights: one set of weights, RGB-only prediction
that the sparse input cannot change, completion that uses it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models import get_entry, get_model
from depth_completion_ros.models.base import ModelInput
from depth_completion_ros.models.san import SANConfig
from depth_completion_ros.networks.san.resnet import SANResNet


@pytest.fixture(scope="module")
def san():
    return get_model("san", device="cpu")


def test_registered_as_rgb_with_optional_lidar_and_small_shipped_weights():
    entry = get_entry("san")
    assert entry.spec.required == (ModelInput.RGB,)
    assert entry.spec.optional == (ModelInput.SPARSE_DEPTH,)
    assert entry.spec.runs_without_lidar and entry.spec.needs_image
    weights = entry.default_weights
    assert weights is not None and weights.config["backbone"] == "resnet"
    assert weights.verify().stat().st_size < 30_000_000
    assert "CC BY-NC-SA 3.0" in weights.license and "KITTI" in weights.training_data


def test_the_shipped_weights_load_into_the_small_resnet_network(san):
    assert isinstance(san.engine.module, SANResNet)
    saved = torch.load(get_entry("san").default_weights.path(), weights_only=True)["state_dict"]
    for name, value in san.engine.module.state_dict().items():
        assert torch.equal(value, saved[name]), name


@pytest.mark.parametrize(("values", "match"), [
    ({"backbone": "vgg"}, "backbone must be one of"),
    ({"width": 2}, "width must be >= 4"),
    ({"dropout": 1.0}, "dropout must be in"),
])
def test_bad_config_is_a_config_error(values, match):
    with pytest.raises(ConfigError, match=match):
        SANConfig(**values)


def test_prediction_does_not_depend_on_the_sparse_input(san, sample_frame):
    """RGB-only: no sparse input, or one without any measurement in view, gives the same depth;
    the sparse branch's weights cannot change it."""
    rgb, K = sample_frame.rgb, sample_frame.K
    alone = san.predict(rgb, None, K)
    empty = san.predict(rgb, np.zeros_like(sample_frame.sparse), K)
    np.testing.assert_array_equal(alone.depth, empty.depth)
    module = san.engine.module
    saved = {k: v.clone() for k, v in module.state_dict().items() if k.startswith("mconvs.")}
    try:
        with torch.no_grad():
            for p in module.mconvs.parameters():
                p.mul_(-3.0)
        np.testing.assert_array_equal(san.predict(rgb, None, K).depth, alone.depth)
        changed = san.predict(rgb, sample_frame.sparse, K).depth
    finally:
        module.load_state_dict(saved, strict=False)
    completed = san.predict(rgb, sample_frame.sparse, K).depth
    assert np.nanmax(np.abs(changed - completed)) > 0.1  # completion does read the branch


def test_completion_uses_the_lidar_measured_pixels_closer_than_prediction(san, sample_frame,
                                                                         output_convention):
    """Frame 0 of the embedded sample (seq16, a drive the weights never saw), all 64 lines."""
    rgb, sparse, K = sample_frame.rgb, sample_frame.sparse, sample_frame.K
    predicted = san.predict(rgb, None, K)
    completed = san.predict(rgb, sparse, K)
    at = (sparse > 0) & np.isfinite(completed.depth) & np.isfinite(predicted.depth)
    completion_error = float(np.mean(np.abs(completed.depth[at] - sparse[at])))
    prediction_error = float(np.mean(np.abs(predicted.depth[at] - sparse[at])))
    # measured 6.34 m against 6.96 m with the shipped v3 weights (v2: 7.20 against 7.85):
    # closer, though by little
    assert completion_error < 0.95 * prediction_error, (completion_error, prediction_error)
    for out in (predicted, completed):
        output_convention(out, sample_frame, near_lidar=False)
