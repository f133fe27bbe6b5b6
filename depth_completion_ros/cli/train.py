"""``depth-completion train``: not implemented yet (a later issue fills it)."""
from __future__ import annotations

import argparse

from depth_completion_ros.errors import DepthCompletionError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise DepthCompletionError("'train' is not implemented yet: the training issue adds it")
