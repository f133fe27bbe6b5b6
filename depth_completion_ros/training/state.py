"""Training state (resumable), kept apart from the deployable checkpoint.

``state.pt`` holds what continues a run exactly: the step, the network's weights, the optimiser
and scheduler states, numpy's sampling generator and torch's RNG states (CPU and CUDA), the best
validation score so far. It loads with ``weights_only=True``. The deployable checkpoint (weights
plus metadata, format 2) is :mod:`.export`'s business.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from depth_completion_ros.errors import CheckpointError

STATE_FILE = "state.pt"
STATE_MARKER = "depth_completion_ros.training_state"


@dataclass
class RunState:
    """What the loop carries from step to step (mutable)."""

    step: int
    module: torch.nn.Module
    optimiser: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    rng: np.random.Generator
    best_score: float | None = None


def save_state(path: Path, state: RunState) -> Path:
    """Write ``state`` atomically (temporary file, then rename); returns the path."""
    payload: dict[str, Any] = {
        "format": STATE_MARKER, "step": state.step,
        "model": state.module.state_dict(), "optimiser": state.optimiser.state_dict(),
        "scheduler": state.scheduler.state_dict(), "numpy_rng": state.rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "best_score": state.best_score}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    torch.save(payload, partial)
    os.replace(partial, path)
    return path


def load_state(path: Path, state: RunState) -> None:
    """Restore ``state`` in place from :func:`save_state`'s file (strict weights).

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
    state.optimiser.load_state_dict(payload["optimiser"])
    state.scheduler.load_state_dict(payload["scheduler"])
    state.rng.bit_generator.state = payload["numpy_rng"]
    torch.set_rng_state(payload["torch_rng"])
    if payload["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    state.step = int(payload["step"])
    state.best_score = payload["best_score"]
