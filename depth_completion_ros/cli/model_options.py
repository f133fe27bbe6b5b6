"""Model options shared by ``predict``, ``evaluate`` and ``benchmark``.

``--model-config FILE`` (a model preset, the ``config/models/*.yaml`` format), ``--set
KEY=VALUE`` (repeatable, wins over the preset), ``--precision`` and ``--engine``. The config is
resolved and validated (:mod:`depth_completion_ros.models.model_config`) before any data is
read, so a bad key ends the command at once with one error line.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from depth_completion_ros.devices import Engine, Precision
from depth_completion_ros.models.model_config import parse_set, resolve_model_config

CONFIG_HELP = ("model preset (config/models/*.yaml format: model, config, description); it must "
               "name the model")
SET_HELP = ("override one field of the model's config, e.g. blur_px=9 (value read as YAML); "
            "repeatable; wins over --model-config")


def add_model_options(parser: argparse.ArgumentParser, *, config_help: str = CONFIG_HELP,
                      set_help: str = SET_HELP) -> None:
    """Add ``--model-config``, ``--set`` (into ``args.overrides``), ``--precision`` and
    ``--engine``."""
    parser.add_argument("--model-config", metavar="FILE", type=Path, default=None,
                        help=config_help)
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        dest="overrides", help=set_help)
    parser.add_argument("--precision", choices=Precision.choices(),
                        default=Precision.FP32.value,
                        help="fp32, fp16 or bf16 (half precision only on CUDA; learning-free "
                             "models ignore it)")
    parser.add_argument("--engine", choices=Engine.choices(), default=Engine.TORCH.value,
                        help="what runs a learned model's network: torch (eager PyTorch) or "
                             "onnxruntime (its ONNX export on the CPU; pip install onnx "
                             "onnxruntime); learning-free models ignore it")


def model_config(args: argparse.Namespace, model: str) -> dict[str, Any]:
    """The validated config mapping of ``model`` from ``--model-config`` and ``--set``.

    Raises:
        ConfigError: see :func:`~depth_completion_ros.models.model_config.resolve_model_config`.
        ModelError: ``model`` is not registered.
    """
    return resolve_model_config(model, args.model_config, parse_set(args.overrides))
