"""Depth-only completion [``depth_only``]: registered as LiDAR-only (no image at inference) without
shipped weights; the output does not depend on any image (none given, or one ignored); the
grey-scale image head exists only in the training network and never in the registry's network
or a checkpoint; shapes at odd sizes; a golden output from formula weights; a few training
steps with the auxiliary image loss; the output convention at full size through the registry.
The pipeline without a camera image: test/test_pipeline.py.

The golden output (``golden/depth_only.npz``) was written once from this code; rewrite it only
for a deliberate change of the network, and say so in the commit::

    .venv/bin/python test/models/test_depth_only.py
"""
from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.cli.models import format_table
from depth_completion_ros.errors import CheckpointError, ConfigError, MissingWeightsError
from depth_completion_ros.models import ModelInput, get_entry, get_model
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.depth_only import (
    INPUT_SPEC,
    DepthOnlyConfig,
    build_network,
    build_training_network,
)
from depth_completion_ros.networks.losses import masked_l1_l2, with_image_loss

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "depth_only.npz"
GOLDEN_SIZE = (23, 37)
TINY = DepthOnlyConfig(width=8)


def test_registered_as_lidar_only_completion_without_shipped_weights():
    entry = get_entry("depth_only")
    assert entry.spec.required == (ModelInput.SPARSE_DEPTH,) and entry.spec.optional == ()
    assert not entry.spec.needs_image and not entry.spec.runs_without_lidar
    assert entry.weights == () and entry.network is not None
    row = next(line for line in format_table().splitlines() if line.startswith("depth_only "))
    assert "sparse_depth" in row and "rgb" not in row.split()[1]


def test_without_a_checkpoint_the_error_says_where_weights_come_from():
    with pytest.raises(MissingWeightsError) as info:
        get_model("depth_only")
    message = str(info.value)
    assert "\n" not in message
    for part in ("none are shipped", "depth-completion train", "--checkpoint",
                 "'checkpoint' parameter"):
        assert part in message


@pytest.mark.parametrize("values, match", [
    ({"width": 10}, "width must be a positive multiple of 4, got 10"),
    ({"width": 0}, "width must be a positive multiple of 4, got 0"),
    ({"depth": 3}, "unknown key"),
])
def test_bad_config_is_a_config_error_before_the_weights_are_asked_for(values, match):
    with pytest.raises(ConfigError, match=match):
        get_model("depth_only", values)


# --- the image head: training only -----------------------------------------------------------

def test_the_registry_network_has_no_image_head_and_the_training_network_has_one():
    assert get_entry("depth_only").network.build is build_network
    inference, training = build_network(TINY), build_training_network(TINY)
    assert inference.image_head is None
    assert not [k for k in inference.state_dict() if k.startswith("image_head")]
    head = {k for k in training.state_dict() if k.startswith("image_head.")}
    assert head and set(training.state_dict()) - head == set(inference.state_dict())


def test_the_exported_copy_drops_the_image_head_and_keeps_the_depth():
    torch.manual_seed(0)
    training = build_training_network(TINY).eval()
    exported = training.inference_copy()
    assert training.image_head is not None and exported.image_head is None
    assert not [k for k in exported.state_dict() if k.startswith("image_head")]
    sparse = torch.rand(1, 1, 20, 31) * 30 * (torch.rand(1, 1, 20, 31) < 0.2)
    with torch.no_grad():
        parts = training.outputs(sparse)
        assert parts.grey is not None and parts.grey.shape == (1, 1, 20, 31)
        assert ((parts.grey >= 0) & (parts.grey <= 1)).all()
        torch.testing.assert_close(exported(None, sparse, torch.eye(3)[None]), parts.depth)
        assert exported.outputs(sparse).grey is None


def test_a_checkpoint_with_the_image_head_is_refused_and_the_exported_one_loads(tmp_path):
    training = build_training_network(TINY).eval()
    meta = CheckpointMeta(model="depth_only", config={"width": 8}, input_spec=INPUT_SPEC)
    with_head = save_checkpoint(tmp_path / "with_head.pt", training, meta)
    with pytest.raises(CheckpointError, match="image_head"):
        get_model("depth_only", {"width": 8}, checkpoint=with_head, device="cpu")
    exported = save_checkpoint(tmp_path / "exported.pt", training.inference_copy(), meta)
    saved = torch.load(exported, weights_only=True)["state_dict"]
    assert not [k for k in saved if k.startswith("image_head")]
    model = get_model("depth_only", {"width": 8}, checkpoint=exported, device="cpu")
    assert model.engine.module.image_head is None


# --- no image in, whatever the caller gives ---------------------------------------------------

def test_the_network_output_does_not_depend_on_the_image():
    torch.manual_seed(2)
    net = build_network(TINY).eval()
    sparse = torch.rand(2, 1, 17, 29) * 40 * (torch.rand(2, 1, 17, 29) < 0.15)
    K = torch.eye(3).expand(2, 3, 3)
    with torch.no_grad():
        outs = [net(rgb, sparse, K) for rgb in (None, torch.zeros(2, 3, 17, 29),
                                                 torch.randn(2, 3, 17, 29) * 50)]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_through_the_registry_rgb_none_runs_and_any_image_gives_the_same_depth(
        tmp_path, sample_frame, learned_checkpoint, output_convention):
    path = learned_checkpoint("depth_only", tmp_path / "depth_only.pt", {"width": 8})
    model = get_model("depth_only", {"width": 8}, checkpoint=path, device="cpu")
    blind = model.predict(None, sample_frame.sparse, sample_frame.K)
    noise = np.random.default_rng(0).integers(0, 256, sample_frame.rgb.shape, np.uint8)
    np.testing.assert_array_equal(blind.depth,
                                  model.predict(noise, sample_frame.sparse, sample_frame.K).depth)
    assert blind.depth.shape == sample_frame.sparse.shape
    assert np.isnan(blind.depth[:, :13]).all()   # outside the 1216x352 crop
    inside = blind.depth[-352:, 13:13 + 1216]
    assert np.isfinite(inside).all() and (blind.confidence[-352:, 13:13 + 1216] == 1).all()


# --- the network -----------------------------------------------------------------------------

@pytest.mark.parametrize("height, width", [(1, 1), (9, 13), (20, 31), (33, 47)])
@pytest.mark.parametrize("batch", [1, 2])
def test_forward_shapes_and_dtypes_at_odd_sizes(height, width, batch):
    torch.manual_seed(0)
    net = build_training_network(TINY).eval()
    sparse = torch.rand(batch, 1, height, width) * 20
    with torch.no_grad():
        out = net(None, sparse, torch.eye(3).expand(batch, 3, 3))
        parts = net.outputs(sparse)
    assert out.shape == (batch, 1, height, width) and out.dtype == torch.float32
    assert parts.grey is not None and parts.grey.shape == (batch, 1, height, width)
    assert (out >= 0).all()
    torch.testing.assert_close(out, parts.depth)


def test_half_precision_network_returns_float32(formulas):
    torch.manual_seed(1)
    net = build_network(TINY).eval().to(torch.bfloat16)
    _, sparse = formulas[1](24, 40)
    with torch.no_grad():
        out = net(None, sparse.bfloat16(), torch.eye(3)[None])
    assert out.dtype == torch.float32 and out.shape == (1, 1, 24, 40) and out.isfinite().all()


def _golden_outputs(formula_weights, formula_inputs) -> dict[str, np.ndarray]:
    _, sparse = formula_inputs(*GOLDEN_SIZE)
    net = build_training_network(TINY).eval()
    formula_weights(net)
    with torch.no_grad():
        parts = net.outputs(sparse)
    assert parts.grey is not None
    return {"depth": parts.depth.numpy(), "grey": parts.grey.numpy()}


def test_formula_weights_output_matches_the_golden_tensor(formulas):
    golden = np.load(GOLDEN)
    got = _golden_outputs(*formulas)
    assert sorted(golden.files) == sorted(got)
    for key, value in got.items():
        np.testing.assert_allclose(value, golden[key], rtol=1e-4, atol=1e-4, err_msg=key)
    assert got["depth"].std() > 0.1 and got["grey"].std() > 1e-3   # not a constant map


# --- training signal -------------------------------------------------------------------------

def test_loss_with_the_image_term_falls_within_a_few_adamw_steps_on_a_real_crop(sample_frame):
    """Bottom 96x160 of frame 0 (64 lines): half the measured pixels in, the other half as the
    target; depth L1 + L2 plus 1e-4 x the grey-scale L2 against the frame's own image."""
    y0, x0, h, w = sample_frame.rgb.shape[0] - 96, 500, 96, 160
    rgb = torch.from_numpy(sample_frame.rgb[y0:y0 + h, x0:x0 + w]).permute(2, 0, 1)[None]
    rgb = rgb.float() / 255.0
    sparse = torch.from_numpy(sample_frame.sparse[y0:y0 + h, x0:x0 + w])[None, None]
    keep = torch.rand(sparse.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    given, target = torch.where(keep, sparse, 0.0), torch.where(keep, 0.0, sparse)
    assert (given > 0).sum() > 300 and (target > 0).sum() > 300
    torch.manual_seed(0)
    net = build_training_network(DepthOnlyConfig(width=16)).train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        optimiser.zero_grad()
        parts = net.outputs(given)
        assert parts.grey is not None
        loss = with_image_loss(masked_l1_l2(parts.depth, target), parts.grey, rgb)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses
    assert net.image_head is not None and net.image_head[1].weight.grad.abs().sum() > 0


if __name__ == "__main__":
    helpers = runpy.run_path(str(HERE / "conftest.py"))
    np.savez(GOLDEN, **_golden_outputs(helpers["formula_weights"], helpers["formula_inputs"]))
    print(f"wrote {GOLDEN}")
