"""``depth-completion benchmark``: held-out-beam scores and median time per frame of models, or
(``--speed``) the speed of the learned models' networks without weights.

Default: runs the held-out-beam protocol (:mod:`depth_completion_ros.evaluation.heldout`) on a
KITTI raw drive (default: the embedded 4-frame sample, KITTI CC BY-NC-SA 3.0) for the given
models, interleaved frame by frame, and prints devkit RMSE / MAE (mm) and the median ms per
frame.

``--speed``: each size (``--variants``, default small and full) of each learned model
(``--models``, default every learned model) built with random weights and timed on frame 0 of
the drive (all points; the network sees the 1216x352 crop): median and p95 of ``--runs`` calls
after ``--warmup`` untimed ones, of ``predict`` and of the forward pass, at ``--precision`` on
``--device``, with the machine (:mod:`depth_completion_ros.engine.speed`); each case once per
engine of ``--engines`` (default: eager PyTorch, then onnxruntime when it is installed), same
weights, same frame, one after the other.
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np

from depth_completion_ros.cli import benchmark_latency
from depth_completion_ros.cli.model_options import add_model_options
from depth_completion_ros.devices import Device, Engine
from depth_completion_ros.errors import ConfigError, DataFormatError, ModelError
from depth_completion_ros.evaluation.heldout import VARIANTS, iter_drive, score_frame
from depth_completion_ros.metrics.devkit import DepthMetrics, mean_metrics
from depth_completion_ros.models import get_entry, get_model, list_models, load_preset
from depth_completion_ros.models.engine_choice import with_engine
from depth_completion_ros.models.model_config import parse_set, resolve_model_config
from depth_completion_ros.paths import SAMPLE_DIR

DEFAULT_MODELS = ("classical", "ip_basic", "nearest")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--drive DIR, --variant 32|16, --models NAME [NAME ...], --device, and the model options.

    Model options: ``--model-config FILE`` applies to the model the preset names (one of
    ``--models``); ``--set KEY=VALUE`` to every model of ``--models`` (each must have the key);
    ``--precision`` to every model.
    """
    parser.add_argument("--drive", type=Path, default=SAMPLE_DIR, help="KITTI raw drive folder")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="32",
                        help="held-out variant: lines in")
    parser.add_argument("--models", nargs="+", default=None,
                        help="models to run (default: classical ip_basic nearest; with --speed "
                             "every learned model)")
    parser.add_argument("--device", choices=Device.choices(), default=Device.AUTO.value)
    parser.add_argument("--speed", action="store_true",
                        help="time the learned models' networks (random weights, no checkpoint "
                             "needed) instead of scoring models")
    parser.add_argument("--variants", nargs="+", default=["small", "full"],
                        help="with --speed: network sizes to time (small: the 2-core CPU "
                             "variant; full: the paper's)")
    parser.add_argument("--runs", type=_positive, default=50,
                        help="with --speed: timed calls per case")
    parser.add_argument("--warmup", type=_positive, default=3,
                        help="with --speed: untimed calls first")
    parser.add_argument("--engines", nargs="+", choices=Engine.choices(), default=None,
                        help="with --speed: engines to time each case with (default: torch, "
                             "and onnxruntime when it is installed)")
    benchmark_latency.add_arguments(parser)
    add_model_options(
        parser, config_help="model preset (config/models/*.yaml format); applies to the model it "
                            "names, which must be one of --models",
        set_help="override one config field, e.g. blur_px=9 (value read as YAML), of every model "
                 "of --models (each must have the key: list one model to tune it); repeatable; "
                 "wins over --model-config")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


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
    """Print one line per model (or per model, size and precision with ``--speed``); returns 0."""
    if args.speed:
        return _run_speed(args)
    if args.latency:
        return benchmark_latency.run(args)
    if args.models is None:
        args.models = list(DEFAULT_MODELS)
    configs = _configs(args)
    models = {name: with_engine(get_model(name, configs[name], device=args.device,
                                          precision=args.precision), args.engine)
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


def _run_speed(args: argparse.Namespace) -> int:
    """``--speed``: one line per model, size and precision."""
    from depth_completion_ros.benchmark.machine import load_average
    from depth_completion_ros.engine.device import select_device
    from depth_completion_ros.engine.speed import drive_frame, machine, time_model, variant_config

    entries = ([get_entry(name) for name in args.models] if args.models is not None
               else [entry for entry in list_models() if entry.network is not None])
    if args.model_config is not None or args.overrides:
        raise ConfigError("--speed times the fixed sizes of --variants: --model-config and "
                          "--set do not apply")
    if args.engine != Engine.TORCH.value:
        raise ConfigError("--speed times each engine of --engines: --engine does not apply")
    for entry in entries:  # every name and size checked before anything runs
        for variant in args.variants:
            variant_config(entry, variant)
    engines = _speed_engines(args.engines)
    frame = drive_frame(args.drive)
    print(machine(select_device(args.device, [])) + f", load average {load_average()}")
    print(f"learned models at {frame[0].shape[1]}x{frame[0].shape[0]} in (network: the "
          f"1216x352 crop), random weights; {args.warmup} untimed then {args.runs} timed "
          f"predict calls per case; engines {', '.join(engines)}")
    print(f"{'model':7} {'size':6} {'config':52} {'prec':5} {'engine':11} {'median ms':>10} "
          f"{'p95 ms':>8} {'fwd median':>11} {'fwd p95':>8}")
    for entry in entries:
        for variant in args.variants:
            for engine in engines:
                try:
                    r = time_model(entry, variant, frame, device=args.device,
                                   precision=args.precision, runs=args.runs,
                                   warmup=args.warmup, engine=engine)
                except ModelError as err:
                    if engine == Engine.TORCH.value:
                        raise
                    print(f"{entry.name:7} {variant:6} {'':52} {'':5} {engine:11} not timed: "
                          f"{err}")  # e.g. MSPN: its D0 is not part of the ONNX export
                    continue
                print(f"{r.model:7} {r.variant:6} {r.config:52} {r.precision:5} {r.engine:11} "
                      f"{r.median_ms:10.1f} {r.p95_ms:8.1f} {r.forward_median_ms:11.1f} "
                      f"{r.forward_p95_ms:8.1f}" + (f"  ({r.notes})" if r.notes else ""))
    print(f"load average at the end {load_average()}")
    return 0


def _speed_engines(requested: list[str] | None) -> list[str]:
    """``--engines``, or torch and (when importable) onnxruntime, saying when it is not."""
    if requested is not None:
        return list(dict.fromkeys(requested))
    if importlib.util.find_spec("onnxruntime") is None:
        print("onnxruntime is not installed: its rows are left out (pip install onnx "
              "onnxruntime)")
        return [Engine.TORCH.value]
    return [Engine.TORCH.value, Engine.ONNXRUNTIME.value]
