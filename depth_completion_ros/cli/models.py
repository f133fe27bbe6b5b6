"""``depth-completion models``: table of the registered models and the inputs they declare."""
from __future__ import annotations

import argparse

from depth_completion_ros.models import ModelInput, list_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the table lists every registered model."""


def format_table() -> str:
    """The models table: name, required and optional inputs, needs GPU, default weights."""
    header = ("name", "requires", "optional", "needs GPU", "default weights", "description")
    rows = [header] + [
        (e.name, _inputs(e.spec.required), _inputs(e.spec.optional), _yes(e.spec.needs_gpu),
         e.default_checkpoint or "-", e.description)
        for e in list_models()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
                     + "  " + row[-1] for row in rows)


def _inputs(inputs: tuple[ModelInput, ...]) -> str:
    return "+".join(i.value for i in inputs) or "-"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def run(args: argparse.Namespace) -> int:
    """Print the table; returns 0."""
    print(format_table())
    return 0
