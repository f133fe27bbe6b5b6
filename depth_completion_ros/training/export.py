"""The deployable checkpoint of a run: format 2 (:mod:`depth_completion_ros.models.checkpoint`)
with its metadata filled from the training config, the data that trained it and its validation
scores.

Format 2 has no recipe or commit field, so the ``protocol`` text carries them: the protocol of the
samples and the validation, then ``recipe: ...`` (loss, optimiser, schedule, steps, batch,
patch) and ``git <commit>``. The run folder also keeps the whole config (``config.yaml``).
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from torch import nn

from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
from depth_completion_ros.models.weights import InputSpec
from depth_completion_ros.paths import REPO_ROOT
from depth_completion_ros.training.config import TrainConfig

#: every source kind reads KITTI, whose license carries over to weights trained on it
KITTI_LICENSE = "CC BY-NC-SA 3.0"


def git_commit(root: Path = REPO_ROOT) -> str:
    """The checkout's commit (``+dirty`` with uncommitted changes), or ``unknown``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root,
                                capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def protocol_text(config: TrainConfig, steps: int) -> str:
    """Samples, validation and recipe of ``config`` after ``steps`` steps, in one line."""
    kinds = {s.kind for s in config.data.train}
    parts = []
    if kinds - {"kitti_dc"}:
        parts.append(f"self-supervised held-out beams: input {list(config.data.lines)} lines "
                     f"(one drawn per sample), loss on the halfway rings, occlusion-filtered "
                     f"as the evaluation's held-out protocol")
    if "kitti_dc" in kinds:
        parts.append("supervised by KITTI depth-completion groundtruth")
    val = config.validation
    if val.sources:
        parts.append(f"validated on {', '.join(s.path for s in val.sources)} at "
                     f"{list(val.lines)} lines (held-out-beam protocol)")
    data, optim, sched = config.data, config.optim, config.schedule
    parts.append(f"recipe: loss {config.loss.kind}, AdamW lr {optim.lr:g} wd "
                 f"{optim.weight_decay:g}, {sched.kind} schedule warm-up {sched.warmup_steps}, "
                 f"{steps} steps x {config.run.batch_size * optim.accumulate} samples of "
                 f"{data.patch_width or 'full'}x{data.patch_height or 'full'}, flip "
                 f"{data.flip_probability:g}, colour jitter {data.colour_jitter:g}"
                 + (f", zoom 1-{data.scale_max:g} ({data.zoom})" if data.scale_max > 1 else "")
                 + f", seed {config.run.seed}")
    if config.model.init:
        parts.append(f"fine-tuned from {Path(config.model.init).name}")
    parts.append(f"git {git_commit()}")
    return "; ".join(parts)


def export_checkpoint(path: Path, module: nn.Module, *, config: TrainConfig,
                      model_config: dict[str, Any], input_spec: InputSpec, training_data: str,
                      steps: int, metrics: dict[str, float]) -> Path:
    """Write the deployable checkpoint of ``module``; returns its path."""
    meta = CheckpointMeta(model=config.model.name, config=model_config,
                          training_data=training_data, protocol=protocol_text(config, steps),
                          input_spec=input_spec,
                          metrics={f"val_{k}": v for k, v in metrics.items()},
                          data_license=KITTI_LICENSE)
    return save_checkpoint(path, module, meta)
