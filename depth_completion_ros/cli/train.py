"""``depth-completion train``: train a learned model from a training config.

``depth-completion train --config FILE [--set SECTION.KEY=VALUE ...] [--out DIR]`` starts a run
in ``DIR`` (default: the config's ``run.out``); ``--resume DIR`` continues the run in ``DIR`` from
its ``state.pt`` (with ``DIR/config.yaml`` unless ``--config`` is given; ``--set`` still applies,
e.g. a larger ``run.max_steps``). The config and the data are checked before the first step: a bad
key or folder ends the command with one error line and exit status 2. Prints the run folder,
the steps done, the last validation scores and the exported checkpoints.

Started by ``torchrun --nproc_per_node=N`` (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` set), each
process trains its shard with DistributedDataParallel (:mod:`depth_completion_ros.training.
distributed`); rank 0 alone logs (the others log warnings only), prints and writes.
"""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from depth_completion_ros.errors import ConfigError
from depth_completion_ros.models.model_config import parse_set


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--config FILE, --set SECTION.KEY=VALUE (repeatable), --out DIR, --resume DIR."""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="training config (config/train/*.yaml); required unless --resume")
    parser.add_argument("--set", metavar="SECTION.KEY=VALUE", action="append", default=[],
                        dest="overrides",
                        help="override one field, e.g. run.max_steps=3 or "
                             "model.config.width=32 (value read as YAML); repeatable")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="run folder (default: the config's run.out)")
    parser.add_argument("--resume", type=Path, default=None, metavar="DIR",
                        help="continue the run in DIR from its state.pt")


def run(args: argparse.Namespace) -> int:
    """Train; returns 0."""
    from depth_completion_ros.training.config import load_config  # torch only when training
    from depth_completion_ros.training.distributed import from_environ
    from depth_completion_ros.training.loop import train

    if args.config is None and args.resume is None:
        raise ConfigError("give --config FILE (or --resume DIR)")
    config_file = args.config or args.resume / "config.yaml"
    config = load_config(config_file, parse_set(args.overrides))
    out = args.resume or args.out or Path(config.run.out)
    dist = from_environ(os.environ)
    logging.basicConfig(level=logging.INFO if dist.is_main else logging.WARNING,
                        format=f"train{f' [rank {dist.rank}]' if dist.enabled else ''}: "
                               f"%(message)s")
    result = train(config, out, resume=args.resume is not None, dist=dist)
    if not dist.is_main:
        return 0
    scores = ", ".join(f"{k} {v:.1f}" for k, v in result.metrics.items()) or "no validation"
    print(f"train: {config.model.name} ({config.model.variant}) {result.step} steps "
          f"(stopped by {result.stopped_by}) -> {out}")
    print(f"train: validation: {scores}")
    print(f"train: deployable checkpoints: last {result.last}"
          + (f", best {result.best}" if result.best else ""))
    return 0
