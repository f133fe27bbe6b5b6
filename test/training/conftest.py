"""A tiny training config on the embedded sample (always present), runnable in seconds."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from depth_completion_ros.paths import SAMPLE_DIR
from depth_completion_ros.training.config import TrainConfig, config_from_mapping


def tiny_mapping(**sections: Mapping[str, Any]) -> dict[str, Any]:
    """Small CSPN (2 propagation steps) on 32x128 patches of the sample's bottom rows; sections
    given replace the defaults' keys one by one."""
    base: dict[str, dict[str, Any]] = {
        "model": {"name": "cspn", "variant": "small", "config": {"prop_time": 2}},
        "data": {"train": [{"kind": "kitti_raw", "path": str(SAMPLE_DIR), "max_frames": 1}],
                 "lines": [32], "patch_height": 32, "patch_width": 128, "skip_top_rows": 288,
                 "flip_probability": 0.5, "colour_jitter": 0.1},
        "optim": {"lr": 0.005, "grad_clip": 5.0},
        "schedule": {"kind": "cosine", "warmup_steps": 1, "total_steps": 6},
        "run": {"seed": 3, "max_steps": 4, "batch_size": 2, "device": "cpu", "log_every": 1,
                "save_every": 100}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return base


@pytest.fixture(scope="session")
def tiny() -> Callable[..., dict[str, Any]]:
    """:func:`tiny_mapping` for test modules (importlib mode: no cross imports)."""
    return tiny_mapping


@pytest.fixture(scope="session")
def tiny_config() -> Callable[..., TrainConfig]:
    """``tiny_config(run={"max_steps": 2}, ...)``: :func:`tiny_mapping` as a TrainConfig."""
    return lambda **sections: config_from_mapping(tiny_mapping(**sections))
