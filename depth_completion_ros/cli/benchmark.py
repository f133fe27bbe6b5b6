"""``depth-completion benchmark``: held-out-beam scores and median time per frame of models.

Runs the held-out-beam protocol (:mod:`depth_completion_ros.evaluation.heldout`) on a KITTI raw
drive (default: the embedded 4-frame sample, KITTI CC BY-NC-SA 3.0) for the given models,
interleaved frame by frame, and prints devkit RMSE / MAE (mm) and the median ms per frame.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from depth_completion_ros.cli.model_options import add_model_options
from depth_completion_ros.devices import Device
from depth_completion_ros.errors import ConfigError, DataFormatError
from depth_completion_ros.evaluation.heldout import VARIANTS, iter_drive, score_frame
from depth_completion_ros.metrics.devkit import DepthMetrics, mean_metrics
from depth_completion_ros.models import get_model, load_preset
from depth_completion_ros.models.model_config import parse_set, resolve_model_config
from depth_completion_ros.paths import SAMPLE_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--drive DIR, --variant 32|16, --models NAME [NAME ...], --device, and the model options.

    Model options: ``--model-config FILE`` applies to the model the preset names (one of
    ``--models``); ``--set KEY=VALUE`` to every model of ``--models`` (each must have the key);
    ``--precision`` to every model.
    """
    parser.add_argument("--drive", type=Path, default=SAMPLE_DIR, help="KITTI raw drive folder")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="32",
                        help="held-out variant: lines in")
    parser.add_argument("--models", nargs="+", default=["classical", "ip_basic", "nearest"])
    parser.add_argument("--device", choices=Device.choices(), default=Device.AUTO.value)
    add_model_options(
        parser, config_help="model preset (config/models/*.yaml format); applies to the model it "
                            "names, which must be one of --models",
        set_help="override one config field, e.g. blur_px=9 (value read as YAML), of every model "
                 "of --models (each must have the key: list one model to tune it); repeatable; "
                 "wins over --model-config")


def _configs(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Model name -> validated config: the preset for the model it names, ``--set`` for all."""
    preset_model = load_preset(args.model_config)[0] if args.model_config else None
    if preset_model is not None and preset_model not in args.models:
        raise ConfigError(f"--model-config {args.model_config} is a preset of model "
                          f"{preset_model!r}, which is not in --models {args.models}")
    overrides = parse_set(args.overrides)
    return {name: resolve_model_config(name, args.model_config if name == preset_model else None,
                                       overrides) for name in args.models}


def run(args: argparse.Namespace) -> int:
    """Print one line per model; returns 0."""
    configs = _configs(args)
    models = {name: get_model(name, configs[name], device=args.device, precision=args.precision)
              for name in args.models}
    scores: dict[str, list[DepthMetrics]] = {name: [] for name in models}
    times: dict[str, list[float]] = {name: [] for name in models}
    for rgb, K, frame in iter_drive(args.drive, args.variant):
        for name, model in models.items():
            start = time.perf_counter()
            out = model.predict(rgb, frame.sparse, K)
            times[name].append(1e3 * (time.perf_counter() - start))
            scores[name].append(score_frame(out.depth, frame))
    for name in models:
        m = mean_metrics(scores[name])
        if m is None:  # every frame of a drive is scored (score_frame raises otherwise)
            raise DataFormatError(f"{args.drive}: no frame to score")
        print(f"{name:12} RMSE {m.rmse_mm:7.0f} mm  MAE {m.mae_mm:6.0f} mm  "
              f"median {np.median(times[name]):6.1f} ms/frame ({len(times[name])} frames, "
              f"held-out {args.variant} lines)")
    return 0
