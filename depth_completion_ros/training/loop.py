"""The training loop: AdamW, warm-up + schedule, clipping, accumulation, validation, checkpoints.

A run folder holds ``config.yaml`` (the resolved config), ``log.csv`` (+ ``tensorboard/`` when
installed), ``state.pt`` (resumable training state, :mod:`.state`), ``last.pt`` (deployable,
format 2, the final weights) and ``best.pt`` (deployable, the lowest validation score so far,
``validation.select``; without validation sources none), and with ``validation.keep``
``validated/step_NNNNNN.pt``, one deployable checkpoint per validated step. Stops at
``run.max_steps`` or after ``run.max_minutes`` of this invocation, saving the state either way,
so ``resume`` continues to ``max_steps``. ``model.init`` starts the weights from a deployable
checkpoint (fine-tuning). ``optim.ema`` keeps an exponential moving average of the weights
(PyTorch's ``AveragedModel``), updated after every optimiser step; it is what is validated and
exported.

With several processes (torchrun, :mod:`.distributed`) each rank trains on its own shard of the
frames through ``DistributedDataParallel``; rank 0 alone validates, logs and writes the folder,
with every rank's generators and sampler position in ``state.pt``. ``run.precision`` selects
mixed precision (:mod:`.precision`).

Example (not run: reads data)::

    result = train(load_config("config/train/cspn_small_selfsup.yaml"), Path("out/train/x"))
"""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from depth_completion_ros.engine.device import select_device
from depth_completion_ros.engine.preprocess import Preprocessor
from depth_completion_ros.models import get_entry
from depth_completion_ros.models.checkpoint import load_checkpoint
from depth_completion_ros.models.registry import LearnedNetwork, build_config
from depth_completion_ros.networks.losses.image import with_image_loss
from depth_completion_ros.training import distributed
from depth_completion_ros.training.config import TrainConfig
from depth_completion_ros.training.data import (
    TrainingSet,
    collate,
    draw_batch,
    image_target,
    network_batch,
)
from depth_completion_ros.training.distributed import SINGLE, DistEnv, ShardSampler
from depth_completion_ros.training.export import export_checkpoint
from depth_completion_ros.training.logs import NullLog, TrainingLog
from depth_completion_ros.training.losses import LossFn, make_loss, uncertainty_loss
from depth_completion_ros.training.precision import MixedPrecision, mixed_precision
from depth_completion_ros.training.schedule import make_scheduler
from depth_completion_ros.training.state import (
    STATE_FILE,
    RunState,
    load_state,
    rank_state,
    save_state,
)
from depth_completion_ros.training.validate import ValidationFrame, validate, validation_frames

LOG = logging.getLogger(__name__)
#: sub-folder of the run with one checkpoint per validated step (``validation.keep``)
VALIDATED_DIR = "validated"


@dataclass
class TrainResult:
    """What a run did.

    Attributes:
        out_dir: the run folder.
        step: optimiser steps done in all (resumed ones included).
        losses: (step, loss) of each step of this invocation (the mean over the processes).
        metrics: the last validation scores (empty without validation, and on ranks but 0).
        best: ``best.pt`` when written, else None. last: ``last.pt`` (None on ranks but 0).
        stopped_by: ``"max_steps"`` or ``"max_minutes"``.
        module: the trained network (in memory, train mode, not the DDP wrapper).
        frames: the frame indices this process trained on in this invocation, in order (with
            several processes; one process draws its frames from its generator: empty).
    """

    out_dir: Path
    step: int
    losses: list[tuple[int, float]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    best: Path | None = None
    last: Path | None = None
    stopped_by: str = "max_steps"
    module: torch.nn.Module | None = None
    frames: list[int] = field(default_factory=list)


class Trainer:
    """One run of ``config`` in ``out_dir`` (``resume``: continue from its ``state.pt``).

    ``dist``: this process's rank with several processes (:func:`.distributed.from_environ`),
    whose process group must be up (:func:`train` starts it).

    Raises:
        ConfigError, DataFormatError, CalibrationError: bad config or data (before any step).
        CheckpointError: ``resume`` without a readable state; a ``model.init`` checkpoint
            that is unreadable or does not match the model.
    """

    def __init__(self, config: TrainConfig, out_dir: Path, *, resume: bool = False,
                 dist: DistEnv = SINGLE) -> None:
        self.config, self.out_dir, self.dist = config, Path(out_dir), dist
        distributed.require_group(dist)
        entry = get_entry(config.model.name)
        assert entry.network is not None  # the config accepts learned models only
        self.spec, self.network = entry.spec, entry.network
        self.model_config = config.model_config()
        if config.run.threads:
            torch.set_num_threads(config.run.threads)
        torch.manual_seed(config.run.seed)
        notes: list[str] = []
        self.device = distributed.rank_device(select_device(config.run.device, notes), dist)
        precision = mixed_precision(config.run.precision, self.device, notes)
        for note in notes:
            LOG.warning("%s", note)
        self.dataset = TrainingSet(config.data.train, cache=config.data.cache,
                                   prediction_only=config.data.prediction_only_frames)
        self.val_frames: list[ValidationFrame] = (validation_frames(config.validation)
                                                  if dist.is_main else [])
        self.state = self._initial_state(entry.config_cls, self.network, precision)
        self.initial = (None if self.network.initial_model is None else
                        self.network.initial_model(build_config(
                            entry.config_cls, self.model_config, source="model config")))
        self.preprocessor = Preprocessor(self.network.input_spec).to(self.device)
        self.loss_fn: LossFn = make_loss(config.loss)
        self._validated_at: int | None = None
        self._frames: list[int] = []
        if resume:
            self._resume()
        self.forward_module = distributed.wrap(self.state.module, dist, self.device)

    def _initial_state(self, config_cls: type, network: LearnedNetwork,
                       precision: MixedPrecision) -> RunState:
        typed = build_config(config_cls, self.model_config, source="model config")
        build = network.build_training if self.config.loss.image_weight else None
        module = (build or network.build)(typed)
        if self.config.model.init:
            load_checkpoint(self.config.model.init, module, model_name=self.config.model.name,
                            input_spec=network.input_spec)
            LOG.info("weights start from %s", self.config.model.init)
        module = module.to(self.device).train()
        optim, seed, dist = self.config.optim, self.config.run.seed, self.dist
        optimiser = torch.optim.AdamW(module.parameters(), lr=optim.lr,
                                      betas=(optim.betas[0], optim.betas[1]),
                                      weight_decay=optim.weight_decay)
        scheduler = make_scheduler(optimiser, self.config.schedule, self.config.run.max_steps)
        rng = np.random.default_rng([seed, dist.rank] if dist.enabled else seed)
        sampler = ShardSampler(len(self.dataset), dist, seed=seed) if dist.enabled else None
        average = None
        if optim.ema:  # PyTorch's own averaging; buffers (batch-norm statistics) averaged too
            swa = torch.optim.swa_utils
            average = swa.AveragedModel(
                module, multi_avg_fn=swa.get_ema_multi_avg_fn(optim.ema),  # type: ignore[no-untyped-call]
                use_buffers=True)
        return RunState(0, module, optimiser, scheduler, rng, sampler=sampler,
                        precision=precision, average=average)

    def _resume(self) -> None:
        state, dist, path = self.state, self.dist, self.out_dir / STATE_FILE
        if not load_state(path, state, rank=dist.rank, world_size=dist.world_size):
            LOG.warning("%s was saved by another number of processes: each rank's generator "
                        "and sampler start afresh (the samples differ from an uninterrupted "
                        "run)", path)
            state.rng = np.random.default_rng([self.config.run.seed, dist.rank, state.step])
            if state.sampler is not None:
                state.sampler.load_state_dict({"epoch": state.step, "offset": 0})
        LOG.info("resuming %s at step %d", self.out_dir, state.step)

    def run(self) -> TrainResult:
        """Train until ``max_steps`` or ``max_minutes``; save state, export, return."""
        run, main = self.config.run, self.dist.is_main
        if main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.yaml").write_text(
                yaml.safe_dump(self.config.as_dict(), sort_keys=False), encoding="utf-8")
        result = TrainResult(self.out_dir, self.state.step, module=self.state.module,
                             frames=self._frames)
        log = (TrainingLog(self.out_dir, total_steps=run.max_steps, start_step=self.state.step)
               if main else NullLog())
        start, finished = time.monotonic(), False
        try:
            while self.state.step < run.max_steps:
                if self._out_of_time(start):
                    result.stopped_by = "max_minutes"
                    break
                self._step(result, log, start)
            if self.val_frames and self._validated_at != self.state.step:
                self._validate(result)  # the final weights (a wall-clock stop, a resume)
                log.row({"step": self.state.step, "val_rmse_mm": result.metrics["rmse_mm"],
                         "val_mae_mm": result.metrics["mae_mm"]})
            finished = True
        finally:
            log.close()
            if finished or not self.dist.enabled:  # gathering needs every rank: not on failure
                self._save_state()
        result.step = self.state.step
        if main:
            result.last = self._export("last.pt", result.metrics)
            best = self.out_dir / "best.pt"
            result.best = best if best.is_file() else None
        distributed.barrier(self.dist, self.device)  # the folder is written for every rank
        LOG.info("stopped at step %d (%s): %s", result.step, result.stopped_by, result.last)
        return result

    def _out_of_time(self, start: float) -> bool:
        """``run.max_minutes`` of this invocation spent (on any rank: all stop together)."""
        minutes = self.config.run.max_minutes
        if not minutes:
            return False
        over = time.monotonic() - start > 60.0 * minutes
        return distributed.any_rank(over, self.dist, self.device)

    def _save_state(self) -> None:
        """``state.pt`` with every rank's generators (gathered), written by rank 0."""
        ranks = distributed.gather(rank_state(self.state), self.dist)
        if self.dist.is_main:
            save_state(self.out_dir / STATE_FILE, self.state, ranks)

    @property
    def _val_every(self) -> int:
        return self.config.validation.every

    def _step(self, result: TrainResult, log: TrainingLog, start: float) -> None:
        state, config = self.state, self.config
        tick = time.monotonic()
        loss, grad_norm = self._optimise()
        state.step += 1
        result.losses.append((state.step, loss))
        row: dict[str, float | int] = {
            "step": state.step, "loss": loss, "lr": float(state.scheduler.get_last_lr()[0]),
            "grad_norm": grad_norm, "elapsed_s": time.monotonic() - start,
            "samples_per_s": config.run.batch_size * config.optim.accumulate
            * self.dist.world_size / max(time.monotonic() - tick, 1e-9)}
        if self.val_frames and (state.step % self._val_every == 0
                                or state.step == config.run.max_steps):
            self._validate(result)
            row.update(val_rmse_mm=result.metrics["rmse_mm"], val_mae_mm=result.metrics["mae_mm"])
        if state.step % config.run.log_every == 0 or "val_rmse_mm" in row \
                or state.step == config.run.max_steps:
            log.row(row)
        log.progress(state.step, {"loss": f"{loss:.4f}", "lr": f"{row['lr']:.2e}",
                                  "samples/s": f"{row['samples_per_s']:.1f}"})
        if state.step % config.run.save_every == 0:
            self._save_state()

    def _optimise(self) -> tuple[float, float]:
        """One optimiser step over ``accumulate`` batches: (mean loss over the batches and the
        processes, gradient norm)."""
        state, config = self.state, self.config
        precision = state.precision
        assert precision is not None  # set by _initial_state
        state.optimiser.zero_grad(set_to_none=True)
        total, accumulate = 0.0, config.optim.accumulate
        for i in range(accumulate):
            indices = (state.sampler.take(config.run.batch_size) if state.sampler is not None
                       else None)
            self._frames.extend(indices or [])
            batch = collate(draw_batch(self.dataset, config.data, config.run.batch_size,
                                       state.rng, indices=indices, initial=self.initial))
            inputs, target = network_batch(self.preprocessor, batch, self.device)
            image_weight = config.loss.image_weight
            with distributed.no_sync(self.forward_module, skip=i < accumulate - 1):
                with precision.autocast():
                    if image_weight:  # the image head's grey-scale reconstruction too
                        output, grey = self.forward_module(**inputs, with_image=True)
                    else:
                        output = self.forward_module(**inputs)
                    depth = output[:, :1] * self.network.input_spec.depth_scale
                    loss = self.loss_fn(depth.float(), target)
                    if config.loss.uncertainty_weight:
                        loss = loss + config.loss.uncertainty_weight * uncertainty_loss(
                            depth.float(), output, target, config.loss.max_depth)
                    if image_weight:
                        loss = with_image_loss(loss, grey.float(), image_target(
                            self.preprocessor, batch, self.device), weight=image_weight)
                    loss = loss / accumulate
                precision.backward(loss)
            total += float(loss.detach())
        grad_norm = precision.step(state.optimiser, state.module, config.optim.grad_clip)
        state.scheduler.step()
        if state.average is not None:
            state.average.update_parameters(state.module)
        return distributed.mean(total, self.dist, self.device), grad_norm

    def _validate(self, result: TrainResult) -> None:
        state = self.state
        self._validated_at = state.step
        result.metrics = validate(state.weights, self.spec, self.network.input_spec,
                                  self.val_frames, self.config.validation.lines,
                                  initial=self.initial)
        score = result.metrics[self.config.validation.select]
        LOG.info("step %d validation: %s", state.step,
                 ", ".join(f"{k} {v:.1f}" for k, v in result.metrics.items()))
        kept = None
        if self.config.validation.keep:
            (self.out_dir / VALIDATED_DIR).mkdir(exist_ok=True)
            kept = self._export(f"{VALIDATED_DIR}/step_{state.step:06d}.pt", result.metrics)
        if state.best_score is None or score < state.best_score:
            state.best_score = score
            if kept is not None:  # the same weights and scores: copied, not serialised again
                shutil.copyfile(kept, self.out_dir / "best.pt")
            else:
                self._export("best.pt", result.metrics)

    def _export(self, name: str, metrics: dict[str, float]) -> Path:
        """A deployable checkpoint (of the moving average with ``optim.ema``): the
        training-only parts (an image head) left out."""
        module = self.state.weights
        if self.network.deployable is not None:
            module = self.network.deployable(module)
        return export_checkpoint(self.out_dir / name, module, config=self.config,
                                 model_config=self.model_config,
                                 input_spec=self.network.input_spec,
                                 training_data=self.dataset.describe(), steps=self.state.step,
                                 metrics=metrics)


def train(config: TrainConfig, out_dir: Path, *, resume: bool = False,
          dist: DistEnv = SINGLE) -> TrainResult:
    """Build a :class:`Trainer` and run it; with several processes (``dist``) inside a process
    group started for it (``nccl`` on CUDA, ``gloo`` on the CPU)."""
    device = distributed.rank_device(select_device(config.run.device, []), dist)
    with distributed.process_group(dist, device):
        return Trainer(config, out_dir, resume=resume, dist=dist).run()

