"""Training with the depth-only network's auxiliary image loss (``loss.image_weight``) on a tiny
real crop of the embedded sample: the image head is trained (it gets gradients, its grey image
moves towards the camera's luma), the combined loss falls, the export leaves the head out and
loads into the registry's network, predicting as the network in memory."""
from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.engine.adapter import TorchModelAdapter
from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import read_checkpoint
from depth_completion_ros.models.depth_only import INPUT_SPEC, SPEC
from depth_completion_ros.networks.losses.image import image_l2
from depth_completion_ros.training.augment import contiguous, crop
from depth_completion_ros.training.config import config_from_mapping
from depth_completion_ros.training.data import collate, heldout_sample, image_target, network_batch
from depth_completion_ros.training.loop import Trainer, TrainResult
from depth_completion_ros.training.sources import ScanFrame

STEPS = 6
IMAGE_WEIGHT = 1e-2  # larger than the paper's 1e-4, so that a few steps move the image head


def depth_only_mapping(tiny: Callable[..., dict], **run: object) -> dict:
    return tiny(model={"name": "depth_only", "variant": "small", "config": {}},
                data={"flip_probability": 0.0, "colour_jitter": 0.0},
                loss={"image_weight": IMAGE_WEIGHT}, schedule={"kind": "constant"},
                optim={"lr": 0.002, "grad_clip": 5.0}, run={"max_steps": STEPS, **run})


def fixed_batch(trainer: Trainer) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Network inputs, depth target and image target of one fixed patch (bottom rows)."""
    frame = trainer.dataset.frame(0)
    assert isinstance(frame, ScanFrame)
    sample = contiguous(crop(heldout_sample(frame, 32), 500, 352 - 64, 192, 64))
    batch = collate([sample, sample])
    inputs, target = network_batch(trainer.preprocessor, batch, torch.device("cpu"))
    return inputs, target, image_target(trainer.preprocessor, batch, torch.device("cpu"))


def fixed_losses(trainer: Trainer) -> tuple[float, float]:
    """(depth loss, grey-image L2) of a copy of the network on the fixed patch."""
    inputs, target, rgb = fixed_batch(trainer)
    with torch.no_grad():
        depth, grey = copy.deepcopy(trainer.state.module).train()(**inputs, with_image=True)
    return float(trainer.loss_fn(depth, target)), float(image_l2(grey, rgb))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny: Callable[..., dict]
            ) -> tuple[Trainer, TrainResult, tuple[float, float], dict[str, torch.Tensor]]:
    """A run of :data:`STEPS` steps; the fixed patch's losses before it and the image head's
    gradients of one step taken before the run (on a copy of the trainer's state)."""
    trainer = Trainer(config_from_mapping(depth_only_mapping(tiny)),
                      tmp_path_factory.mktemp("run"))
    before = fixed_losses(trainer)
    probe = Trainer(config_from_mapping(depth_only_mapping(tiny)),
                    tmp_path_factory.mktemp("probe"))
    probe._optimise()
    grads = {name: p.grad.clone() for name, p in probe.state.module.named_parameters()
             if name.startswith("image_head.") and p.grad is not None}
    return trainer, trainer.run(), before, grads


def test_training_network_has_the_image_head_and_it_gets_gradients(trained):
    trainer, _, _, grads = trained
    names = [n for n, _ in trainer.state.module.named_parameters() if n.startswith("image_head.")]
    assert names and sorted(grads) == sorted(names)
    assert all(float(g.abs().sum()) > 0 for g in grads.values())


def test_image_target_is_the_batch_image_not_the_network_input(trained):
    trainer, _, _, _ = trained
    frame = trainer.dataset.frame(0)
    assert isinstance(frame, ScanFrame)
    sample = contiguous(crop(heldout_sample(frame, 32), 500, 352 - 64, 192, 64))
    rgb = image_target(trainer.preprocessor, collate([sample]), torch.device("cpu"))
    expected = torch.from_numpy(sample.rgb).permute(2, 0, 1)[None].float() / 255
    torch.testing.assert_close(rgb, expected)
    assert float(rgb.std()) > 0.05  # a real image, not the zeros a model without RGB is given


def test_loss_falls_and_the_grey_image_learns(trained):
    trainer, result, (depth_before, image_before), _ = trained
    depth_after, image_after = fixed_losses(trainer)
    total = [depth + IMAGE_WEIGHT * image for depth, image in
             ((depth_before, image_before), (depth_after, image_after))]
    assert total[1] < 0.7 * total[0], (total, result.losses)
    assert image_after < image_before, (image_before, image_after)
    assert result.step == STEPS


def test_export_leaves_the_head_out_and_predicts_as_in_memory(trained):
    trainer, result, _, _ = trained
    assert result.last is not None
    meta, state = read_checkpoint(result.last)
    assert meta.model == "depth_only" and meta.input_spec == INPUT_SPEC
    assert state and not [k for k in state if k.startswith("image_head.")]
    assert any(k.startswith("image_head.") for k in trainer.state.module.state_dict())
    frame = trainer.dataset.frame(0)
    assert isinstance(frame, ScanFrame)
    sample = contiguous(crop(heldout_sample(frame, 32), 400, 352 - 96, 320, 96))
    loaded = get_model("depth_only", trainer.model_config, checkpoint=result.last, device="cpu")
    live = TorchModelAdapter(SPEC, result.module, INPUT_SPEC, device="cpu")
    expected = live.predict(None, sample.sparse, sample.K)
    out = loaded.predict(None, sample.sparse, sample.K)
    assert np.isfinite(out.depth).all() and out.depth.shape == (96, 320)
    np.testing.assert_array_equal(out.depth, expected.depth)


def test_image_weight_needs_a_network_with_an_image_head(tiny: Callable[..., dict]):
    with pytest.raises(ConfigError, match="image_weight.*depth_only.*'cspn' has none"):
        config_from_mapping(tiny(loss={"image_weight": 1e-4}))


def test_without_image_weight_depth_only_trains_the_deployed_network(
        tiny: Callable[..., dict], tmp_path: Path):
    mapping = depth_only_mapping(tiny, max_steps=1)
    mapping["loss"] = {"image_weight": 0.0}
    trainer = Trainer(config_from_mapping(mapping), tmp_path)
    assert not any(n.startswith("image_head.") for n in trainer.state.module.state_dict())
