"""NLSPN refinement [``nlspn_refine``]: registration, config checks, an untrained network is D0
with the measurements written in, the propagation moves depth once its affinities do, the two
confidences, a few training steps, strict loading at full size."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from depth_completion_ros.errors import (
    CheckpointError,
    ConfigError,
    MissingWeightsError,
    ModelError,
)
from depth_completion_ros.evaluation.heldout import iter_drive_scans, score_frame
from depth_completion_ros.models import ModelInput, get_entry, get_model
from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.nlspn_refine import NLSPNRefineConfig, build_network

#: tiny network, two propagation steps (test speed)
TINY = {"width": 8, "embed_dim": 4, "prop_time": 2}


def _save(net, path, config):
    entry = get_entry("nlspn_refine")
    meta = CheckpointMeta(model="nlspn_refine",
                          config={**vars(NLSPNRefineConfig(**config))},
                          training_data="none (test)", input_spec=entry.network.input_spec,
                          data_license="CC0")
    return save_checkpoint(path, net, meta)


def test_registered_as_rgb_plus_lidar_refinement_with_the_small_shipped_weights():
    entry = get_entry("nlspn_refine")
    assert entry.spec.required == (ModelInput.RGB, ModelInput.SPARSE_DEPTH)
    assert entry.network is not None and entry.network.initial_model is not None
    weights = entry.default_weights
    assert weights is not None and weights.config["width"] == 16
    assert weights.verify().stat().st_size < 4_000_000        # a small file in models/
    assert "CC BY-NC-SA 3.0" in weights.license and "KITTI" in weights.training_data
    # by name, no checkpoint: the shipped weights with their own (small) architecture
    model = get_model("nlspn_refine", device="cpu")
    saved = torch.load(weights.path(), weights_only=True)["state_dict"]
    for name, value in model.engine.module.state_dict().items():
        assert torch.equal(value, saved[name]), name
    # the full network has no weights here: its shapes differ from the shipped file's
    with pytest.raises(CheckpointError, match=r"width=16 \(config: 64\)"):
        get_model("nlspn_refine", {"width": 64, "embed_dim": 64}, device="cpu")


@pytest.mark.parametrize("values, match", [
    ({"initial_model": "nlspn_refine"}, "initial_model must name another registered model"),
    ({"width": 10}, "width must be a positive multiple of 4"),
    ({"prop_kernel": 4}, "prop_kernel must be odd"),
    ({"affinity_gamma": 0}, "affinity_gamma must be > 0"),
    ({"confidence": "mask"}, r"confidence must be one of \['initial', 'predicted'\]"),
])
def test_bad_config_is_a_config_error(values, match):
    with pytest.raises(ConfigError, match=match):
        get_model("nlspn_refine", values)


def test_unknown_or_weightless_initial_models_are_refused(tmp_path, learned_checkpoint):
    config = {**TINY, "initial_model": "nowhere"}
    path = learned_checkpoint("nlspn_refine", tmp_path / "a.pt", config)
    with pytest.raises(ModelError, match="unknown model 'nowhere'"):
        get_model("nlspn_refine", config, checkpoint=path, device="cpu")
    config = {**TINY, "initial_model": "cspn"}
    path = learned_checkpoint("nlspn_refine", tmp_path / "b.pt", config)
    with pytest.raises(MissingWeightsError):
        get_model("nlspn_refine", config, checkpoint=path, device="cpu")


def test_untrained_network_is_the_initial_depth_with_the_measurements_written_in(
        tmp_path, sample_frame, learned_checkpoint, refinement):
    rgb, sparse, K = refinement.crop_frame(sample_frame)
    path = learned_checkpoint("nlspn_refine", tmp_path / "n.pt", TINY, seed=1)
    out = get_model("nlspn_refine", TINY, checkpoint=path, device="cpu").predict(rgb, sparse, K)
    start = get_model("classical").predict(rgb, sparse, K)
    covered = np.isfinite(start.depth)
    assert np.array_equal(np.isfinite(out.depth), covered)
    measured = covered & (sparse > 0)
    np.testing.assert_allclose(out.depth[measured], sparse[measured], rtol=1e-6)
    free = covered & (sparse == 0)
    assert free.sum() > 1000
    np.testing.assert_allclose(out.depth[free], start.depth[free], rtol=1e-5, atol=1e-5)
    # the default confidence is classical's own
    np.testing.assert_array_equal(out.confidence[covered], start.confidence[covered])


def test_affinities_move_the_depth_and_the_predicted_confidence_is_the_networks(
        tmp_path, sample_frame, refinement):
    rgb, sparse, K = refinement.crop_frame(sample_frame)
    torch.manual_seed(0)
    net = build_network(NLSPNRefineConfig(**TINY))
    with torch.no_grad():   # non-zero affinities and a confidence below 1
        net.prop_layer.conv_offset_aff.weight.normal_(0, 0.3)
        net.conf_head.bias.fill_(0.0)
    path = _save(net, tmp_path / "moved.pt", TINY)
    moved = get_model("nlspn_refine", TINY, checkpoint=path, device="cpu").predict(rgb, sparse,
                                                                                  K)
    own = get_model("nlspn_refine", {**TINY, "confidence": "predicted"}, checkpoint=path,
                    device="cpu").predict(rgb, sparse, K)
    start = get_model("classical").predict(rgb, sparse, K)
    free = np.isfinite(start.depth) & (sparse == 0)
    change = np.abs(moved.depth[free] - start.depth[free])
    assert np.median(change) > 1e-3 and np.isfinite(moved.depth[free]).all()
    np.testing.assert_array_equal(own.depth, moved.depth)        # only the confidence differs
    # sigmoid(0) = 0.5 where the guidance is uniform; not classical's confidence
    assert 0.2 < float(np.median(own.confidence[free])) < 0.8
    assert not np.array_equal(own.confidence, moved.confidence)


def test_loss_falls_within_a_few_adamw_steps_on_a_real_crop(sample_frame, refinement):
    """Bottom 64x160 of the sample frame: half the measured pixels in, the other half as the
    target; D0 = the classical model's depth on the given half."""
    torch.manual_seed(0)
    losses = refinement.losses(build_network(NLSPNRefineConfig(**TINY)), sample_frame, 10, 3e-3)
    assert losses[-1] < 0.9 * losses[0], losses


def test_a_checkpoint_loads_strictly_and_predicts_at_full_size(tmp_path, sample_frame,
                                                                learned_checkpoint, refinement):
    path = learned_checkpoint("nlspn_refine", tmp_path / "n.pt", TINY)
    refinement.at_full_size("nlspn_refine", TINY, path, sample_frame)


def test_the_shipped_weights_beat_classical_on_the_embedded_frames(sample_dir):
    """The model card's claim on the 4 embedded KITTI frames (the first 4 of seq16, never
    trained on): held-out-beam protocol at 32 and 16 lines, lower mean RMSE and MAE than
    ``classical``, each by at least 2 % (measured: 7.6 / 9.9 % at 32 lines, 3.2 / 5.1 % at 16)."""
    models = {"classical": get_model("classical"),
              "nlspn_refine": get_model("nlspn_refine", device="cpu")}
    scores: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for scan in iter_drive_scans(sample_dir):
        for lines in (32, 16):
            split = scan.split(lines)
            for name, model in models.items():
                metrics = score_frame(model.predict(scan.rgb, split.sparse, scan.K).depth, split)
                scores.setdefault((name, lines), []).append((metrics.rmse_mm, metrics.mae_mm))
    for lines in (32, 16):
        learned = np.mean(scores[("nlspn_refine", lines)], axis=0)
        classical = np.mean(scores[("classical", lines)], axis=0)
        assert len(scores[("classical", lines)]) == 4
        assert (learned < 0.98 * classical).all(), (lines, learned, classical)


def test_the_output_stays_within_the_depths_the_propagation_can_reach():
    """Signed affinities extrapolate; the output is clamped to the range of D0 and the
    measurements in a (2 prop_time + 1)² window, so it stays positive and local."""
    torch.manual_seed(0)
    net = build_network(NLSPNRefineConfig(**TINY)).eval()
    with torch.no_grad():   # wild affinities: negative weights everywhere
        net.prop_layer.conv_offset_aff.bias[2 * 8:].fill_(-3.0)
    initial = torch.full((1, 1, 20, 30), 10.0)
    initial[..., 10:, :] = 2.0                   # a depth edge
    sparse = torch.zeros_like(initial)
    sparse[..., ::4, ::3] = initial[..., ::4, ::3]
    rgb = torch.randn(1, 3, 20, 30)
    with torch.no_grad():
        raw = net.prop_layer(initial, net.backbone(rgb, sparse, initial),
                             torch.ones_like(initial), sparse)
        out = net(rgb, sparse, torch.eye(3)[None], initial)[:, :1]
    assert raw.min() < 2.0 or raw.max() > 10.0           # the unclamped propagation leaves it
    assert float(out.min()) >= 2.0 and float(out.max()) <= 10.0
    # far from the edge (more than prop_time rows) the only depth in reach is that side's
    np.testing.assert_allclose(out[..., :7, :].numpy(), 10.0)
    np.testing.assert_allclose(out[..., 13:, :].numpy(), 2.0)
