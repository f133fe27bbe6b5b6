"""Shared fixtures: the embedded sample (always present), the larger shared sets (skipped if
absent)."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from depth_completion_ros.paths import SAMPLE_DIR, SHARED_DATA_DIR

SEQ16_DIR = SHARED_DATA_DIR / "kitti_raw_2011_09_26_seq16"
DRIVE0009_DIR = SHARED_DATA_DIR / "kitti_raw_2011_09_26_drive_0009"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """Embedded 4-frame KITTI sample (object-layout calib.txt, no timestamps)."""
    assert SAMPLE_DIR.is_dir(), f"embedded sample missing: {SAMPLE_DIR}"
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def seq16_dir() -> Path:
    """Shared 16-frame KITTI sample; skipped when ../shared is absent (a user's clone)."""
    if not SEQ16_DIR.is_dir():
        pytest.skip("shared 16-frame KITTI sample not present")
    return SEQ16_DIR


@pytest.fixture(scope="session")
def drive0009_dir() -> Path:
    """Shared 51-frame KITTI raw drive in the official layout; skipped when absent."""
    if not DRIVE0009_DIR.is_dir():
        pytest.skip("shared KITTI drive 0009 not present")
    return DRIVE0009_DIR


def save_learned_checkpoint(model: str, path: Path, config: Mapping[str, Any] | None = None, *,
                            seed: int = 0) -> Path:
    """A format-2 checkpoint of ``model``'s network built from ``config`` with seeded random
    weights (the stored config: its fields that shape the weights, as training stores them)."""
    import torch

    from depth_completion_ros.models import get_entry
    from depth_completion_ros.models.checkpoint import CheckpointMeta, save_checkpoint
    from depth_completion_ros.models.registry import build_config

    entry = get_entry(model)
    assert entry.network is not None, f"{model} is not a learned model"
    typed = build_config(entry.config_cls, dict(config or {}), source="test")
    torch.manual_seed(seed)
    meta = CheckpointMeta(model=model, config=dataclasses.asdict(typed),
                          training_data="none (test: random weights)",
                          input_spec=entry.network.input_spec, data_license="CC0")
    return save_checkpoint(path, entry.network.build(typed), meta)


@pytest.fixture(scope="session")
def learned_checkpoint() -> Callable[..., Path]:
    """:func:`save_learned_checkpoint` for test modules (importlib mode: no cross imports)."""
    return save_learned_checkpoint
