"""``depth-completion models``: table of the registered models and what they need."""
from __future__ import annotations

import argparse

from depth_completion_ros.models import list_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the table lists every registered model."""


def format_table() -> str:
    """The models table: name, needs LiDAR, RGB-only capable, needs GPU, default checkpoint."""
    header = ("name", "needs LiDAR", "RGB-only", "needs GPU", "default checkpoint", "description")
    rows = [header] + [
        (e.name, _yes(e.capabilities.needs_lidar), _yes(e.capabilities.rgb_only),
         _yes(e.capabilities.needs_gpu), e.default_checkpoint or "-", e.description)
        for e in list_models()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1]
                     for row in rows)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def run(args: argparse.Namespace) -> int:
    """Print the table; returns 0."""
    print(format_table())
    return 0
