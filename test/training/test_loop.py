"""A few real training steps on the embedded sample: the loss falls, the export loads into the
registry and predicts as the in-memory network, a resumed run continues the same loss curve."""
from __future__ import annotations

import copy
import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from depth_completion_ros.engine.adapter import TorchModelAdapter
from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.models import get_model
from depth_completion_ros.models.checkpoint import read_checkpoint
from depth_completion_ros.models.cspn import INPUT_SPEC, SPEC
from depth_completion_ros.paths import SAMPLE_DIR
from depth_completion_ros.training.augment import contiguous, crop
from depth_completion_ros.training.config import TrainConfig
from depth_completion_ros.training.data import collate, heldout_sample, network_batch
from depth_completion_ros.training.loop import VALIDATED_DIR, Trainer, TrainResult
from depth_completion_ros.training.sources import ScanFrame
from depth_completion_ros.training.state import STATE_FILE

STEPS = 8
VALIDATION = {"sources": [{"kind": "kitti_raw", "path": str(SAMPLE_DIR), "max_frames": 1}],
              "lines": [32], "every": 100}


def fixed_loss(trainer: Trainer) -> float:
    """Loss of a copy of the network (train mode, as training sees it) on one fixed patch of
    the frame's bottom rows, no augmentation."""
    frame = trainer.dataset.frame(0)
    assert isinstance(frame, ScanFrame)
    sample = contiguous(crop(heldout_sample(frame, 32), 500, 352 - 64, 192, 64))
    inputs, target = network_batch(trainer.preprocessor, collate([sample, sample]),
                                   torch.device("cpu"))
    with torch.no_grad():
        depth = copy.deepcopy(trainer.state.module).train()(**inputs)[:, :1]
    return float(trainer.loss_fn(depth, target))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, tiny: Callable[..., dict]
                ) -> tuple[Trainer, TrainResult, float]:
    """One run of :data:`STEPS` steps (flip / jitter off, one line count) validated at the end;
    the fixed patch's loss before it."""
    from depth_completion_ros.training.config import config_from_mapping

    mapping = tiny(data={"flip_probability": 0.0, "colour_jitter": 0.0},
                           schedule={"kind": "constant"}, run={"max_steps": STEPS},
                           validation=VALIDATION)
    trainer = Trainer(config_from_mapping(mapping), tmp_path_factory.mktemp("run"))
    before = fixed_loss(trainer)
    return trainer, trainer.run(), before


def test_loss_falls_and_run_folder(trained_run):
    trainer, result, before = trained_run
    after = fixed_loss(trainer)
    assert after < 0.5 * before, (before, after, result.losses)
    assert [step for step, _ in result.losses] == list(range(1, STEPS + 1))
    assert result.step == STEPS and result.stopped_by == "max_steps"
    names = {p.name for p in result.out_dir.iterdir()}
    assert {"config.yaml", "log.csv", STATE_FILE, "last.pt", "best.pt"} <= names
    with (result.out_dir / "log.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [int(r["step"]) for r in rows if r["loss"]] == list(range(1, STEPS + 1))
    assert rows[-1]["val_rmse_mm"] and float(rows[-1]["val_rmse_mm"]) > 0


def test_export_metadata(trained_run):
    _, result, _ = trained_run
    meta, state = read_checkpoint(result.last)
    assert meta.model == "cspn" and meta.data_license == "CC BY-NC-SA 3.0"
    assert meta.config["prop_time"] == 2 and meta.config["width"] == 16
    assert meta.input_spec == INPUT_SPEC
    assert "held-out beams" in meta.protocol and "git " in meta.protocol
    assert f"{STEPS} steps" in meta.protocol and "(1 frames)" in meta.training_data
    assert meta.metrics["val_rmse_mm_32"] == pytest.approx(result.metrics["rmse_mm_32"])
    assert state.keys() == result.module.state_dict().keys()


def test_export_predicts_as_the_network_in_memory(trained_run):
    trainer, result, _ = trained_run
    frame = trainer.dataset.frame(0)
    assert isinstance(frame, ScanFrame)
    sample = contiguous(crop(heldout_sample(frame, 32), 400, 352 - 96, 320, 96))
    loaded = get_model("cspn", trainer.model_config, checkpoint=result.last, device="cpu")
    live = TorchModelAdapter(SPEC, result.module, INPUT_SPEC, device="cpu")
    expected = live.predict(sample.rgb, sample.sparse, sample.K)
    out = loaded.predict(sample.rgb, sample.sparse, sample.K)
    assert np.isfinite(out.depth).all() and out.depth.shape == (96, 320)
    np.testing.assert_array_equal(out.depth, expected.depth)
    np.testing.assert_array_equal(out.confidence, expected.confidence)


def test_resumed_run_continues_the_same_curve(tiny_config: Callable[..., TrainConfig],
                                              tmp_path: Path):
    config = tiny_config(run={"max_steps": 4})
    whole = Trainer(config, tmp_path / "whole").run()
    first = Trainer(tiny_config(run={"max_steps": 2}), tmp_path / "split").run()
    second = Trainer(config, tmp_path / "split", resume=True).run()
    assert [s for s, _ in first.losses + second.losses] == [1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in first.losses + second.losses],
                               [v for _, v in whole.losses], rtol=1e-5)
    for key, value in whole.module.state_dict().items():
        torch.testing.assert_close(second.module.state_dict()[key], value)


def test_wall_clock_limit_stops_and_saves(tiny_config: Callable[..., TrainConfig],
                                          tmp_path: Path):
    result = Trainer(tiny_config(run={"max_minutes": 1e-6}), tmp_path).run()
    assert result.stopped_by == "max_minutes" and result.step <= 1
    assert (tmp_path / STATE_FILE).is_file() and result.last is not None and result.best is None


def test_init_starts_from_a_checkpoint(trained_run, tiny_config: Callable[..., TrainConfig],
                                       tmp_path: Path):
    """model.init: the weights before the first step are the checkpoint's (fine-tuning); a
    checkpoint of another architecture is refused before any step."""
    _, result, _ = trained_run
    trainer = Trainer(tiny_config(model={"init": str(result.last)}), tmp_path / "fine")
    for key, value in result.module.state_dict().items():
        torch.testing.assert_close(trainer.state.module.state_dict()[key], value)
    other = {"name": "cspn", "variant": "small", "config": {"prop_time": 2, "width": 8},
             "init": str(result.last)}
    with pytest.raises(CheckpointError, match="does not match"):
        Trainer(tiny_config(model=other), tmp_path / "other")


def test_best_checkpoint_follows_the_selected_score(tiny_config: Callable[..., TrainConfig],
                                                    tmp_path: Path):
    """best.pt is the step of the lowest selected score; with validation.keep every validated
    step is kept too, each with its own scores and weights (a later rule can pick any)."""
    validation = {**VALIDATION, "every": 1, "select": "mae_mm", "keep": True}
    result = Trainer(tiny_config(run={"max_steps": 3}, validation=validation), tmp_path).run()
    with (result.out_dir / "log.csv").open() as stream:
        maes = [float(r["val_mae_mm"]) for r in csv.DictReader(stream) if r["val_mae_mm"]]
    meta, best = read_checkpoint(result.out_dir / "best.pt")
    assert meta.metrics["val_mae_mm"] == pytest.approx(min(maes))
    kept = sorted((result.out_dir / VALIDATED_DIR).glob("step_*.pt"))
    assert [p.name for p in kept] == ["step_000001.pt", "step_000002.pt", "step_000003.pt"]
    metas = [read_checkpoint(p) for p in kept]
    assert [m.metrics["val_mae_mm"] for m, _ in metas] == pytest.approx(maes, abs=0.06)  # log: .1f
    chosen = min(range(3), key=lambda i: maes[i])
    for key, value in best.items():
        torch.testing.assert_close(metas[chosen][1][key], value)
    _, last = read_checkpoint(result.last)
    assert any(not torch.equal(metas[0][1][k], last[k]) for k in last)  # steps differ


def test_without_keep_no_validated_folder(trained_run):
    _, result, _ = trained_run
    assert not (result.out_dir / VALIDATED_DIR).exists()


class RecordingTrainer(Trainer):
    """Keeps a copy of the network's parameters after every optimiser step."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.history: list[dict[str, torch.Tensor]] = []

    def _optimise(self) -> tuple[float, float]:
        out = super()._optimise()
        self.history.append({k: v.detach().clone()
                             for k, v in self.state.module.named_parameters()})
        return out


def test_moving_average_is_validated_exported_and_resumed(
        tiny_config: Callable[..., TrainConfig], tmp_path: Path):
    """optim.ema: last.pt holds the exponential moving average of the step-by-step weights
    (first step copied, then decay * average + (1 - decay) * weights), not the last weights;
    a resumed run ends on the same average as an uninterrupted one."""
    decay = 0.5
    trainer = RecordingTrainer(tiny_config(run={"max_steps": 3}, optim={"ema": decay}),
                               tmp_path / "whole")
    result = trainer.run()
    expected = dict(trainer.history[0])
    for weights in trainer.history[1:]:
        expected = {k: decay * expected[k] + (1 - decay) * weights[k] for k in expected}
    _, state = read_checkpoint(result.last)
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value)
    assert not torch.allclose(state[key], trainer.history[-1][key])  # not the last weights
    Trainer(tiny_config(run={"max_steps": 1}, optim={"ema": decay}), tmp_path / "split").run()
    with pytest.raises(CheckpointError, match="optim.ema"):
        Trainer(tiny_config(run={"max_steps": 3}), tmp_path / "split", resume=True)
    second = Trainer(tiny_config(run={"max_steps": 3}, optim={"ema": decay}),
                     tmp_path / "split", resume=True).run()
    _, resumed = read_checkpoint(second.last)
    for key, value in state.items():
        torch.testing.assert_close(resumed[key], value)


def test_moving_average_decay_is_checked(tiny_config: Callable[..., TrainConfig]):
    from depth_completion_ros.errors import ConfigError

    with pytest.raises(ConfigError, match="optim.ema"):
        tiny_config(optim={"ema": 1.0})
