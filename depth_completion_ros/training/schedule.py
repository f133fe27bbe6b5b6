"""Learning-rate factor per optimiser step: linear warm-up, then constant, cosine or step decay.

Example:
    >>> s = ScheduleSection(kind="cosine", warmup_steps=2, min_lr_ratio=0.0)
    >>> [round(lr_factor(s, step, total_steps=6), 3) for step in range(7)]
    [0.5, 1.0, 1.0, 0.854, 0.5, 0.146, 0.0]
    >>> s = ScheduleSection(kind="step", warmup_steps=0, step_every=2, gamma=0.5)
    >>> [lr_factor(s, step, total_steps=6) for step in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
"""
from __future__ import annotations

import math

import torch

from depth_completion_ros.training.sections import ScheduleSection


def lr_factor(section: ScheduleSection, step: int, *, total_steps: int) -> float:
    """Multiplier of the base learning rate at optimiser step ``step`` (0-based).

    Args:
        section: the schedule.
        step: steps taken so far.
        total_steps: the cosine's end (``section.total_steps`` when set, else the run's).
    """
    warmup = section.warmup_steps
    if step < warmup:
        return (step + 1) / warmup
    after = step - warmup
    if section.kind == "step":
        return float(section.gamma ** (after // section.step_every))
    if section.kind == "cosine":
        progress = min(1.0, after / max(1, total_steps - warmup))
        floor = section.min_lr_ratio
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return 1.0


def make_scheduler(optimiser: torch.optim.Optimizer, section: ScheduleSection,
                   max_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` over :func:`lr_factor` (stepped once per optimiser step)."""
    total = section.total_steps or max_steps
    return torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: lr_factor(section, step, total_steps=total))
