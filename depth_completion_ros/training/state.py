"""Training state (resumable), kept apart from the deployable checkpoint.

``state.pt`` holds what continues a run exactly: the step, the network's weights (and their
moving average with ``optim.ema``), the optimiser, scheduler and gradient-scaler states, the
best validation score so far, and per process (rank) what differs between processes: numpy's
sampling generator, torch's RNG states (CPU and CUDA) and the distributed sampler's position
(:class:`~.distributed.ShardSampler`). With torchrun, rank 0 writes the file with every rank's
entry (gathered) and every rank reads it back and takes its own. It loads with
``weights_only=True``. The deployable checkpoint (weights plus metadata, format 2) is
:mod:`.export`'s business.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from depth_completion_ros.errors import CheckpointError
from depth_completion_ros.training.distributed import ShardSampler
from depth_completion_ros.training.precision import MixedPrecision

STATE_FILE = "state.pt"
STATE_MARKER = "depth_completion_ros.training_state"


@dataclass
class RunState:
    """What the loop carries from step to step (mutable); ``sampler`` with several processes
    only (one process draws frames from ``rng``); ``precision`` holds the gradient scaler;
    ``average`` the moving average of the weights (``optim.ema``; else None)."""

    step: int
    module: torch.nn.Module
    optimiser: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    rng: np.random.Generator
    best_score: float | None = None
    sampler: ShardSampler | None = None
    precision: MixedPrecision | None = None
    average: torch.optim.swa_utils.AveragedModel | None = None

    @property
    def weights(self) -> torch.nn.Module:
        """The network that is validated and exported: the moving average when kept."""
        return self.average.module if self.average is not None else self.module


def rank_state(state: RunState) -> dict[str, Any]:
    """This process's part of the state: its generators and its sampler position."""
    return {"numpy_rng": state.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "sampler": state.sampler.state_dict() if state.sampler is not None else None}


def save_state(path: Path, state: RunState, ranks: Sequence[Mapping[str, Any]] | None = None
               ) -> Path:
    """Write ``state`` atomically (temporary file, then rename); returns the path.

    Args:
        path: the file.
        state: the state (of rank 0 with several processes).
        ranks: every rank's :func:`rank_state`, in rank order (default: this process's only).
    """
    ranks = list(ranks) if ranks is not None else [rank_state(state)]
    payload: dict[str, Any] = {
        "format": STATE_MARKER, "step": state.step,
        "model": state.module.state_dict(), "optimiser": state.optimiser.state_dict(),
        "scheduler": state.scheduler.state_dict(), **{
            key: ranks[0][key] for key in ("numpy_rng", "torch_rng", "cuda_rng")},
        "ranks": ranks, "best_score": state.best_score,
        "scaler": state.precision.state_dict() if state.precision is not None else {},
        "average": state.average.state_dict() if state.average is not None else None}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    torch.save(payload, partial)
    os.replace(partial, path)
    return path


def load_state(path: Path, state: RunState, *, rank: int = 0, world_size: int = 1) -> bool:
    """Restore ``state`` in place from :func:`save_state`'s file (strict weights).

    Args:
        path: the file.
        state: restored in place.
        rank, world_size: this process and the number of processes now.

    Returns:
        True when this rank's generators and sampler position came back; False when the file
        was written by another number of processes (the caller reseeds them).

    Raises:
        CheckpointError: missing, unreadable or not a training state.
    """
    if not path.is_file():
        raise CheckpointError(f"cannot resume: {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises RuntimeError / UnpicklingError / EOFError ...
        raise CheckpointError(f"cannot resume: {path} is unreadable: {err}") from err
    if not isinstance(payload, dict) or payload.get("format") != STATE_MARKER:
        raise CheckpointError(f"cannot resume: {path} is not a training state")
    try:
        state.module.load_state_dict(payload["model"], strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"cannot resume: {path} holds another network: {err}") from err
    average = payload.get("average")
    if (average is None) != (state.average is None):
        raise CheckpointError(f"cannot resume: {path} was saved "
                              f"{'without' if average is None else 'with'} a moving average of "
                              f"the weights; set optim.ema as in that run")
    if state.average is not None and average is not None:
        state.average.load_state_dict(average, strict=True)
    state.optimiser.load_state_dict(payload["optimiser"])
    state.scheduler.load_state_dict(payload["scheduler"])
    if state.precision is not None:
        state.precision.load_state_dict(payload.get("scaler") or {})
    state.step = int(payload["step"])
    state.best_score = payload["best_score"]
    ranks = payload.get("ranks") or [payload]  # a file of one process, before "ranks"
    if len(ranks) != world_size:
        return False
    _restore_rank(ranks[rank], state)
    return True


def _restore_rank(entry: Mapping[str, Any], state: RunState) -> None:
    state.rng.bit_generator.state = entry["numpy_rng"]
    torch.set_rng_state(entry["torch_rng"])
    if entry["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(entry["cuda_rng"])
    if state.sampler is not None and entry.get("sampler"):
        state.sampler.load_state_dict(entry["sampler"])
